"""The bookmarks page (/bookmarks): every bookmark on the cameras' timelines, newest first,
searched by camera, words in the note and a range of days in the site's time zone; each row
links to the camera page at its instant (/cameras/{id}?at=…), and the author's own rows offer
Delete (static/bookmarks.js calls DELETE /api/v1/bookmarks/{id}).

Total: a filter that cannot be read is said on the page and the list is not narrowed by it,
never a 500."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from custodes.adapters.db.limits import is_id
from custodes.domain import instants
from custodes.domain.bookmarks import NOTE_MAX
from custodes.domain.roles import Permission, allows
from custodes.entrypoints.web import wording
from custodes.entrypoints.web.deps import get_ctx
from custodes.entrypoints.web.pages import _render, _session, _to_login, forbidden_page
from custodes.entrypoints.web.pages_ledger import zone
from custodes.services import bookmarks as svc
from custodes.services import cameras as camera_service
from custodes.services.settings import site_timezone

router = APIRouter(include_in_schema=False)
NOT_A_DATE = "not a date (for example 2026-11-29)"  # msgid (invalid.py's, for a date)
SEARCH_MAX = 200


def _day_start(text: str, tz_name: str, *, next_day: bool = False) -> int | None:
    """µs of the start of the site's day `text` names (of the day after, for an inclusive
    end); None when it names none, or one outside the range of instants."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    if next_day:
        try:
            day += timedelta(days=1)
        except OverflowError:
            return None
    moment = datetime.combine(day, time(0), zone(tz_name))
    try:
        return instants.from_datetime(moment, "date")
    except (instants.BadInstant, OverflowError):
        return None


@router.get("/bookmarks")
def bookmarks_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    if not allows(session.role, Permission.CAMERAS_READ):
        return forbidden_page(request, session)
    ctx = get_ctx(request)
    tz_name = site_timezone(ctx)
    q = request.query_params
    cams = camera_service.list_cameras(ctx, include_retired=True)
    camera_id: int | None = None
    if (c := q.get("camera", "")).isdigit() and is_id(int(c)):
        camera_id = int(c) if any(cam.id == int(c) for cam in cams) else None
    words = (q.get("q") or "").strip()[:SEARCH_MAX]
    typed = {"from": (q.get("from") or "").strip(), "to": (q.get("to") or "").strip()}
    bad: list[str] = []  # the date inputs that name no date (said, and not applied)
    from_us = to_us = None
    if typed["from"]:
        from_us = _day_start(typed["from"], tz_name)
        if from_us is None:
            bad.append("from")
    if typed["to"]:
        to_us = _day_start(typed["to"], tz_name, next_day=True)
        if to_us is None:
            bad.append("to")
    rows = svc.list_bookmarks(
        ctx,
        organisation_id=session.organisation_id,
        camera_id=camera_id,
        words=svc.words_of(words),
        from_us=from_us,
        to_us=to_us,
    )
    shown = [
        (
            b,
            wording.site_time(b.at_us, tz_name),
            f"/cameras/{b.camera_id}?{urlencode({'at': b.at})}",
            b.author_account_id == session.account_id,
        )
        for b in rows
    ]
    return _render(
        request,
        "bookmarks.html",
        session,
        rows=shown,
        cameras=cams,
        camera_id=camera_id,
        words=words,
        typed=typed,
        bad=bad,
        not_a_date=NOT_A_DATE,
        more=len(rows) >= svc.LIST_MAX,
        zone_name=tz_name,
        note_max=NOTE_MAX,
    )
