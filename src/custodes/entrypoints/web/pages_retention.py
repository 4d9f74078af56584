"""The retention page (/retention): each camera's retention (the law's minimum, what is
configured, what is kept) and the holds — what is held, why, by whom and since when — with a
form to place one and buttons to release one (two people: services/retention.py
`release_hold`). Server-rendered for the roles that read retention; the form and the buttons
only for those that manage holds. They call the JSON API (routes/retention.py), whose
refusals come back in the user's language."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from custodes.domain.roles import Permission, allows
from custodes.entrypoints.web import wording
from custodes.entrypoints.web.deps import get_ctx, request_language
from custodes.entrypoints.web.labels import HOLD_KIND_LABELS, REASON_LABELS
from custodes.entrypoints.web.pages import _render, _session, _to_login, forbidden_page
from custodes.services import retention
from custodes.services.ledger import account_actor

router = APIRouter(include_in_schema=False)


DONE = {  # what the page says after a step (?done=…)
    "placed": "The hold is placed.",
    "requested": "The release is asked for: it takes effect when a second person confirms it.",
    "released": "The hold is released.",
}


@router.get("/retention")
def retention_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_login(request)
    if not allows(session.role, Permission.RETENTION_READ):
        return forbidden_page(request, session)
    ctx = get_ctx(request)
    lang = request_language(request)
    cameras = retention.camera_retentions(ctx)
    holds = sorted(
        retention.list_holds(ctx), key=lambda h: (h.released_by is not None, -h.id)
    )  # those in force first, the newest first
    return _render(
        request,
        "retention.html",
        session,
        cameras=cameras,
        names={c.camera_id: c.name for c in cameras},
        holds=holds,
        me=account_actor(session.username),
        manages=allows(session.role, Permission.HOLDS_MANAGE),
        kind_labels=HOLD_KIND_LABELS,
        reason_labels=REASON_LABELS,
        done=DONE.get(request.query_params.get("done", "")),
        who=lambda actor: named(actor, lang),
        cite=lambda article: wording.article(article, lang),
    )


def named(actor: str, lang: str) -> str:
    """Who placed or released a hold, in words: an account by its username, the system's own
    actors ("system:retention") as the system."""
    return wording.actor(wording.SYSTEM if actor.startswith("system:") else actor, lang)
