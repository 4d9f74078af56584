"""PostgreSQL privileges for the application's own role: append-only where it must be.

The schema's owner runs migrations; the service connects as a separate LOGIN role that may
read and write the working tables but may only SELECT and INSERT the records that must never
change (`ledger`, `ledger_checkpoints`, `checkpoints`): no UPDATE, DELETE or TRUNCATE, so even
a compromised service cannot rewrite history, and it cannot drop the owner's triggers either.
`alembic_version` is read-only to it: the schema changes only under the owner.

Run again after every migration (new tables get no privileges until then); re-running also
takes back anything granted by hand, since each table's privileges are revoked first.
"""

from __future__ import annotations

import re

from sqlalchemy import Engine, text

APPEND_ONLY = ("ledger", "ledger_checkpoints", "checkpoints")
READ_ONLY = ("alembic_version",)
_ROLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class GrantError(RuntimeError):
    """The privileges cannot be set up (wrong database, bad role name, no such role)."""


def grant_application_role(engine: Engine, role: str) -> list[str]:
    """Grant `role` what the service needs on the engine's current schema; returns the
    statements run. The role must exist (CREATE ROLE … LOGIN is the administrator's call)."""
    if engine.dialect.name != "postgresql":
        raise GrantError(
            f"grants are for PostgreSQL; this database is {engine.dialect.name}, where the "
            "append-only triggers are the protection (there are no roles)"
        )
    if not _ROLE.match(role):
        raise GrantError(f"role: {role!r} is not a plain PostgreSQL role name")
    quote = engine.dialect.identifier_preparer.quote
    statements: list[str] = []
    with engine.begin() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        if exists.first() is None:
            raise GrantError(f"role {role!r} does not exist: CREATE ROLE {role} LOGIN first")
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        if schema is None:
            raise GrantError("no current schema: check the search_path")
        tables = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY tablename"),
            {"s": schema},
        ).scalars()
        r, s = quote(role), quote(schema)
        statements.append(f"GRANT USAGE ON SCHEMA {s} TO {r}")
        for table in tables:
            t = f"{s}.{quote(table)}"
            statements.append(f"REVOKE ALL ON {t} FROM {r}")
            if table in APPEND_ONLY:
                statements.append(f"GRANT SELECT, INSERT ON {t} TO {r}")
            elif table in READ_ONLY:
                statements.append(f"GRANT SELECT ON {t} TO {r}")
            else:
                statements.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {t} TO {r}")
        statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}")
        for statement in statements:
            conn.execute(text(statement))
    return statements
