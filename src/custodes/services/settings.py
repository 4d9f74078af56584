"""Installation settings kept in the database (jurisdiction, site time zone …).

A change of a setting is a ledger entry (old and new value) in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import insert, select, update

from custodes.adapters.db import schema
from custodes.domain.chain import Cadence
from custodes.services import ledger
from custodes.services.context import Context

DEFAULT_TIMEZONE = "Asia/Shanghai"  # China Standard Time: every jurisdiction we serve
S = schema.settings


def get_setting(ctx: Context, key: str) -> str | None:
    with ctx.engine.connect() as conn:
        value = conn.execute(select(S.c.value).where(S.c.key == key)).scalar_one_or_none()
    return None if value is None else str(value)


def set_setting(ctx: Context, key: str, value: str, *, actor: str = ledger.SYSTEM) -> bool:
    """Set a setting; True when it changed (and was recorded), False when it already was so."""
    with ctx.engine.begin() as conn:
        # A write before the read: it takes SQLite's write lock (a row lock on PostgreSQL), so
        # the value read is the one replaced and the transaction cannot fail to upgrade later.
        conn.execute(update(S).where(S.c.key == key).values(value=S.c.value))
        old = conn.execute(select(S.c.value).where(S.c.key == key)).scalar_one_or_none()
        if old == value:
            return False
        if old is None:
            conn.execute(insert(S).values(key=key, value=value))
        else:
            conn.execute(update(S).where(S.c.key == key).values(value=value))
        ledger.record(
            conn,
            actor=actor,
            action=ledger.SETTING_CHANGED,
            object=f"setting:{key}",
            details={"key": key, "old": old, "new": value},
            time_us=ctx.clock(),
        )
    return True


def site_timezone(ctx: Context) -> str:
    """The zone times are shown in (IANA name); stored times stay UTC."""
    return get_setting(ctx, "timezone") or DEFAULT_TIMEZONE


def checkpoint_cadence(ctx: Context) -> Cadence:
    """How often the segment chains are signed: settings `checkpoint_segments` and
    `checkpoint_seconds` (defaults: 100 segments or 600 s, whichever first)."""
    default = Cadence()
    segments = get_setting(ctx, "checkpoint_segments")
    seconds = get_setting(ctx, "checkpoint_seconds")
    return Cadence(
        segments=int(segments) if segments else default.segments,
        seconds=int(seconds) if seconds else default.seconds,
    )
