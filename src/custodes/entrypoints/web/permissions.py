"""Permission checks for routes: a session holding a permission, or 403 naming it.

Two forms, the same check (domain/roles.py `allows`):

    AdminDep = Annotated[auth.Session, Depends(need(Permission.ACCOUNTS_MANAGE))]

    @router.get("/things")
    def things(session: AdminDep) -> ...: ...

or, where the permission depends on the request, inside the handler:

    require(session, Permission.LIVE_ALL)

`need` takes the session from deps.current_session, so its answers come in order: 401 without
a session, 403 for an unsafe method without the CSRF token, then 403 without the permission.
With several permissions, any one of them suffices.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, status

from custodes.domain.roles import Permission, allows
from custodes.entrypoints.web.deps import SessionDep
from custodes.services import auth
from custodes.services.cameras import CameraView


def forbidden(session: auth.Session, *permissions: Permission) -> HTTPException:
    names = " or ".join(p.value for p in permissions)
    return HTTPException(
        status.HTTP_403_FORBIDDEN,
        f"needs the permission {names}, which the role {session.role} does not hold",
    )


def require(session: auth.Session, permission: Permission, *alternatives: Permission) -> None:
    """Raise 403 unless the session's role holds the permission (or one of the others)."""
    wanted = (permission, *alternatives)
    if not any(allows(session.role, p) for p in wanted):
        raise forbidden(session, *wanted)


def need(
    permission: Permission, *alternatives: Permission
) -> Callable[[auth.Session], auth.Session]:
    """A dependency: the session, if its role holds the permission (or one of the others)."""

    def holds_permission(session: SessionDep) -> auth.Session:
        require(session, permission, *alternatives)
        return session

    return holds_permission


def camera_shown_to(session: auth.Session, view: CameraView) -> CameraView:
    """A camera as this reader may see it, on a page or in the API: its network addresses
    only for those who configure cameras (an officer or operator watches, never connects)."""
    return view if allows(session.role, Permission.CAMERAS_CONFIGURE) else view.without_addresses()


# Ready-made for the common cases.
AccountsManager = Annotated[auth.Session, Depends(need(Permission.ACCOUNTS_MANAGE))]
CameraAssigner = Annotated[auth.Session, Depends(need(Permission.ASSIGN_CAMERAS))]
CameraReader = Annotated[auth.Session, Depends(need(Permission.CAMERAS_READ))]
CameraConfigurer = Annotated[auth.Session, Depends(need(Permission.CAMERAS_CONFIGURE))]
RetentionReader = Annotated[auth.Session, Depends(need(Permission.RETENTION_READ))]
HoldManager = Annotated[auth.Session, Depends(need(Permission.HOLDS_MANAGE))]
