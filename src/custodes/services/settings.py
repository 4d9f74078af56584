"""Installation settings kept in the database (jurisdiction, site time zone …)."""

from __future__ import annotations

from sqlalchemy import select

from custodes.adapters.db import schema
from custodes.services.context import Context

DEFAULT_TIMEZONE = "Asia/Shanghai"  # China Standard Time: every jurisdiction we serve


def get_setting(ctx: Context, key: str) -> str | None:
    with ctx.engine.connect() as conn:
        value = conn.execute(
            select(schema.settings.c.value).where(schema.settings.c.key == key)
        ).scalar_one_or_none()
    return None if value is None else str(value)


def site_timezone(ctx: Context) -> str:
    """The zone times are shown in (IANA name); stored times stay UTC."""
    return get_setting(ctx, "timezone") or DEFAULT_TIMEZONE
