"""The browser UI: server-rendered pages; live video and the timeline are small JS modules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from custodes.domain.roles import Permission, allows
from custodes.entrypoints.web import i18n
from custodes.entrypoints.web.deps import SESSION_COOKIE, get_ctx
from custodes.entrypoints.web.hardening import safe_next
from custodes.entrypoints.web.times import request_lang
from custodes.services import auth
from custodes.services import cameras as camera_service
from custodes.services.access import is_id
from custodes.services.live_access import live_cameras, may_watch
from custodes.services.settings import site_timezone
from custodes.services.status import AlarmStatus, camera_status, system_status

TEMPLATES = Path(__file__).with_name("templates")
router = APIRouter(include_in_schema=False)
LAYOUTS = (1, 4, 9, 16)
_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
)

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
    "Saved",
    "Download",
    # the access register's event kinds (static/register.js)
    "Request approved",
    "Playback",
    "Copy made",
    "Copy taken",
    "Request rejected",
    "Grant revoked",
    "Access refused",
)


def _lang(request: Request) -> str:
    return request_lang(request)


# The banner's title per alarm kind (msgids: the catalogues translate them).
ALARM_TITLES = {
    "integrity": "Integrity check failed",
    "disk-low": "Disk space will not hold the retention period",
    "disk-full": "Disk full: recording stopped",
    "footage-cut": "Footage cut short by a crash or a full disk",
}


def _alarms(request: Request) -> list[AlarmStatus]:
    """The stored open alarms and what is seen now (a full disk cannot be stored)."""
    return system_status(get_ctx(request)).alarms


def _render(request: Request, name: str, session: auth.Session | None, **ctx: Any) -> HTMLResponse:
    lang = _lang(request)
    tr = i18n.translations(lang)
    _env.install_gettext_translations(tr, newstyle=True)  # type: ignore[attr-defined]
    strings = {s: tr.gettext(s) for s in JS_STRINGS}
    html = _env.get_template(name).render(
        request=request,
        session=session,
        alarms=_alarms(request) if session else [],
        alarm_titles=ALARM_TITLES,
        lang=lang,
        languages=i18n.LANGUAGES,
        js_strings=json.dumps(strings, ensure_ascii=False),
        timezone=site_timezone(get_ctx(request)),
        can=lambda permission: session is not None and allows(session.role, Permission(permission)),
        **ctx,
    )
    return HTMLResponse(html)


def _session(request: Request) -> auth.Session | None:
    token = request.cookies.get(SESSION_COOKIE)
    return auth.resume(get_ctx(request), token) if token else None


def not_found() -> HTMLResponse:
    return HTMLResponse("not found", status_code=404)


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
def live_grid(request: Request, layout: int = 4) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    if layout not in LAYOUTS:
        layout = 4
    ctx = get_ctx(request)
    allowed = live_cameras(ctx, account_id=session.account_id, role=session.role)
    if allowed is not None and not allowed and not allows(session.role, Permission.LIVE_ASSIGNED):
        return RedirectResponse("/requests", status_code=303)  # a role without live view
    cams = [c for c in camera_service.list_cameras(ctx) if allowed is None or c.id in allowed]
    return _render(
        request, "live.html", session, layout=layout, layouts=LAYOUTS, cameras=cams[:layout]
    )


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
        cameras=camera_service.list_cameras(ctx),
        status=status,
    )


@router.get("/cameras/new")
def camera_new(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    return _render(request, "camera_form.html", session, camera=None)


@router.get("/cameras/{camera_id}/edit")
def camera_edit(camera_id: int, request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    if bad_id(camera_id):
        return not_found()
    try:
        cam = camera_service.find_camera(get_ctx(request), str(camera_id))
    except camera_service.CameraNotFound:
        return not_found()
    return _render(request, "camera_form.html", session, camera=cam)


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
    return _render(request, "camera.html", session, camera=cam, status=status, live_ok=live_ok)
