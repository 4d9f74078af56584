"""Synchronised playback (/playback): up to four cameras' recorded footage on one timeline and
one clock, for whoever may read cameras; what each tile may play is still its grants' (the
page asks /grants/check per camera and says a refusal's reason in its tile)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from custodes.adapters.db.limits import is_id
from custodes.domain.roles import Permission, allows
from custodes.entrypoints.web.deps import get_ctx
from custodes.entrypoints.web.pages import _render, _session, _to_login, forbidden_page
from custodes.entrypoints.web.permissions import camera_shown_to
from custodes.services import cameras as camera_service

router = APIRouter(include_in_schema=False)
MAX_CAMERAS = 4  # tiles on one clock: more than a 2×2 grid of 1080p decodes is no help


def chosen(values: list[str], known: set[int]) -> list[int]:
    """The cameras asked for (`?camera=1&camera=3`), in order, once each, at most
    MAX_CAMERAS: a value that names no camera shown here is left out, never an error."""
    picked: list[int] = []
    for value in values:
        if not value.isdecimal() or not is_id(int(value)):
            continue
        cid = int(value)
        if cid in known and cid not in picked:
            picked.append(cid)
    return picked[:MAX_CAMERAS]


def instant_ms(value: str | None) -> int | None:
    """`?at=` as ms since 1970 UTC when it is an ISO 8601 time with its zone between 1970 and
    now; anything else is no starting point (the page waits for a click)."""
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    if at.tzinfo is None:
        return None
    ms = int(at.timestamp() * 1000)
    return ms if 0 <= ms <= int(datetime.now().timestamp() * 1000) else None


@router.get("/playback")
def playback_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    if not allows(session.role, Permission.CAMERAS_READ):
        return forbidden_page(request, session)
    cams = [camera_shown_to(session, c) for c in camera_service.list_cameras(get_ctx(request))]
    picked = chosen(request.query_params.getlist("camera"), {c.id for c in cams})
    by_id = {c.id: c for c in cams}
    return _render(
        request,
        "playback.html",
        session,
        choices=cams,
        tiles=[by_id[i] for i in picked],
        slots=MAX_CAMERAS,
        at_ms=instant_ms(request.query_params.get("at")),
    )
