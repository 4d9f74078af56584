"""The access register (调取登记): every view, copy and retrieval of recorded footage, with who
recorded or copied it (录制人员), who retrieved it (with work IDs), when, why, where it went,
who approved it, on what approval and under which grant — Jilin Art. 21(3), 28(4); Liaoning
Art. 14(4); Chongqing Art. 11(1); Shenzhen Art. 24(3), 34(3), 35 (docs/REGISTER.md maps each
column to its article).

The register is not a table of its own: it is a view of the ledger (services/ledger.py), whose
entries are append-only, hash-chained and signed, joined with the access tables for the names,
work IDs, purposes and documents those entries refer to by id. So the register cannot say
anything the ledger does not, and every row carries its ledger seq and entry hash.

Reading is two steps: one query over the ledger, filtered on its (action, time_us) index and,
for cameras, organisations and accounts, on the request ids in the entries' details; then a
fixed handful of queries for the page's requests, grants, exports, staff, accounts and cameras
(never one per row). An export is pinned to the ledger head when it begins (`extent`) and
recorded in the ledger before it is written (`record_export`), so its entry says exactly what
it holds.

Total over what is stored: an entry's details are whatever was recorded. A value of the wrong
type or an id no row can have leaves its cell empty; a time is kept as the number it is, of
any size, and the renderers print one no calendar holds as that number. Never a failed page.

One job per module (issue 11, Shape), all re-exported here as `services.register`:
- `filters.py` — what a read is restricted to (kinds, times, camera, organisation, account);
- `query.py` — the one query over the ledger, on both databases;
- `rows.py` — entries made rows, joined with what they name, total over stored values;
- `copies.py` — exports pinned to the ledger head and recorded, and a printout's heading;
- here: reading a page, every row in batches, a stream for an export.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy import Connection

from custodes.services.context import Context
from custodes.services.register.copies import (
    ExportRecord,
    Extent,
    TooManyRows,
    camera_name,
    extent,
    latest_checkpoint,
    organisation_name,
    record_export,
    unit_heading,
)
from custodes.services.register.filters import (
    ACCESS_KINDS,
    GROUPS,
    KINDS,
    MANAGER_KINDS,
    MAX_LIMIT,
    REFUSAL_KINDS,
    BadFilter,
    Filters,
    kinds_from,
    make_filters,
)
from custodes.services.register.query import L, entries_query
from custodes.services.register.rows import (
    CameraRef,
    DocumentRef,
    GrantRef,
    Person,
    RegisterRow,
    build,
    iso_or_none,
)

__all__ = [
    "ACCESS_KINDS",
    "GROUPS",
    "KINDS",
    "MANAGER_KINDS",
    "MAX_LIMIT",
    "REFUSAL_KINDS",
    "BadFilter",
    "CameraRef",
    "DocumentRef",
    "ExportRecord",
    "Extent",
    "Filters",
    "GrantRef",
    "Person",
    "RegisterRow",
    "TooManyRows",
    "camera_name",
    "entries_query",
    "extent",
    "iso_or_none",
    "iterate",
    "kinds_from",
    "latest_checkpoint",
    "make_filters",
    "organisation_name",
    "page",
    "record_export",
    "rows",
    "stream",
    "unit_heading",
]


def rows(
    ctx: Context,
    *,
    start_us: int | None = None,
    end_us: int | None = None,
    camera_id: int | None = None,
    organisation_id: int | None = None,
    account: str | None = None,
    kinds: Iterable[str] | None = None,
    limit: int,
    offset: int = 0,
    newest_first: bool = False,
) -> list[RegisterRow]:
    """One page of the register, in ledger order (oldest first unless newest_first)."""
    filters = make_filters(
        start_us=start_us,
        end_us=end_us,
        camera_id=camera_id,
        organisation_id=organisation_id,
        account=account,
        kinds=kinds,
    )
    with ctx.engine.connect() as conn:
        return page(conn, filters, limit=limit, offset=offset, newest_first=newest_first)


def page(
    conn: Connection,
    filters: Filters,
    *,
    limit: int,
    offset: int = 0,
    after_seq: int | None = None,
    newest_first: bool = False,
) -> list[RegisterRow]:
    if not 1 <= limit <= MAX_LIMIT:
        raise BadFilter("limit", f"1 to {MAX_LIMIT}")
    if offset < 0:
        raise BadFilter("offset", "0 or more")
    query = entries_query(conn, filters)
    if after_seq is not None:
        query = query.where(L.c.seq > after_seq)
    order = L.c.seq.desc() if newest_first else L.c.seq
    entries = conn.execute(query.order_by(order).limit(limit).offset(offset)).all()
    return build(conn, entries)


def iterate(conn: Connection, filters: Filters, *, batch: int = 500) -> Iterator[RegisterRow]:
    """Every matching row, oldest first, a batch at a time (keyset on seq, no offsets)."""
    after: int | None = None
    while True:
        got = page(conn, filters, limit=batch, after_seq=after)
        yield from got
        if len(got) < batch:
            return
        after = got[-1].seq


def stream(ctx: Context, filters: Filters) -> Iterator[RegisterRow]:
    """`iterate` on a connection of its own, held while the caller reads (an export)."""
    with ctx.engine.connect() as conn:
        yield from iterate(conn, filters)
