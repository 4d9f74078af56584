"""What the columns can hold, for checking a number before it reaches a query.

Ids are INTEGER (32 bits on PostgreSQL), times BIGINT. A number outside names no row, and the
database refuses to bind it (SQLite: OverflowError beyond 64 bits; PostgreSQL: "integer out
of range" beyond 32), so callers answer it before any query: "no such row", not a 500.
"""

from __future__ import annotations

ID_MAX = 2**31 - 1
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


def is_id(*values: int) -> bool:
    """Whether every value can be a row's id (1 … ID_MAX)."""
    return all(1 <= v <= ID_MAX for v in values)


def is_bigint(*values: int) -> bool:
    """Whether every value fits a BIGINT column (times in µs)."""
    return all(BIGINT_MIN <= v <= BIGINT_MAX for v in values)
