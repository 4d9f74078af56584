"""Who may watch which camera live: the role, and for duty operators the camera assignment.

Live view needs no grant (issue 5, part 2): a role that watches everything (security
manager, system administrator), or a duty operator watching a camera assigned to it.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import select

from custodes.adapters.db import schema
from custodes.domain.roles import Permission, allows
from custodes.services import auth
from custodes.services import cameras as camera_service
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


class LiveRefusal(StrEnum):
    """Why a live stream may not start, or may not go on."""

    SESSION = "session"  # no session: never had one, logged out, expired, account disabled
    FORBIDDEN = "forbidden"  # the role no longer watches live, or the camera is unassigned
    NO_CAMERA = "no-camera"  # unknown, or retired


def live_right(ctx: Context, token: str | None, camera_id: int) -> auth.Session | LiveRefusal:
    """The session that may watch `camera_id` live now, or why not. Asked when a live socket
    opens and again every few seconds while it streams (routes/live.py), so the stream ends
    soon after the right does: a log-out, a disabled account, an unassigned camera."""
    session = auth.resume(ctx, token) if token else None
    if session is None:
        return LiveRefusal.SESSION
    if not may_watch(ctx, account_id=session.account_id, role=session.role, camera_id=camera_id):
        return LiveRefusal.FORBIDDEN
    try:
        camera = camera_service.find_camera(ctx, str(camera_id))
    except camera_service.CameraNotFound:
        return LiveRefusal.NO_CAMERA
    if camera.retired:
        return LiveRefusal.NO_CAMERA
    return session
