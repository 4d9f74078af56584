"""The browser UI: server-rendered pages; live video and the timeline are small JS modules."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from custodes.adapters.db.limits import is_id
from custodes.domain.bookmarks import NOTE_MAX
from custodes.domain.roles import Permission, allows
from custodes.domain.sites import camera_tree
from custodes.domain.views import LAYOUTS, VIEW_NAME_MAX
from custodes.entrypoints.web import i18n, said
from custodes.entrypoints.web.deps import SESSION_COOKIE, get_ctx, request_language
from custodes.entrypoints.web.hardening import safe_next
from custodes.entrypoints.web.labels import ALARM_TITLES
from custodes.entrypoints.web.permissions import camera_shown_to
from custodes.services import access, auth
from custodes.services import accounts as account_service
from custodes.services import cameras as camera_service
from custodes.services import saved_views as view_service
from custodes.services import sites as site_service
from custodes.services.context import Context
from custodes.services.live_access import live_cameras, may_watch
from custodes.services.settings import site_timezone
from custodes.services.status import AlarmStatus, camera_status, system_status

TEMPLATES = Path(__file__).with_name("templates")
router = APIRouter(include_in_schema=False)


@cache
def environment(lang: str) -> Environment:
    """The templates with `lang`'s catalogue bound, one environment per language: installing
    the translations into one shared environment per request raced, so a page rendered while
    another request switched the language came out in that other language."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


# Strings the JavaScript shows, translated on the server and handed over as JSON.
JS_STRINGS = (
    "Connecting…",
    "Reconnecting…",
    "No video",
    "Recorded",
    "Gap",
    "Now",
    "Playing from",
    "Nothing recorded at this time",
    "No later recording",
    "Played up to the latest recording",
    # the recorded player's sound button (static/camera.js)
    "Unmute",
    "Mute",
    "No sound track",
    "Muted above 4×",
    "The recording from {time} on lies outside every grant of yours: file an access request",
    "Saved",
    "Download",
    # the access register's event kinds (static/register.js)
    "Request approved",
    "Footage viewed",
    "Copy made",
    "Copy taken",
    "Request rejected",
    "Grant revoked",
    "Access refused",
    # the live grid (static/live-grid.js)
    "Offline since {time}",
    "Offline",
    # bookmarks and the range to request (static/camera.js, static/bookmarks.js)
    "Selected",
    "Bookmark added",
    "Not saved",
    "Not deleted",
    "Click the timeline first, or play",
    # the alarm list (static/alarms.js)
    "A note is required",
    "Not acknowledged",
    # export jobs on the grant page (static/export-jobs.js)
    "Export queued",
    "Exporting",
    "Export failed",
    "Exported",
    "Export progress",
    "Dismiss",
    "Not dismissed",
)


def _lang(request: Request) -> str:
    return request_language(request)


def _alarms(request: Request) -> list[AlarmStatus]:
    """The stored open alarms and what is seen now (a full disk cannot be stored)."""
    return system_status(get_ctx(request)).alarms


def _acts_on_alarms(session: auth.Session | None) -> bool:
    return session is not None and allows(session.role, Permission.ALARMS_ACKNOWLEDGE)


def _pending_changes(request: Request, session: auth.Session | None) -> int:
    """How many account changes wait for a second person, for the roles that confirm them
    (the navigation's link to /changes shows it); 0 for everyone else."""
    if session is None or not allows(session.role, Permission.CHANGES_CONFIRM):
        return 0
    return account_service.count_open(get_ctx(request))


# The roles that take some part in access requests, or read them all: the others (the system
# administrator) have no use for /requests, and the navigation offers them no link to it.
REQUEST_PERMISSIONS = (
    Permission.REQUEST_CREATE,
    Permission.REQUEST_SIGN,
    Permission.REQUEST_DECIDE,
    Permission.GRANT_REVOKE,
    Permission.REQUESTS_READ_ALL,
)


def _awaiting(request: Request, session: auth.Session | None) -> dict[str, int]:
    """How many requests wait for the session's signature and for its decision (the
    navigation's badges); 0 for a step its role does not take."""
    if session is None:
        return {"sign": 0, "decide": 0}
    actor = access.Actor(
        session.account_id, session.username, session.role, session.organisation_id
    )
    return access.count_awaiting(get_ctx(request), actor)


