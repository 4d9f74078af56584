"""Access requests, approval documents, decisions and grants over HTTP.

POST /documents (multipart) · GET /documents/{id}
POST /requests · GET /requests · GET /requests/{id}
POST /requests/{id}/sign|submit|withdraw|approve|reject
GET /grants (mine) · POST /grants/{id}/revoke

A refusal by the rules is a 422 whose detail lists each missing item with its article, in
the shape of FastAPI's own validation errors (loc, msg, type) plus "article"; the reason
("msg", and a request's "refusals") is in the request's language (wording.py), the article a
citation, as the rules give it, and "citation" the same article as a page in the request's
language cites it (a draft's marked as one in either language).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, File, HTTPException, Query, UploadFile, status
from fastapi.responses import FileResponse
from pydantic import AwareDatetime, BaseModel, Field

from custodes.adapters.db.limits import is_id
from custodes.clock import iso
from custodes.domain.access_rules import Action, Basis
from custodes.domain.roles import Permission, allows
from custodes.entrypoints.web import wording
from custodes.entrypoints.web.deps import (
    ID_MAX,
    BodyId,
    CtxDep,
    PathId,
    SessionDep,
    field_error,
)
from custodes.entrypoints.web.times import LangDep, window
from custodes.services import access, auth, documents, grants
from custodes.services import cameras as camera_service

router = APIRouter(tags=["access"])
T = TypeVar("T")
STATES = ("draft", "submitted", "approved", "rejected", "withdrawn")


def actor_of(session: auth.Session) -> access.Actor:
    return access.Actor(session.account_id, session.username, session.role, session.organisation_id)


@contextmanager
def _errors(lang: str) -> Iterator[None]:
    """The service's exceptions as HTTP answers; the rules' reasons in `lang`."""
    try:
        yield
    except access.Refused as exc:
        detail: list[dict[str, Any]] = [
            {
                "loc": ["body", r.item],
                "msg": wording.refusal(r, lang),
                "type": "refused",
                "article": r.article,
                "citation": wording.article(r.article, lang),
            }
            for r in exc.items
        ]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from None
    except access.AccessError as exc:
        raise field_error("body", exc.field, exc.message) from None
    except access.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except access.NotAllowed as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None


def _run(lang: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    with _errors(lang):
        return fn(*args, **kwargs)


# --- documents ---------------------------------------------------------------------------


class DocumentOut(BaseModel):
    id: int
    sha256: str
    filename: str = Field(description="the uploader's file name, as a record; never served")
    media_type: str
    bytes: int


def _document_out(doc: documents.Document) -> DocumentOut:
    return DocumentOut(
        id=doc.id,
        sha256=doc.sha256,
        filename=doc.filename,
        media_type=doc.media_type,
        bytes=doc.bytes,
    )


@router.post("/documents", status_code=status.HTTP_201_CREATED, response_model=DocumentOut)
async def upload_document(
    session: SessionDep,
    ctx: CtxDep,
    lang: LangDep,
    file: Annotated[UploadFile, File(description="The approval document: PDF, PNG or JPEG.")],
) -> DocumentOut:
    """Keep an approval document; its type is read from its bytes (PDF, PNG or JPEG, else
    422), its name is only recorded."""
    data = await file.read(documents.MAX_BYTES + 1)
    doc = _run(lang, documents.upload, ctx, actor_of(session), file.filename or "document", data)
    return _document_out(doc)


@router.get(
    "/documents/{document_id}",
    response_class=FileResponse,
    responses={
        200: {
            "content": {"application/pdf": {}, "image/png": {}, "image/jpeg": {}},
            "description": "as an attachment named document-<id>.<the type in its bytes>",
        }
    },
)
def get_document(
    document_id: PathId, session: SessionDep, ctx: CtxDep, lang: LangDep
) -> FileResponse:
    """The document's bytes, as a download: its Content-Type and name are the type found in
    the bytes (never the uploader's name), the browser told not to guess another
    (nosniff) and not to run anything in it (a sandbox)."""
    read_all = allows(session.role, Permission.REQUESTS_READ_ALL)
    doc = _run(lang, documents.get, ctx, actor_of(session), document_id, read_all=read_all)
    return FileResponse(
        doc.path,
        media_type=doc.media_type,
        filename=doc.download_name,
        content_disposition_type="attachment",
        headers={
            "X-Content-SHA256": doc.sha256,
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
        },
    )


# --- requests ----------------------------------------------------------------------------


class RequestIn(BaseModel):
    camera_ids: list[BodyId] = Field(min_length=1, max_length=access.MAX_CAMERAS)
    # with its zone: a time typed without one is ambiguous for a register (8 h apart in China)
    start: AwareDatetime = Field(description="ISO 8601 with a zone, e.g. +08:00")
    end: AwareDatetime = Field(description="ISO 8601 with a zone; not after now")
    action: Action
    basis: Basis
    purpose: str = Field(min_length=1, max_length=2000)
    destination: str = Field(default="", max_length=500)
    destination_abroad: bool = False
    document_id: BodyId | None = None
    psb_approval_ref: str | None = Field(default=None, max_length=128)
    judicial_approval_ref: str | None = Field(default=None, max_length=128)


class Created(BaseModel):
    id: int


class StaffOut(BaseModel):
    username: str
    display_name: str | None
    work_id: str
    signed: str


class GrantOut(BaseModel):
    id: int
    request_id: int
    action: str
    start: str
    end: str
    start_us: int
    end_us: int
    camera_ids: list[int]
    granted_by: str
    granted: str
    expires: str
    expires_us: int
    revoked: str | None
    revoke_reason: str | None
    live: bool


class RefusalOut(BaseModel):
    item: str
    reason: str
    article: str


class RequestOut(BaseModel):
    id: int
    state: str
    organisation: str
    organisation_kind: str
    created_by: str
    created: str
    jurisdiction: str
    action: str
    basis: str
    purpose: str
    destination: str
    destination_abroad: bool
    start: str
    end: str
    start_us: int
    end_us: int
    camera_ids: list[int]
    staff: list[StaffOut]
    document: DocumentOut | None
    psb_approval_ref: str | None
    judicial_approval_ref: str | None
    manager_consent: bool
    decided_by: str | None
    decided: str | None
    decision_note: str | None
    grant: GrantOut | None
    refusals: list[RefusalOut]


def grant_out(g: access.GrantView, now_us: int) -> GrantOut:
    return GrantOut(
        id=g.id,
        request_id=g.request_id,
        action=g.action,
        start=iso(g.start_us),
        end=iso(g.end_us),
        start_us=g.start_us,
        end_us=g.end_us,
        camera_ids=list(g.camera_ids),
        granted_by=g.granted_by,
        granted=iso(g.granted_us),
        expires=iso(g.expires_us),
        expires_us=g.expires_us,
        revoked=iso(g.revoked_us) if g.revoked_us is not None else None,
        revoke_reason=g.revoke_reason,
        live=g.live(now_us),
    )


def _out(r: access.RequestView, now_us: int, lang: str) -> RequestOut:
    return RequestOut(
        id=r.id,
        state=r.state,
        organisation=r.organisation,
        organisation_kind=r.organisation_kind,
        created_by=r.created_by,
        created=iso(r.created_us),
        jurisdiction=r.jurisdiction,
        action=r.action,
        basis=r.basis,
        purpose=r.purpose,
        destination=r.destination,
        destination_abroad=r.destination_abroad,
        start=iso(r.start_us),
        end=iso(r.end_us),
        start_us=r.start_us,
        end_us=r.end_us,
        camera_ids=list(r.camera_ids),
        staff=[
            StaffOut(
                username=s.username,
                display_name=s.display_name,
                work_id=s.work_id,
                signed=iso(s.signed_us),
            )
            for s in r.staff
        ],
        document=DocumentOut(**r.document) if r.document else None,
        psb_approval_ref=r.psb_approval_ref,
        judicial_approval_ref=r.judicial_approval_ref,
        manager_consent=r.manager_consent,
        decided_by=r.decided_by,
        decided=iso(r.decided_us) if r.decided_us is not None else None,
        decision_note=r.decision_note,
        grant=grant_out(r.grant, now_us) if r.grant else None,
        refusals=[
            RefusalOut(item=f.item, reason=wording.refusal(f, lang), article=f.article)
            for f in r.refusals
        ],
    )


@router.post("/requests", status_code=status.HTTP_201_CREATED, response_model=Created)
def create_request(body: RequestIn, session: SessionDep, ctx: CtxDep, lang: LangDep) -> Created:
    start_us, end_us = window(
        body.start, body.end, location="body", names=("start", "end"), lang=lang
    )
    new = access.NewRequest(
        camera_ids=tuple(body.camera_ids),
        start_us=start_us,
        end_us=end_us,
        action=body.action,
        basis=body.basis,
        purpose=body.purpose,
        destination=body.destination,
        destination_abroad=body.destination_abroad,
        document_id=body.document_id,
        psb_approval_ref=body.psb_approval_ref,
        judicial_approval_ref=body.judicial_approval_ref,
    )
    return Created(id=_run(lang, access.create_request, ctx, actor_of(session), new))


@router.get("/requests", response_model=list[RequestOut])
def list_requests(
    session: SessionDep,
    ctx: CtxDep,
    lang: LangDep,
    state: Annotated[str | None, Query(pattern="^(" + "|".join(STATES) + ")$")] = None,
    awaiting: Annotated[
        str | None,
        Query(
            pattern="^(" + "|".join(access.AWAITING) + ")$",
            description="only the requests waiting for the session's signature (sign) or "
            "for its decision (decide)",
        ),
    ] = None,
) -> list[RequestOut]:
    now = ctx.clock()
    rows = access.list_requests(ctx, actor_of(session), state=state, awaiting=awaiting)
    return [_out(r, now, lang) for r in rows]


@router.get("/requests/{request_id}", response_model=RequestOut)
def get_request(request_id: PathId, session: SessionDep, ctx: CtxDep, lang: LangDep) -> RequestOut:
    view = _run(lang, access.get_request, ctx, actor_of(session), request_id)
    return _out(view, ctx.clock(), lang)


class SignIn(BaseModel):
    work_id: str = Field(min_length=1, max_length=64)


class DecisionIn(BaseModel):
    note: str = Field(default="", max_length=2000)
    validity_days: int = Field(default=7, ge=1, le=90)
    # the approver's own consent as the unit's manager (Shenzhen Art. 33, 35)
    manager_consent: bool = False


class RejectIn(BaseModel):
    note: str = Field(min_length=1, max_length=2000)


class RevokeIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/requests/{request_id}/sign", status_code=status.HTTP_204_NO_CONTENT)
def sign(request_id: PathId, body: SignIn, session: SessionDep, ctx: CtxDep, lang: LangDep) -> None:
    _run(lang, access.sign, ctx, actor_of(session), request_id, body.work_id)


@router.post("/requests/{request_id}/submit", status_code=status.HTTP_204_NO_CONTENT)
def submit(request_id: PathId, session: SessionDep, ctx: CtxDep, lang: LangDep) -> None:
    _run(lang, access.submit, ctx, actor_of(session), request_id)


@router.post("/requests/{request_id}/withdraw", status_code=status.HTTP_204_NO_CONTENT)
def withdraw(request_id: PathId, session: SessionDep, ctx: CtxDep, lang: LangDep) -> None:
    _run(lang, access.withdraw, ctx, actor_of(session), request_id)


@router.post("/requests/{request_id}/approve", response_model=GrantOut)
def approve(
    request_id: PathId, body: DecisionIn, session: SessionDep, ctx: CtxDep, lang: LangDep
) -> GrantOut:
    actor = actor_of(session)
    _run(
        lang,
        access.approve,
        ctx,
        actor,
        request_id,
        note=body.note,
        validity_us=body.validity_days * 86_400_000_000,
        manager_consent=body.manager_consent,
    )
    view = _run(lang, access.get_request, ctx, actor, request_id)
    assert view.grant is not None
    return grant_out(view.grant, ctx.clock())


@router.post("/requests/{request_id}/reject", status_code=status.HTTP_204_NO_CONTENT)
def reject(
    request_id: PathId, body: RejectIn, session: SessionDep, ctx: CtxDep, lang: LangDep
) -> None:
    _run(lang, access.reject, ctx, actor_of(session), request_id, note=body.note)


# --- grants ------------------------------------------------------------------------------


@router.get("/grants", response_model=list[GrantOut])
def my_grants(session: SessionDep, ctx: CtxDep) -> list[GrantOut]:
    """The grants the session's account holds, newest first."""
    now = ctx.clock()
    return [grant_out(g, now) for g in access.my_grants(ctx, actor_of(session))]


class CoverOut(BaseModel):
    grant_id: int
    action: str
    expires: str


@router.get("/grants/check", response_model=CoverOut)
def check_grant(
    session: SessionDep,
    ctx: CtxDep,
    lang: LangDep,
    camera_id: Annotated[int, Query(ge=1, le=ID_MAX)],
    start: Annotated[datetime, Query(description="ISO 8601; UTC if no zone")],
    end: Annotated[datetime, Query(description="ISO 8601; UTC if no zone")],
    need: Action = Action.VIEW,
) -> CoverOut:
    """Which of my grants allows `need` of the camera over [start, end); 403 with the reason
    (recorded in the ledger) when none does; 404 for a camera that does not exist."""
    a, b = window(start, end, location="query", names=("start", "end"), lang=lang)
    try:
        if not is_id(camera_id):
            raise camera_service.CameraNotFound(camera_id)
        camera_service.find_camera(ctx, str(camera_id))
    except camera_service.CameraNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no camera {camera_id}") from None
    try:
        g = grants.require(
            ctx,
            account_id=session.account_id,
            username=session.username,
            camera_id=camera_id,
            start_us=a,
            end_us=b,
            need=need,
        )
    except grants.NoGrant:
        raise  # a 403 in the user's words, its times in the site's zone (app.py)
    return CoverOut(grant_id=g.id, action=g.action.value, expires=iso(g.expires_us))


@router.post("/grants/{grant_id}/revoke", status_code=status.HTTP_204_NO_CONTENT)
def revoke(
    grant_id: PathId, body: RevokeIn, session: SessionDep, ctx: CtxDep, lang: LangDep
) -> None:
    _run(lang, access.revoke, ctx, actor_of(session), grant_id, reason=body.reason)
