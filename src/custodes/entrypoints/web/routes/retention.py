"""Retention over HTTP: a camera's policy, deleting recordings (refused while retained or
held), and holds (placed by one account, released by two)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field

from custodes.domain.retention import when_text
from custodes.domain.roles import Permission
from custodes.entrypoints.web.deps import (
    BodyId,
    CtxDep,
    PathId,
    QueryId,
    field_error,
)
from custodes.entrypoints.web.permissions import HoldManager, RetentionReader, need
from custodes.entrypoints.web.times import LangDep, window
from custodes.services import auth, ledger, retention
from custodes.services import cameras as camera_service
from custodes.services.sweep import sweep

# Deleting expired footage ahead of the sweep: the unit's administrator or security manager.
Pruner = Annotated[
    auth.Session, Depends(need(Permission.CAMERAS_CONFIGURE, Permission.HOLDS_MANAGE))
]
router = APIRouter(tags=["retention"])


class PolicyOut(BaseModel):
    camera_id: int
    days: int
    reason: str
    article: str | None
    no_deletion_article: str


class DeletedOut(BaseModel):
    camera_id: int
    segments: int
    bytes: int


class HoldIn(BaseModel):
    camera_id: BodyId
    start: datetime
    end: datetime
    kind: str = Field(pattern="^(important|case)$")
    reason: str = Field(min_length=1, max_length=2000)
    reference: str | None = Field(default=None, max_length=128)


class HoldOut(BaseModel):
    id: int
    kind: str
    camera_id: int
    start: str
    end: str
    reason: str
    reference: str | None
    created_by: str
    until: str | None
    release_requested_by: str | None
    released_by: str | None
    request_id: int | None = None  # the access request an automatic "access" hold is for


class ReleaseOut(BaseModel):
    id: int
    outcome: str


def _camera(ctx: CtxDep, camera_id: int) -> None:
    try:
        camera_service.find_camera(ctx, str(camera_id))
    except camera_service.CameraNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no camera {camera_id}") from None


@router.get(
    "/cameras/{camera_id}/retention",
    response_model=PolicyOut,
    responses={503: {"description": "the installation's settings do not give its retention"}},
)
def policy(camera_id: PathId, _: RetentionReader, ctx: CtxDep) -> PolicyOut:
    """How long this camera's footage is kept, and why (a draft's articles say so)."""
    _camera(ctx, camera_id)
    with ctx.engine.connect() as conn:
        try:
            p = retention.policy_for(conn, camera_id)
        except retention.RetentionConfigError as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    return PolicyOut(
        camera_id=camera_id,
        days=p.days,
        reason=p.reason,
        article=p.article,
        no_deletion_article=p.no_deletion_article,
    )


@router.delete(
    "/cameras/{camera_id}/recordings",
    response_model=DeletedOut,
    responses={403: {"description": "retained or held: the reason and the article"}},
)
def delete_recordings(
    camera_id: PathId,
    session: Pruner,
    ctx: CtxDep,
    lang: LangDep,
    start: Annotated[datetime, Query(alias="from", description="ISO 8601; UTC if no zone")],
    end: Annotated[datetime, Query(alias="to", description="ISO 8601; UTC if no zone")],
) -> DeletedOut:
    """Delete recordings of a range — only when all of it is past retention and not held;
    otherwise 403 naming the reason and the article (and the refusal is in the ledger). Only
    the operating unit's administrator or security manager may ask."""
    a, b = window(start, end, location="query", names=("from", "to"), lang=lang)
    _camera(ctx, camera_id)
    actor = ledger.account_actor(session.username)
    try:
        retention.check_deletion(ctx, camera_id, a, b, actor=actor, via="api")
    except retention.RetentionRefused as exc:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            {"reason": exc.refusal.reason, "article": exc.refusal.article},
        ) from None
    report = sweep(ctx, actor=actor, camera_ids=[camera_id], within=(a, b))
    return DeletedOut(camera_id=camera_id, segments=report.segments, bytes=report.bytes)


def _hold_out(h: retention.HoldView) -> HoldOut:
    return HoldOut(
        id=h.id,
        kind=h.kind,
        camera_id=h.camera_id,
        start=when_text(h.start_us),
        end=when_text(h.end_us),
        reason=h.reason,
        reference=h.reference,
        created_by=h.created_by,
        until=None if h.until_us is None else when_text(h.until_us),  # "never": kept for good
        release_requested_by=h.release_requested_by,
        released_by=h.released_by,
        request_id=h.request_id,
    )


@router.get("/holds", response_model=list[HoldOut])
def holds(_: RetentionReader, ctx: CtxDep, camera_id: QueryId = None) -> list[HoldOut]:
    return [_hold_out(h) for h in retention.list_holds(ctx, camera_id)]


@router.post("/holds", response_model=HoldOut, status_code=201)
def place(body: HoldIn, session: HoldManager, ctx: CtxDep, lang: LangDep) -> HoldOut:
    """Keep a camera's footage of a time range past its retention (1970 to 2200, UTC)."""
    start_us, end_us = window(
        body.start, body.end, location="body", names=("start", "end"), lang=lang
    )
    _camera(ctx, body.camera_id)
    try:
        hold_id = retention.place_hold(
            ctx,
            camera_id=body.camera_id,
            start_us=start_us,
            end_us=end_us,
            kind=body.kind,
            reason=body.reason,
            reference=body.reference,
            actor=ledger.account_actor(session.username),
        )
    except retention.HoldError as exc:
        raise field_error("body", "end", str(exc)) from None
    (view,) = [h for h in retention.list_holds(ctx, body.camera_id) if h.id == hold_id]
    return _hold_out(view)


@router.post("/holds/{hold_id}/release", response_model=ReleaseOut)
def release(hold_id: PathId, session: HoldManager, ctx: CtxDep) -> ReleaseOut:
    """The first account asks for the release, a second, different account confirms it. An
    automatic access hold is refused (409): it ends with its request or grant."""
    try:
        outcome = retention.release_hold(ctx, hold_id, actor=ledger.account_actor(session.username))
    except retention.HoldError as exc:
        code = status.HTTP_404_NOT_FOUND if "no hold" in str(exc) else status.HTTP_409_CONFLICT
        raise HTTPException(code, str(exc)) from None
    return ReleaseOut(id=hold_id, outcome=outcome)
