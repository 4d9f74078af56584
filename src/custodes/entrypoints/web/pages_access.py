"""The access pages: requests (list, form, detail with its decisions), my grants with playback
and export, and the access register. Data come from the JSON API the pages' script calls;
the server renders the frame and what the session may do."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from custodes.domain.access_rules import Action, Basis, OrgKind
from custodes.domain.roles import Permission, allows
from custodes.entrypoints.web.deps import get_ctx
from custodes.entrypoints.web.pages import _render, _session, _to_login, bad_id, not_found
from custodes.entrypoints.web.routes.access import actor_of
from custodes.services import access
from custodes.services import accounts as account_service
from custodes.services import cameras as camera_service

router = APIRouter(include_in_schema=False)

# The UI's names for the rules' values (msgids: the catalogues translate them).
ACTION_LABELS = {
    Action.VIEW.value: "View only",
    Action.COPY.value: "Copy (export a clip)",
    Action.RETRIEVE_ORIGINAL.value: "Retrieve the original files",
}
BASIS_LABELS = {
    Basis.LAW_ENFORCEMENT.value: "Law enforcement (public security)",
    Basis.NATIONAL_SECURITY.value: "National security",
    Basis.JUDICIAL.value: "Judicial",
    Basis.EMERGENCY_INCIDENT.value: "Emergency incident",
    Basis.OWN_FIELD.value: "State organ in its own industry or region",
    Basis.CONFIRMED_BY_PSB.value: "Confirmed by public security",
    Basis.INTERESTED_PARTY_EMERGENCY.value: "Interested party in an emergency",
    Basis.UNIT_DUTIES.value: "The unit's own checks and reports",
}
STATE_LABELS = {
    "draft": "Draft",
    "submitted": "Awaiting approval",
    "approved": "Approved",
    "rejected": "Rejected",
    "withdrawn": "Withdrawn",
}


def _labels() -> dict[str, dict[str, str]]:
    return {"actions": ACTION_LABELS, "bases": BASIS_LABELS, "states": STATE_LABELS}


@router.get("/requests")
def requests_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    state = request.query_params.get("state")
    if state not in STATE_LABELS:
        state = None
    actor = actor_of(session)
    rows = access.list_requests(get_ctx(request), actor, state=state)
    return _render(request, "requests.html", session, rows=rows, state=state, **_labels())


@router.get("/requests/new")
def request_new(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    if not allows(session.role, Permission.REQUEST_CREATE):
        return HTMLResponse("forbidden", status_code=403)
    cams = camera_service.list_cameras(get_ctx(request), include_retired=True)
    return _render(request, "request_new.html", session, cameras=cams, **_labels())


@router.get("/requests/{request_id}")
def request_page(request_id: int, request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    if bad_id(request_id):
        return not_found()
    actor = actor_of(session)
    ctx = get_ctx(request)
    try:
        view = access.get_request(ctx, actor, request_id)
    except access.NotFound:
        return not_found()
    signed = any(s.account_id == session.account_id for s in view.staff)
    return _render(
        request,
        "request.html",
        session,
        r=view,
        signed=signed,
        now_us=ctx.clock(),
        cameras={c.id: c.name for c in camera_service.list_cameras(ctx, include_retired=True)},
        **_labels(),
    )


@router.get("/grants")
def grants_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    ctx = get_ctx(request)
    actor = actor_of(session)
    return _render(
        request,
        "grants.html",
        session,
        grants=access.my_grants(ctx, actor),
        now_us=ctx.clock(),
        cameras={c.id: c.name for c in camera_service.list_cameras(ctx, include_retired=True)},
        **_labels(),
    )


@router.get("/register")
def register_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    return _render(request, "register.html", session)


@router.get("/grants/{grant_id}")
def grant_page(grant_id: int, request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    if bad_id(grant_id):
        return not_found()
    ctx = get_ctx(request)
    actor = actor_of(session)
    grant = next((g for g in access.my_grants(ctx, actor) if g.id == grant_id), None)
    if grant is None:
        return not_found()
    names = {c.id: c.name for c in camera_service.list_cameras(ctx, include_retired=True)}
    return _render(
        request,
        "grant.html",
        session,
        g=grant,
        live=grant.live(ctx.clock()),
        cameras=names,
        **_labels(),
    )


ROLE_LABELS = {
    "duty_operator": "Duty operator",
    "security_manager": "Security manager",
    "auditor": "Auditor",
    "system_admin": "System administrator",
    "external_officer": "External officer",
}


@router.get("/accounts")
def accounts_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    if not allows(session.role, Permission.ACCOUNTS_MANAGE):
        return HTMLResponse("forbidden", status_code=403)
    ctx = get_ctx(request)
    return _render(
        request,
        "accounts.html",
        session,
        accounts=account_service.list_accounts(ctx),
        organisations=account_service.list_organisations(ctx),
        cameras=camera_service.list_cameras(ctx),
        roles=ROLE_LABELS,
        org_kinds=[k.value for k in OrgKind if k is not OrgKind.OPERATING_UNIT],
        now_us=ctx.clock(),
    )


@router.get("/me")
def me_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    view = account_service.get_account(get_ctx(request), session.account_id)
    return _render(request, "me.html", session, me=view, roles=ROLE_LABELS)
