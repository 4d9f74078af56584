"""Who may watch which camera live: the role, and for duty operators the camera assignment.

Live view needs no grant (issue 5, part 2): a role that watches everything (security
manager, system administrator), or a duty operator watching a camera assigned to it.
"""

from __future__ import annotations

from sqlalchemy import select

from custodes.adapters.db import schema
from custodes.domain.roles import Permission, allows
from custodes.services.context import Context

CA = schema.camera_assignments


def live_cameras(ctx: Context, *, account_id: int, role: str) -> set[int] | None:
    """The cameras the account may watch live: None for all, else the (maybe empty) set."""
    if allows(role, Permission.LIVE_ALL):
        return None
    if not allows(role, Permission.LIVE_ASSIGNED):
        return set()
    with ctx.engine.connect() as conn:
        return set(
            conn.execute(select(CA.c.camera_id).where(CA.c.account_id == account_id)).scalars()
        )


def may_watch(ctx: Context, *, account_id: int, role: str, camera_id: int) -> bool:
    allowed = live_cameras(ctx, account_id=account_id, role=role)
    return allowed is None or camera_id in allowed
