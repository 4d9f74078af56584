"""The access pages: requests (list, form, detail with its decisions), my grants with playback
and export, and the access register. Data come from the JSON API the pages' script calls;
the server renders the frame and what the session may do."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from fastapi.responses import Response

from custodes.domain import instants
from custodes.domain.access_rules import OrgKind
from custodes.domain.duties import ChangeKind
from custodes.domain.instants import BadInstant
from custodes.domain.roles import OUTSIDE_ROLES, Permission, allows
from custodes.entrypoints.web import i18n, wording
from custodes.entrypoints.web.changes_view import describe
from custodes.entrypoints.web.deps import get_ctx, request_language
from custodes.entrypoints.web.labels import (
    ACTION_LABELS,
    BASIS_LABELS,
    ORG_KIND_LABELS,
    ROLE_LABELS,
    STATE_LABELS,
)
from custodes.entrypoints.web.pages import (
    _render,
    _session,
    _to_login,
    bad_id,
    forbidden_page,
    not_found,
)
from custodes.entrypoints.web.routes.access import actor_of
from custodes.services import access
from custodes.services import accounts as account_service
from custodes.services import cameras as camera_service
from custodes.services.ledger import account_actor
from custodes.services.settings import site_timezone

router = APIRouter(include_in_schema=False)


AWAITING_LABELS = {"sign": "Awaiting my signature", "decide": "Awaiting my approval"}
AWAITING_PERMISSIONS = {"sign": Permission.REQUEST_SIGN, "decide": Permission.REQUEST_DECIDE}


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
    awaiting = request.query_params.get("awaiting")
    if awaiting not in AWAITING_LABELS:
        awaiting = None
    actor = actor_of(session)
    rows = access.list_requests(get_ctx(request), actor, state=state, awaiting=awaiting)
    offered = {  # the filters of what waits for the session: for the roles that take the step
        k: v for k, v in AWAITING_LABELS.items() if allows(session.role, AWAITING_PERMISSIONS[k])
    }
    return _render(
        request,
        "requests.html",
        session,
        rows=rows,
        state=state,
        awaiting=awaiting,
        awaiting_filters=offered,
        **_labels(),
    )


@router.get("/requests/new")
def request_new(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    if not allows(session.role, Permission.REQUEST_CREATE):
        return forbidden_page(request, session)
    ctx = get_ctx(request)
    cams = camera_service.list_cameras(ctx, include_retired=True)
    prefill = _prefill(request, {c.id for c in cams}, site_timezone(ctx))
    return _render(request, "request_new.html", session, cameras=cams, prefill=prefill, **_labels())


def _prefill(request: Request, camera_ids: set[int], zone_name: str) -> dict[str, object]:
    """The form's camera and range from the query (the camera page's "Request this range":
    ?camera=3&start=…&end=…, ISO 8601 with a zone): the camera if it exists, the two times
    as the form's date-time pickers read them — the site's wall-clock time to the second,
    start rounded down and end up — if both are in the range of instants and end is after start.
    Anything else is left out (an empty form, as without a query), never a 500."""
    q = request.query_params
    found: dict[str, object] = {}
    if (c := q.get("camera", "")).isdigit() and len(c) < 12 and int(c) in camera_ids:
        found["camera"] = int(c)
    try:
        start = instants.parse(q.get("start", ""), "start")
        end = instants.parse(q.get("end", ""), "end")
        instants.window(start, end, ("start", "end"))
    except BadInstant:
        return found
    found["start"] = _site_local(start - start % 1_000_000, zone_name)
    found["end"] = _site_local(end + (-end) % 1_000_000, zone_name)
    return found


def _site_local(us: int, zone_name: str) -> str:
    """The site's wall-clock time to the second, as a datetime-local input holds it
    (2026-11-29T08:00:00); the page names the zone beside it."""
    try:
        tz: tzinfo = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        tz = UTC
    return datetime.fromtimestamp(us // 1_000_000, tz).replace(tzinfo=None).isoformat()


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
    lang = request_language(request)
    return _render(
        request,
        "request.html",
        session,
        r=view,
        refusals=[
            (wording.refusal(f, lang), wording.article(f.article, lang)) for f in view.refusals
        ],
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
    # the grant column names what a grant allows in the page's language (static/register.js)
    tr = i18n.translations(request_language(request))
    names = {value: tr.gettext(label) for value, label in ACTION_LABELS.items()}
    return _render(request, "register.html", session, action_names=names)


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


@router.get("/accounts")
def accounts_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    if not allows(session.role, Permission.ACCOUNTS_MANAGE):
        return forbidden_page(request, session)
    ctx = get_ctx(request)
    organisations = account_service.list_organisations(ctx)
    # a role change that waits for a second person (docs/DUTIES.md), by account: the role
    # proposed, shown on the account's row with a link to /changes
    waiting = {
        c.account_id: str(c.details.get("to", ""))
        for c in account_service.open_changes(ctx)
        if c.kind == ChangeKind.ROLE and c.account_id is not None
    }
    return _render(
        request,
        "accounts.html",
        session,
        accounts=account_service.list_accounts(ctx),
        organisations=organisations,
        outside={o.id for o in organisations if not o.operating_unit},
        outside_roles=[r.value for r in OUTSIDE_ROLES],
        waiting=waiting,
        proposed=request.query_params.get("proposed") == "role",
        cameras=camera_service.list_cameras(ctx),
        roles=ROLE_LABELS,
        org_kinds=[k.value for k in OrgKind if k is not OrgKind.OPERATING_UNIT],
        org_kind_labels=ORG_KIND_LABELS,
        now_us=ctx.clock(),
    )


DONE = {  # what the page says after a decision (?done=…)
    "confirm": "Confirmed: the change has taken effect.",
    "cancel": "Turned down: the change will not take effect.",
}


@router.get("/changes")
def changes_page(request: Request) -> Response:
    """The account changes that wait for a second person (docs/DUTIES.md), for the roles that
    confirm them: each with Confirm and Turn down, which call /api/v1/account-changes."""
    session = _session(request)
    if session is None:
        return _to_login(request)
    if not allows(session.role, Permission.CHANGES_CONFIRM):
        return forbidden_page(request, session)
    lang = request_language(request)
    viewer = account_actor(session.username)
    rows = [
        describe(c, viewer=viewer, lang=lang)
        for c in account_service.open_changes(get_ctx(request))
    ]
    done = DONE.get(request.query_params.get("done", ""))
    return _render(request, "changes.html", session, changes=rows, done=done)


@router.get("/me")
def me_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    view = account_service.get_account(get_ctx(request), session.account_id)
    return _render(request, "me.html", session, me=view, roles=ROLE_LABELS)