def _render(request: Request, name: str, session: auth.Session | None, **ctx: Any) -> HTMLResponse:
    lang = _lang(request)
    awaiting = _awaiting(request, session)
    tr = i18n.translations(lang)
    strings = {s: tr.gettext(s) for s in JS_STRINGS}
    html = (
        environment(lang)
        .get_template(name)
        .render(
            request=request,
            session=session,
            # the banner: for the roles that act on alarms (docs/SECURITY.md, "Alarms")
            alarms=_alarms(request) if _acts_on_alarms(session) else [],
            pending_changes=_pending_changes(request, session),
            awaiting_signature=awaiting["sign"],
            awaiting_decision=awaiting["decide"],
            can_see_requests=session is not None
            and any(allows(session.role, p) for p in REQUEST_PERMISSIONS),
            alarm_titles=ALARM_TITLES,
            # a stored message in the page's language (its key and parameters, else as stored)
            worded=lambda message, key, params: said.alarm_message(
                message, key, params, lang, site_timezone(get_ctx(request))
            ),
            # a reason of the recorder (a camera's last error) in the page's language
            reason_text=lambda text: said.recorder_reason(text, lang),
            lang=lang,
            languages=i18n.LANGUAGES,
            js_strings=json.dumps(strings, ensure_ascii=False),
            timezone=site_timezone(get_ctx(request)),
            can=lambda permission: (
                session is not None and allows(session.role, Permission(permission))
            ),
            **ctx,
        )
    )
    return HTMLResponse(html)


def _session(request: Request) -> auth.Session | None:
    token = request.cookies.get(SESSION_COOKIE)
    return auth.resume(get_ctx(request), token) if token else None


def not_found() -> HTMLResponse:
    return HTMLResponse("not found", status_code=404)


def forbidden_page(request: Request, session: auth.Session) -> HTMLResponse:
    """A page the session's role may not see: a page saying so, in its language, with the
    navigation (not a bare word), answered 403."""
    page = _render(request, "error.html", session, kind="forbidden")
    page.status_code = 403
    return page


def bad_id(value: int) -> bool:
    """A page's path id no row can have (services/access.py `is_id`, the bound every API path
    id has too): answered 404 before it reaches the database, which cannot bind it."""
    return not is_id(value)


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


@router.get("/login")
def login_page(request: Request) -> Response:
    target = safe_next(request.query_params.get("next"))  # the script follows it as it is
    return _render(request, "login.html", None, next=target)


@router.get("/lang/{code}")
def set_language(code: str, request: Request) -> Response:
    back = safe_next(request.query_params.get("next"))
    response = RedirectResponse(back, status_code=303)
    if code in i18n.LANGUAGES:
        response.set_cookie(i18n.LANG_COOKIE, code, max_age=365 * 86400, samesite="strict")
    return response


@router.get("/")
def home() -> Response:
    return RedirectResponse("/live", status_code=303)


