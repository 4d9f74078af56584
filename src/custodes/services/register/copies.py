"""Exports of the register: pinned to the ledger as it stands when they begin, recorded in the
ledger before they are written, and what a printout's heading and footer name (the unit, the
register's article, the newest signed checkpoint)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import func, select

from custodes.adapters.db import schema
from custodes.domain.access_rules import REGISTER_ARTICLE
from custodes.services import ledger
from custodes.services.access import OPERATING_UNIT_ID
from custodes.services.context import Context
from custodes.services.register.filters import Filters
from custodes.services.register.query import entries_query
from custodes.services.retention import jurisdiction_id

L = schema.ledger
LC = schema.ledger_checkpoints
O = schema.organisations  # noqa: E741
CAM = schema.cameras


class TooManyRows(ValueError):
    """More rows match than one printout holds."""


@dataclass(frozen=True)
class Extent:
    """What an export holds: the rows matching its filters among the entries up to the head."""

    filters: Filters  # with up_to_seq set
    rows: int
    first_seq: int | None
    last_seq: int | None


def extent(ctx: Context, filters: Filters, *, max_rows: int) -> Extent:
    """Pin an export to the ledger as it stands: the head now, and how many rows match up to it
    (the ledger only grows, so the same filters up to the same seq give the same rows, however
    long the export takes to write). TooManyRows past max_rows."""
    head, _ = ledger.current_head(ctx)  # the head commits with its entry: all up to it exist
    pinned = replace(filters, up_to_seq=head)
    with ctx.engine.connect() as conn:
        matching = entries_query(conn, pinned).subquery()
        count, first, last = conn.execute(
            select(func.count(), func.min(matching.c.seq), func.max(matching.c.seq))
        ).one()
    if count > max_rows:
        raise TooManyRows(
            f"{count:,} rows match, more than {max_rows:,} in one export: narrow the filters"
        )
    return Extent(
        pinned,
        int(count),
        None if first is None else int(first),
        None if last is None else int(last),
    )


@dataclass(frozen=True)
class ExportRecord:
    """The ledger entry that records a register export: printed on the copy, so the paper can
    be tied to the signed ledger (its hash covers every entry before it, the rows included)."""

    seq: int
    hash: str
    time_us: int


def record_export(ctx: Context, *, actor: str, fmt: str, extent: Extent) -> ExportRecord:
    """Record the export (before its file is written): who, which format, which filters, and
    the rows it holds (count, seq range, up to which ledger seq)."""
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        seq = ledger.record(
            conn,
            actor=actor,
            action=ledger.LEDGER_EXPORTED,
            object="register",
            details={
                "register": True,
                "format": fmt,
                "filters": extent.filters.to_json(),
                "up_to_seq": extent.filters.up_to_seq,
                "rows": extent.rows,
                "first_seq": extent.first_seq,
                "last_seq": extent.last_seq,
            },
            time_us=now,
        )
        digest = conn.execute(select(L.c.hash).where(L.c.seq == seq)).scalar_one()
    return ExportRecord(seq, str(digest), now)


def latest_checkpoint(ctx: Context) -> tuple[int, int, str] | None:
    """The newest signed ledger checkpoint: (seq, time_us, key id)."""
    with ctx.engine.connect() as conn:
        row = conn.execute(
            select(LC.c.seq, LC.c.time_us, LC.c.key_id).order_by(LC.c.seq.desc()).limit(1)
        ).first()
    return None if row is None else (int(row.seq), int(row.time_us), str(row.key_id))


def organisation_name(ctx: Context, organisation_id: int) -> str | None:
    with ctx.engine.connect() as conn:
        name = conn.execute(select(O.c.name).where(O.c.id == organisation_id)).scalar_one_or_none()
    return None if name is None else str(name)


def camera_name(ctx: Context, camera_id: int) -> str | None:
    with ctx.engine.connect() as conn:
        name = conn.execute(select(CAM.c.name).where(CAM.c.id == camera_id)).scalar_one_or_none()
    return None if name is None else str(name)


def unit_heading(ctx: Context) -> tuple[str, str | None]:
    """The operating unit's name and the register article of the installation's jurisdiction."""
    with ctx.engine.connect() as conn:
        unit = conn.execute(select(O.c.name).where(O.c.id == OPERATING_UNIT_ID)).scalar_one()
        where = jurisdiction_id(conn)  # never fails: a register must print without it
    return str(unit), REGISTER_ARTICLE.get(where or "")
