"""Alarms: conditions that need a person (integrity failure, disk filling up, disk full).

One open alarm per (kind, camera): raising an open one again only updates nothing and returns
False, so a check that runs every minute does not flood the table; clearing closes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    String,
    Text,
    insert,
    literal,
    select,
    update,
)

from custodes.adapters.db import schema

A = schema.alarms
INTEGRITY = "integrity"
DISK_LOW = "disk-low"
DISK_FULL = "disk-full"


@dataclass(frozen=True)
class Alarm:
    id: int
    kind: str
    camera_id: int | None
    message: str
    raised_us: int


def raise_alarm(
    conn: Connection, kind: str, message: str, now_us: int, camera_id: int | None = None
) -> bool:
    """Open an alarm; False when one of this kind (and camera) is already open. One statement
    (INSERT … SELECT … WHERE NOT EXISTS), so that SQLite takes its write lock at once rather
    than upgrading a read, which can fail without waiting."""
    cond = A.c.camera_id.is_(None) if camera_id is None else A.c.camera_id == camera_id
    already = select(A.c.id).where(A.c.kind == kind, cond, A.c.cleared_us.is_(None)).exists()
    row = select(
        literal(kind, String),
        literal(camera_id, Integer),
        literal(message, Text),
        literal(now_us, BigInteger),
    ).where(~already)
    result = conn.execute(insert(A).from_select(["kind", "camera_id", "message", "raised_us"], row))
    return bool(result.rowcount)


def clear_alarm(conn: Connection, kind: str, now_us: int, camera_id: int | None = None) -> bool:
    cond = A.c.camera_id.is_(None) if camera_id is None else A.c.camera_id == camera_id
    result = conn.execute(
        update(A).where(A.c.kind == kind, cond, A.c.cleared_us.is_(None)).values(cleared_us=now_us)
    )
    return bool(result.rowcount)


def open_alarms(conn: Connection) -> list[Alarm]:
    rows = conn.execute(select(A).where(A.c.cleared_us.is_(None)).order_by(A.c.raised_us)).all()
    return [Alarm(r.id, r.kind, r.camera_id, r.message, r.raised_us) for r in rows]
