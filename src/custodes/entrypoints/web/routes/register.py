"""The access register (调取登记) over HTTP: GET /register (JSON), /register.csv, /register.pdf.

Who reads it: roles holding REGISTER_READ (security manager, auditor) see every row; an
external officer sees only the rows of its own organisation's requests and its own accounts'
refused attempts (the register of its own accesses, which its officers signed); every other
role gets 403. Reading the JSON is not recorded; every CSV or PDF export is a ledger entry
(ledger-exported, details {"register": true, format, filters, up_to_seq, rows, seq range})
made before the file is written, and the PDF prints that entry's seq and hash in its footer.
An export holds the rows among the entries up to the head when it began (up_to_seq), so what
the entry says is what the file holds; the CSV is streamed, never held whole in memory.

Filters: from/to (ledger time, [from, to)), camera_id, organisation_id, account (username),
kind (repeatable: a ledger action of services/register.KINDS, or "access" / "refusals").

Every answer is total over what the ledger holds: a time no calendar holds is null in its
text field (the _us field keeps the number), so no stored entry can make the register fail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from custodes.clock import iso
from custodes.domain.roles import Permission, Role, allows
from custodes.entrypoints import register_files as register_pdf
from custodes.entrypoints.web import times
from custodes.entrypoints.web.deps import (
    ID_MAX,
    CtxDep,
    QueryId,
    SessionDep,
    field_error,
    request_language,
)
from custodes.entrypoints.web.permissions import forbidden
from custodes.services import auth, ledger, register
from custodes.services.context import Context
from custodes.services.settings import site_timezone

router = APIRouter(tags=["register"])
when = register.iso_or_none
MAX_CSV_ROWS = 100_000
MAX_PDF_ROWS = 5_000


class PersonOut(BaseModel):
    username: str
    name: str | None
    work_id: str | None


class CameraOut(BaseModel):
    id: int
    name: str | None


class DocumentOut(BaseModel):
    filename: str
    sha256: str


class GrantOut(BaseModel):
    id: int
    action: str
    start: str | None  # None: a stored time no calendar holds (also below)
    end: str | None
    expires: str | None
    expires_us: int
    revoked: str | None


class RegisterRowOut(BaseModel):
    seq: int
    time: str | None
    time_us: int
    kind: str
    actor: str
    acted_by: PersonOut | None
    recorded_by: PersonOut | None  # 录制人: who recorded or copied the footage
    approved_by: PersonOut | None  # 审批人: the manager who decided or granted
    retrieved_by: list[PersonOut]
    organisation_id: int | None
    organisation: str | None
    organisation_kind: str | None
    cameras: list[CameraOut]
    footage_start: str | None
    footage_end: str | None
    footage_start_us: int | None
    footage_end_us: int | None
    purpose: str | None
    basis: str | None
    destination: str | None
    destination_abroad: bool
    document: DocumentOut | None
    psb_approval_ref: str | None
    judicial_approval_ref: str | None
    grant: GrantOut | None
    request_id: int | None
    export_id: str | None
    note: str | None
    hash: str


def _person(p: register.Person | None) -> PersonOut | None:
    return None if p is None else PersonOut(username=p.username, name=p.name, work_id=p.work_id)


def _out(r: register.RegisterRow) -> RegisterRowOut:
    g = r.grant
    return RegisterRowOut(
        seq=r.seq,
        time=when(r.time_us),
        time_us=r.time_us,
        kind=r.kind,
        actor=r.actor,
        acted_by=_person(r.acted_by),
        recorded_by=_person(r.recorded_by),
        approved_by=_person(r.approved_by),
        retrieved_by=[
            PersonOut(username=p.username, name=p.name, work_id=p.work_id) for p in r.retrieved_by
        ],
        organisation_id=r.organisation_id,
        organisation=r.organisation,
        organisation_kind=r.organisation_kind,
        cameras=[CameraOut(id=c.id, name=c.name) for c in r.cameras],
        footage_start=when(r.footage_start_us),
        footage_end=when(r.footage_end_us),
        footage_start_us=r.footage_start_us,
        footage_end_us=r.footage_end_us,
        purpose=r.purpose,
        basis=r.basis,
        destination=r.destination,
        destination_abroad=r.destination_abroad,
        document=None
        if r.document is None
        else DocumentOut(filename=r.document.filename, sha256=r.document.sha256),
        psb_approval_ref=r.psb_approval_ref,
        judicial_approval_ref=r.judicial_approval_ref,
        grant=None
        if g is None
        else GrantOut(
            id=g.id,
            action=g.action,
            start=when(g.start_us),
            end=when(g.end_us),
            expires=when(g.expires_us),
            expires_us=g.expires_us,
            revoked=when(g.revoked_us),
        ),
        request_id=r.request_id,
        export_id=r.export_id,
        note=r.note,
        hash=r.hash,
    )


def _scope(session: auth.Session, organisation_id: int | None) -> int | None:
    """The organisation the session may read: any (the one asked for, or all) with
    REGISTER_READ; an external officer only its own; 403 otherwise."""
    if allows(session.role, Permission.REGISTER_READ):
        return organisation_id
    if session.role == Role.EXTERNAL_OFFICER:
        if organisation_id is not None and organisation_id != session.organisation_id:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "you may read your own organisation's rows only"
            )
        return session.organisation_id
    raise forbidden(session, Permission.REGISTER_READ)


FromQ = Annotated[
    datetime | None, Query(alias="from", description="ledger time, ISO 8601; UTC if no zone")
]
ToQ = Annotated[datetime | None, Query(alias="to", description="exclusive; UTC if no zone")]
KindQ = Annotated[
    list[str] | None,
    Query(description="repeatable: " + ", ".join((*register.GROUPS, *register.KINDS))),
]


def _filters(
    request: Request,
    session: auth.Session,
    start: datetime | None,
    end: datetime | None,
    camera_id: int | None,
    organisation_id: int | None,
    account: str | None,
    kind: list[str] | None,
) -> register.Filters:
    scope = _scope(session, organisation_id)
    lang = request_language(request)
    # one range for every time from outside (domain/instants.py): a 422 in the user's language
    start_us = (
        None if start is None else times.instant(start, location="query", name="from", lang=lang)
    )
    end_us = None if end is None else times.instant(end, location="query", name="to", lang=lang)
    try:
        return register.make_filters(
            start_us=start_us,
            end_us=end_us,
            camera_id=camera_id,
            organisation_id=scope,
            account=account,
            kinds=kind,
        )
    except register.BadFilter as exc:
        raise field_error("query", exc.field, exc.message) from None


@router.get("/register", response_model=list[RegisterRowOut])
def read_register(
    request: Request,
    session: SessionDep,
    ctx: CtxDep,
    start: FromQ = None,
    end: ToQ = None,
    camera_id: QueryId = None,
    organisation_id: QueryId = None,
    account: Annotated[str | None, Query(max_length=64)] = None,
    kind: KindQ = None,
    limit: Annotated[int, Query(ge=1, le=register.MAX_LIMIT)] = 200,
    offset: Annotated[int, Query(ge=0, le=ID_MAX)] = 0,
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
) -> list[RegisterRowOut]:
    """One page of the register, in ledger order (order=desc: newest first)."""
    f = _filters(request, session, start, end, camera_id, organisation_id, account, kind)
    with ctx.engine.connect() as conn:
        found = register.page(conn, f, limit=limit, offset=offset, newest_first=order == "desc")
    return [_out(r) for r in found]


def _extent(ctx: Context, f: register.Filters, max_rows: int) -> register.Extent:
    try:
        return register.extent(ctx, f, max_rows=max_rows)
    except register.TooManyRows as exc:
        raise field_error("query", "from", str(exc)) from None


def _filename(ctx: Context, ext: str) -> str:
    return f"register-{iso(ctx.clock())[:19].replace(':', '').replace('-', '')}.{ext}"


@router.get(
    "/register.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 with BOM"}},
)
def register_csv(
    request: Request,
    session: SessionDep,
    ctx: CtxDep,
    start: FromQ = None,
    end: ToQ = None,
    camera_id: QueryId = None,
    organisation_id: QueryId = None,
    account: Annotated[str | None, Query(max_length=64)] = None,
    kind: KindQ = None,
) -> StreamingResponse:
    """Every matching row as CSV with bilingual headers (recorded in the ledger)."""
    f = _filters(request, session, start, end, camera_id, organisation_id, account, kind)
    extent = _extent(ctx, f, MAX_CSV_ROWS)
    register.record_export(
        ctx, actor=ledger.account_actor(session.username), fmt="csv", extent=extent
    )
    lines = register_pdf.csv_lines(register.stream(ctx, extent.filters), site_timezone(ctx))
    return StreamingResponse(
        (line.encode("utf-8") for line in lines),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_filename(ctx, "csv")}"'},
    )


@router.get(
    "/register.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "A4 landscape"}},
)
def register_pdf_file(
    request: Request,
    session: SessionDep,
    ctx: CtxDep,
    start: FromQ = None,
    end: ToQ = None,
    camera_id: QueryId = None,
    organisation_id: QueryId = None,
    account: Annotated[str | None, Query(max_length=64)] = None,
    kind: KindQ = None,
) -> Response:
    """The printable register (A4 landscape, bilingual), tied to the ledger by its footer."""
    f = _filters(request, session, start, end, camera_id, organisation_id, account, kind)
    extent = _extent(ctx, f, MAX_PDF_ROWS)
    try:
        register_pdf.font_file()
    except register_pdf.FontMissing as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    tz = site_timezone(ctx)
    record = register.record_export(
        ctx, actor=ledger.account_actor(session.username), fmt="pdf", extent=extent
    )
    found = list(register.stream(ctx, extent.filters))
    unit, article = register.unit_heading(ctx)
    body = register_pdf.to_pdf(
        register_pdf.Printout(
            unit=unit,
            article=article,
            filters=_describe(ctx, f, tz),
            printed_by=_printed_by(session),
            timezone=tz,
            rows=found,
            record=record,
            checkpoint=register.latest_checkpoint(ctx),
        )
    )
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{_filename(ctx, "pdf")}"'},
    )


def _printed_by(session: auth.Session) -> str:
    name = session.display_name
    return f"{name} ({session.username})" if name else session.username


def _describe(ctx: Context, f: register.Filters, tz_name: str) -> list[tuple[str, str]]:
    """The filters, as printed in the heading: (bilingual label, value)."""
    tz = register_pdf.zone(tz_name)
    out: list[tuple[str, str]] = []
    if f.start_us is not None or f.end_us is not None:
        a = register_pdf.local(f.start_us, tz) or "…"
        b = register_pdf.local(f.end_us, tz) or "…"
        out.append(("登记时间 Time", f"{a} – {b}"))
    if f.camera_id is not None:
        name = register.camera_name(ctx, f.camera_id)
        out.append(("摄像机 Camera", f"{f.camera_id} {name or ''}".strip()))
    if f.organisation_id is not None:
        name = register.organisation_name(ctx, f.organisation_id)
        out.append(("单位 Organisation", name or f"#{f.organisation_id}"))
    if f.account is not None:
        out.append(("账号 Account", f.account))
    if tuple(f.kinds) != register.KINDS:
        out.append(("类别 Events", ", ".join(register_pdf.kind_label(k) for k in f.kinds)))
    return out
