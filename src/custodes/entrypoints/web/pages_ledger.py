"""The ledger page (/ledger) for the roles that read the ledger (auditors): entries newest
first, filtered by action, actor and a time range typed in the site's time, fifty a page.
An action is named in the page's language (labels.py), its code kept in `data-action`;
who, on what and the details are shown as stored: they are the evidence.

Total: whatever an entry holds renders — its texts escaped as they are, a time no calendar
holds as its number — and a filter that cannot be read is said, not a 500."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from fastapi.responses import Response

from custodes.adapters.db.limits import is_bigint
from custodes.domain import instants
from custodes.domain.instants import BadInstant
from custodes.domain.roles import Permission, allows
from custodes.entrypoints.web import i18n
from custodes.entrypoints.web.deps import get_ctx, request_language
from custodes.entrypoints.web.labels import LEDGER_ACTION_LABELS
from custodes.entrypoints.web.pages import _render, _session, _to_login, forbidden_page
from custodes.services import ledger
from custodes.services.ledger import ACTION_MAX, ACTOR_MAX
from custodes.services.settings import site_timezone

router = APIRouter(include_in_schema=False)
PAGE = 50


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def site_time(time_us: int, tz: ZoneInfo) -> str:
    """The stored time in the site's zone, to the second; a time no datetime holds as its
    number (the column holds any BIGINT)."""
    try:
        moment = datetime.fromtimestamp(time_us // 1_000_000, UTC).astimezone(tz)
    except (OverflowError, OSError, ValueError):
        return f"{time_us} µs since 1970 UTC"
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _instant(text: str, tz: ZoneInfo, field: str) -> int:
    """µs of a time typed in the site's zone (or with its own offset); BadInstant if none."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInstant("format", field) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return instants.from_datetime(moment, field)


def _text(value: str | None, most: int) -> str | None:
    value = (value or "").strip()
    return value[:most] if value else None


@router.get("/ledger")
def ledger_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    if not allows(session.role, Permission.LEDGER_READ):
        return forbidden_page(request, session)
    ctx = get_ctx(request)
    tz = zone(site_timezone(ctx))
    q = request.query_params
    action = _text(q.get("action"), ACTION_MAX)
    actor = _text(q.get("actor"), ACTOR_MAX)
    typed = {"from": (q.get("from") or "").strip(), "to": (q.get("to") or "").strip()}
    error: tuple[str, str] | None = None  # (the input, what is wrong with it)
    times: dict[str, int | None] = {"from": None, "to": None}
    for name, text in typed.items():
        if text:
            try:
                times[name] = _instant(text, tz, name)
            except BadInstant as exc:
                error = (name, i18n.bad_instant(exc, request_language(request)))
    before: int | None = None
    if (b := q.get("before", "")).isdigit() and is_bigint(int(b)):
        before = int(b)
    rows: list[ledger.Entry] = []
    older = False
    if error is None:
        rows, older = ledger.entries(
            ctx,
            action=action,
            actor=actor,
            since_us=times["from"],
            until_us=times["to"],
            before_seq=before,
            limit=PAGE,
        )
    kept = {k: v for k, v in {"action": action, "actor": actor, **typed}.items() if v}
    return _render(
        request,
        "ledger.html",
        session,
        rows=[(e, site_time(e.time_us, tz)) for e in rows],
        older=rows[-1].seq if older and rows else None,
        paged=before is not None,
        filters=kept,
        actions=sorted(set(LEDGER_ACTION_LABELS) | ({action} if action else set())),
        action_labels=LEDGER_ACTION_LABELS,
        error=error,
        zone_name=tz.key,
    )