@router.get("/live")
def live_grid(
    request: Request, layout: int = 4, page: int = 1, view: int | None = None
) -> Response:
    """The live grid: `layout` tiles of the cameras shown, page by page; or one of the
    person's saved views (`view`), its slots as saved, a camera no longer shown to them left
    empty. Another person's view, or none, is not found."""
    session = _session(request)
    if session is None:
        return _to_login(request)
    if layout not in LAYOUTS:
        layout = 4
    ctx = get_ctx(request)
    allowed = live_cameras(ctx, account_id=session.account_id, role=session.role)
    if allowed is not None and not allowed and not allows(session.role, Permission.LIVE_ASSIGNED):
        return RedirectResponse("/requests", status_code=303)  # a role without live view
    cams = [
        camera_shown_to(session, c)
        for c in camera_service.list_cameras(ctx)
        if allowed is None or c.id in allowed
    ]
    pages = max(1, -(-len(cams) // layout))
    page = min(max(page, 1), pages)  # a page past the end shows the last, not an empty grid
    tiles: list[camera_service.CameraView | None] = list(cams[(page - 1) * layout : page * layout])
    opened = None
    if view is not None:
        if bad_id(view):
            return not_found()
        by_id = {c.id: c for c in cams}
        try:
            opened = view_service.open_view(ctx, session.account_id, view, set(by_id))
        except view_service.ViewNotFound:
            return not_found()
        layout, page, pages = opened.layout, 1, 1
        tiles = [by_id.get(slot) if slot is not None else None for slot in opened.slots]
    return _render(
        request,
        "live.html",
        session,
        layout=layout,
        layouts=LAYOUTS,
        cameras=tiles,
        choices=cams,
        tree=_by_site(ctx, cams),
        page=page,
        pages=pages,
        views=view_service.list_views(ctx, session.account_id),
        opened=opened,
        name_max=VIEW_NAME_MAX,
    )


def _by_site(ctx: Context, cams: list[camera_service.CameraView]) -> list[LiveBranch]:
    """The live page's camera tree: site → group → camera over the cameras shown, sites by
    name, "No site" (name None) last (domain/sites.py camera_tree)."""
    by_id = {c.id: c for c in cams}
    known = site_service.layout(ctx)
    branches = camera_tree(list(by_id), known.sites, known.groups, known.site_of, known.members)
    return [
        LiveBranch(
            name=b.name,
            count=b.count,
            groups=[(g.name, [by_id[c] for c in g.cameras]) for g in b.groups],
            cameras=[by_id[c] for c in b.cameras],
        )
        for b in branches
    ]


@dataclass(frozen=True)
class LiveBranch:
    """A site's branch of the live tree as the template shows it: cameras, not ids."""

    name: str | None
    count: int
    groups: list[tuple[str, list[camera_service.CameraView]]]
    cameras: list[camera_service.CameraView]


@router.get("/cameras")
def cameras_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    ctx = get_ctx(request)
    status = {s.id: s for s in camera_status(ctx)}
    return _render(
        request,
        "cameras.html",
        session,
        cameras=[camera_shown_to(session, c) for c in camera_service.list_cameras(ctx)],
        status=status,
    )


@router.get("/cameras/new")
def camera_new(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    if not allows(session.role, Permission.CAMERAS_CONFIGURE):
        return forbidden_page(request, session)  # the form shows addresses it cannot save
    return _render(request, "camera_form.html", session, camera=None, **_placing(request, None))


@router.get("/cameras/{camera_id}/edit")
def camera_edit(camera_id: int, request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    if bad_id(camera_id):  # no row can have it: 404 for everyone, as on every page
        return not_found()
    if not allows(session.role, Permission.CAMERAS_CONFIGURE):
        return forbidden_page(request, session)
    try:
        cam = camera_service.find_camera(get_ctx(request), str(camera_id))
    except camera_service.CameraNotFound:
        return not_found()
    return _render(request, "camera_form.html", session, camera=cam, **_placing(request, cam.id))


def _placing(request: Request, camera_id: int | None) -> dict[str, Any]:
    """What the camera form offers to place a camera by: the sites, the groups, and where the
    camera is now (a new one: nowhere)."""
    ctx = get_ctx(request)
    placed = site_service.placement(ctx, camera_id) if camera_id is not None else None
    return {
        "sites": site_service.list_sites(ctx),
        "groups": site_service.list_groups(ctx),
        "placed_site": placed.site_id if placed else None,
        "placed_groups": set(placed.group_ids) if placed else set(),
    }


@router.get("/cameras/{camera_id}")
def camera_page(camera_id: int, request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    if bad_id(camera_id):
        return not_found()
    ctx = get_ctx(request)
    try:
        cam = camera_service.find_camera(ctx, str(camera_id))
    except camera_service.CameraNotFound:
        return not_found()
    status = next((s for s in camera_status(ctx) if s.id == camera_id), None)
    live_ok = may_watch(ctx, account_id=session.account_id, role=session.role, camera_id=cam.id)
    shown = camera_shown_to(session, cam)
    return _render(
        request,
        "camera.html",
        session,
        camera=shown,
        status=status,
        live_ok=live_ok,
        note_max=NOTE_MAX,  # a bookmark's note (domain/bookmarks.py)
    )
