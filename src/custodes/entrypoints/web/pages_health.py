"""The health page (/health) and the alarm list (/alarms): server-rendered, for the roles
that read the system's state (`retention-read`: duty operators, security managers,
auditors, administrators; not external officers). Acknowledging on the alarm list needs
`alarms-acknowledge`, and a note."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from custodes.clock import now_us
from custodes.domain.roles import Permission, allows
from custodes.entrypoints.web.deps import get_ctx
from custodes.entrypoints.web.pages import _render, _session, _to_login, forbidden_page
from custodes.services import alarms as alarm_service
from custodes.services.health import health
from custodes.services.status import system_status

router = APIRouter(include_in_schema=False)
READ = Permission.RETENTION_READ  # the permission both pages need
RECENT_DAYS = 7  # the alarm list shows what ended in this many days, beside what is open
_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")


def size(n: int | None) -> str:
    """Bytes in words (decimal units); total over any stored integer."""
    if n is None:
        return "—"
    sign, n = ("-" if n < 0 else ""), abs(n)
    k = min((len(str(n)) - 1) // 3, len(_UNITS) - 1)
    whole = n // 10 ** (3 * k)
    if whole >= 10**6:  # past what a float shows exactly: the integer as it is
        return f"{sign}{whole:,} {_UNITS[k]}"
    return f"{sign}{n / 10 ** (3 * k):,.1f} {_UNITS[k]}"


def number(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x:,.{digits}f}"


@router.get("/health")
def health_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    if not allows(session.role, READ):
        return forbidden_page(request, session)
    report = health(get_ctx(request))
    return _render(request, "health.html", session, report=report, size=size, number=number)


@router.get("/alarms")
def alarms_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    if not allows(session.role, READ):
        return forbidden_page(request, session)
    ctx = get_ctx(request)
    since = now_us() - RECENT_DAYS * 86_400 * 1_000_000
    stored = alarm_service.recent_alarms(ctx, since_us=since)
    seen_now = [a for a in system_status(ctx).alarms if a.id is None]  # a full disk
    return _render(
        request,
        "alarms.html",
        session,
        stored=stored,
        seen_now=seen_now,
        recent_days=RECENT_DAYS,
        note_max=alarm_service.NOTE_MAX,
    )
