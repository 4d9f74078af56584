"""Organisations, accounts and one's own credentials over HTTP.

/organisations and /accounts: the permission accounts-manage (system administrator); an
account's camera assignments: assign-cameras (security manager, system administrator), who may
also read the accounts to choose from. /me/…: any logged-in account, for itself; every
credential change asks for the password again.

A change that creates or empowers an account whose credentials lead towards footage (creating
an account of such a role, a role that gains such a permission, a password reset, enabling)
is not made but proposed: 202 with the pending change (and a generated password, shown this
once). It takes effect when a second person confirms it: POST /account-changes/{id}/confirm,
by a confirming role (system administrator, security manager) who is neither the proposer nor
the account changed (docs/DUTIES.md).

Errors: 404 an unknown id; 409 a conflict (a name taken, the last administrator, a change
decided or lapsed); 403 a rule about one's own account or about who confirms; 422 naming the
field at fault.
"""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal

import segno
from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from custodes.domain.access_rules import OrgKind
from custodes.domain.roles import Permission, Role
from custodes.entrypoints.web import wording
from custodes.entrypoints.web.deps import BodyId, CtxDep, PathId, SessionDep, field_error
from custodes.entrypoints.web.permissions import AccountsManager, CameraAssigner, need
from custodes.entrypoints.web.times import LangDep
from custodes.services import accounts as svc
from custodes.services import auth

router = APIRouter(tags=["accounts"])
AccountsReader = Annotated[
    auth.Session, Depends(need(Permission.ACCOUNTS_MANAGE, Permission.ASSIGN_CAMERAS))
]
ChangesReader = Annotated[
    auth.Session, Depends(need(Permission.ACCOUNTS_MANAGE, Permission.CHANGES_CONFIRM))
]
ChangeState = Literal["pending", "confirmed", "cancelled", "all"]
PasswordStr = Annotated[str, Field(min_length=1, max_length=svc.PASSWORD_MAX)]
NewPasswordStr = Annotated[str, Field(min_length=svc.PASSWORD_MIN, max_length=svc.PASSWORD_MAX)]


# Bodies ---------------------------------------------------------------------------------------


class OrganisationIn(BaseModel):
    name: str = Field(min_length=1, max_length=svc.ORG_NAME_MAX)
    kind: OrgKind


class OrganisationOut(BaseModel):
    id: int
    name: str
    kind: str
    operating_unit: bool
    created_us: int


class AccountIn(BaseModel):
    username: str = Field(min_length=1, max_length=svc.USERNAME_MAX)
    role: Role
    organisation_id: BodyId = svc.OPERATING_UNIT_ID
    display_name: str | None = Field(default=None, max_length=svc.NAME_MAX)
    work_id: str | None = Field(default=None, max_length=svc.WORK_ID_MAX)
    # None: one is generated and returned once
    password: str | None = Field(default=None, max_length=svc.PASSWORD_MAX)


class AccountPatch(BaseModel):
    role: Role | None = None
    display_name: str | None = Field(default=None, max_length=svc.NAME_MAX)
    work_id: str | None = Field(default=None, max_length=svc.WORK_ID_MAX)


class AccountOut(BaseModel):
    id: int
    username: str
    role: str
    organisation_id: int
    organisation: str
    display_name: str | None
    work_id: str | None
    totp: bool
    disabled_us: int | None
    locked_until_us: int | None
    created_us: int
    cameras: list[int]
    credential_by: str | None = None  # who made it or last reset its password
    one_time_password: bool = False  # a new password is chosen at the next log-in


class PendingChangeOut(BaseModel):
    id: int
    kind: str
    account_id: int | None
    username: str
    details: dict[str, Any]
    proposed_by: str
    proposed_us: int
    expires_us: int
    state: str
    decided_by: str | None
    decided_us: int | None


class Proposed(BaseModel):
    """A change proposed, not made: it waits for a second person's confirmation."""

    pending: PendingChangeOut
    password: str | None = None  # generated: shown this once


PENDING: dict[int | str, dict[str, Any]] = {
    202: {"model": Proposed, "description": "proposed: waits for a second person to confirm"}
}


class AccountCreated(AccountOut):
    password: str | None  # the generated password, shown this once; None when one was given


class PasswordReset(BaseModel):
    password: str | None = Field(default=None, max_length=svc.PASSWORD_MAX)


class NewPasswordOut(BaseModel):
    password: str | None  # generated: shown this once


class CameraList(BaseModel):
    cameras: list[BodyId] = Field(max_length=10_000)


class OwnPassword(BaseModel):
    old_password: PasswordStr
    new_password: NewPasswordStr


class Reauthentication(BaseModel):
    password: PasswordStr


class TotpBegun(BaseModel):
    secret: str  # shown this once
    uri: str  # otpauth://, for a QR code
    qr_svg: str  # the URI as a QR code: an SVG document (made here, no script, no link)
    enrolment: str  # give back to /me/totp/confirm with the first code
    expires_us: int


class TotpConfirmation(BaseModel):
    enrolment: str = Field(min_length=1, max_length=4096)
    code: str = Field(pattern=r"^[0-9]{6}$")


# Mapping --------------------------------------------------------------------------------------


def _org(o: svc.Organisation) -> OrganisationOut:
    return OrganisationOut(
        id=o.id, name=o.name, kind=o.kind, operating_unit=o.operating_unit, created_us=o.created_us
    )


def _account(a: svc.AccountView) -> AccountOut:
    return AccountOut(**{**a.__dict__, "cameras": list(a.cameras)})


def _pending(c: svc.PendingChange) -> PendingChangeOut:
    return PendingChangeOut(**c.__dict__)


def _proposed(p: svc.AwaitingConfirmation) -> JSONResponse:
    body = Proposed(pending=_pending(p.change), password=p.password)
    return JSONResponse(body.model_dump(), status_code=status.HTTP_202_ACCEPTED)


def _http(exc: svc.AccountError, lang: str | None = None) -> HTTPException:
    """The refusal as an answer; given `lang`, its words in that language (wording.py)."""
    if isinstance(exc, svc.Invalid):
        return field_error("body", exc.field, exc.message.removeprefix(f"{exc.field}: "))
    message = exc.message if lang is None else wording.say(exc.msgid, exc.params, lang)
    if isinstance(exc, svc.NotFound):
        return HTTPException(status.HTTP_404_NOT_FOUND, message)
    if isinstance(exc, svc.Conflict):
        return HTTPException(status.HTTP_409_CONFLICT, message)
    return HTTPException(status.HTTP_403_FORBIDDEN, message)


def wait(exc: auth.Throttled | auth.Busy) -> HTTPException:
    """429 (password checks under this name wait) or 503 (every hashing slot busy), each with
    Retry-After."""
    if isinstance(exc, auth.Throttled):
        return HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many wrong passwords: wait before trying again",
            headers={"Retry-After": str(exc.retry_after_s)},
        )
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        str(exc),
        headers={"Retry-After": str(exc.retry_after_s)},
    )


def _known(ctx: CtxDep, account_id: int) -> None:
    try:
        svc.get_account(ctx, account_id)
    except svc.NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no account {account_id}") from None


# Organisations --------------------------------------------------------------------------------


@router.get("/organisations", response_model=list[OrganisationOut])
def list_organisations(_: AccountsManager, ctx: CtxDep) -> list[OrganisationOut]:
    return [_org(o) for o in svc.list_organisations(ctx)]


@router.post("/organisations", response_model=OrganisationOut, status_code=201)
def add_organisation(
    body: OrganisationIn, session: AccountsManager, ctx: CtxDep, lang: LangDep
) -> OrganisationOut:
    try:
        return _org(svc.add_organisation(ctx, body.name, body.kind, actor=svc.Actor.of(session)))
    except svc.AccountError as exc:
        raise _http(exc, lang) from None


# Accounts -------------------------------------------------------------------------------------


@router.get("/accounts", response_model=list[AccountOut])
def list_accounts(_: AccountsReader, ctx: CtxDep) -> list[AccountOut]:
    return [_account(a) for a in svc.list_accounts(ctx)]


@router.post("/accounts", response_model=AccountCreated, status_code=201, responses=PENDING)
def create_account(
    body: AccountIn, session: AccountsManager, ctx: CtxDep, lang: LangDep
) -> AccountCreated | JSONResponse:
    generated = None if body.password is not None else svc.generate_password(body.username)
    try:
        view = svc.create_account(
            ctx,
            username=body.username,
            role=body.role,
            password=body.password if body.password is not None else str(generated),
            organisation_id=body.organisation_id,
            display_name=body.display_name,
            work_id=body.work_id,
            actor=svc.Actor.of(session),
            generated=generated is not None,
        )
    except svc.AwaitingConfirmation as p:
        return _proposed(p)
    except svc.NotFound as exc:  # the organisation named in the body
        raise field_error("body", "organisation_id", exc.message) from None
    except svc.AccountError as exc:
        raise _http(exc, lang) from None
    return AccountCreated(**_account(view).model_dump(), password=generated)


@router.get("/accounts/{account_id}", response_model=AccountOut)
def get_account(account_id: PathId, _: AccountsReader, ctx: CtxDep, lang: LangDep) -> AccountOut:
    try:
        return _account(svc.get_account(ctx, account_id))
    except svc.AccountError as exc:
        raise _http(exc, lang) from None


@router.patch("/accounts/{account_id}", response_model=AccountOut, responses=PENDING)
def update_account(
    account_id: PathId, body: AccountPatch, session: AccountsManager, ctx: CtxDep, lang: LangDep
) -> AccountOut | JSONResponse:
    changes = body.model_dump(exclude_unset=True)
    if "role" in changes and changes["role"] is None:
        raise field_error("body", "role", "must not be null")
    try:
        return _account(svc.update_account(ctx, account_id, changes, actor=svc.Actor.of(session)))
    except svc.AwaitingConfirmation as p:
        return _proposed(p)
    except svc.AccountError as exc:
        raise _http(exc, lang) from None


@router.post("/accounts/{account_id}/disable", response_model=AccountOut)
def disable_account(
    account_id: PathId, session: AccountsManager, ctx: CtxDep, lang: LangDep
) -> AccountOut:
    try:
        return _account(svc.disable_account(ctx, account_id, actor=svc.Actor.of(session)))
    except svc.AccountError as exc:
        raise _http(exc, lang) from None


@router.post("/accounts/{account_id}/enable", response_model=AccountOut, responses=PENDING)
def enable_account(
    account_id: PathId, session: AccountsManager, ctx: CtxDep, lang: LangDep
) -> AccountOut | JSONResponse:
    try:
        return _account(svc.enable_account(ctx, account_id, actor=svc.Actor.of(session)))
    except svc.AwaitingConfirmation as p:
        return _proposed(p)
    except svc.AccountError as exc:
        raise _http(exc, lang) from None


@router.post(
    "/accounts/{account_id}/reset-password", response_model=NewPasswordOut, responses=PENDING
)
def reset_password(
    account_id: PathId,
    session: AccountsManager,
    ctx: CtxDep,
    lang: LangDep,
    body: PasswordReset | None = None,
) -> NewPasswordOut | JSONResponse:
    given = body.password if body is not None else None
    try:
        password = svc.reset_password(ctx, account_id, given, actor=svc.Actor.of(session))
    except svc.AwaitingConfirmation as p:
        return _proposed(p)
    except svc.AccountError as exc:
        raise _http(exc, lang) from None
    return NewPasswordOut(password=None if given is not None else password)


@router.get("/accounts/{account_id}/cameras", response_model=CameraList)
def get_cameras(account_id: PathId, _: CameraAssigner, ctx: CtxDep) -> CameraList:
    _known(ctx, account_id)
    return CameraList(cameras=sorted(svc.assigned_cameras(ctx, account_id)))


@router.put("/accounts/{account_id}/cameras", response_model=CameraList)
def set_cameras(
    account_id: PathId, body: CameraList, session: CameraAssigner, ctx: CtxDep, lang: LangDep
) -> CameraList:
    try:
        view = svc.set_cameras(ctx, account_id, body.cameras, actor=svc.Actor.of(session))
    except svc.AccountError as exc:
        raise _http(exc, lang) from None
    return CameraList(cameras=list(view.cameras))


# Changes waiting for a second person ----------------------------------------------------------


@router.get("/account-changes", response_model=list[PendingChangeOut])
def list_changes(
    _: ChangesReader, ctx: CtxDep, state: ChangeState = "pending"
) -> list[PendingChangeOut]:
    return [_pending(c) for c in svc.list_changes(ctx, state=None if state == "all" else state)]


@router.post("/account-changes/{change_id}/confirm", response_model=AccountOut)
def confirm_change(
    change_id: PathId, session: ChangesReader, ctx: CtxDep, lang: LangDep
) -> AccountOut:
    """A second person confirms a proposed change: it takes effect now. A refusal says why
    in the request's language."""
    try:
        return _account(svc.confirm(ctx, change_id, actor=svc.Actor.of(session)))
    except svc.AccountError as exc:
        raise _http(exc, lang) from None


@router.post("/account-changes/{change_id}/cancel", response_model=PendingChangeOut)
def cancel_change(
    change_id: PathId, session: ChangesReader, ctx: CtxDep, lang: LangDep
) -> PendingChangeOut:
    """The proposer withdraws it, or a confirming account turns it down."""
    try:
        return _pending(svc.cancel(ctx, change_id, actor=svc.Actor.of(session), role=session.role))
    except svc.AccountError as exc:
        raise _http(exc, lang) from None


# One's own credentials ------------------------------------------------------------------------


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT)
def change_own_password(body: OwnPassword, session: SessionDep, ctx: CtxDep, lang: LangDep) -> None:
    """Change one's password (the old one is needed); one's other sessions end."""
    try:
        svc.change_own_password(ctx, session, body.old_password, body.new_password)
    except svc.AccountError as exc:
        raise _http(exc, lang) from None


@router.post("/me/totp", response_model=TotpBegun)
def begin_totp(
    body: Reauthentication, session: SessionDep, ctx: CtxDep, lang: LangDep
) -> TotpBegun:
    """A new TOTP secret, shown once; it takes effect when confirmed with a first code."""
    try:
        e = svc.begin_totp(ctx, session, body.password)
    except svc.AccountError as exc:
        raise _http(exc, lang) from None
    return TotpBegun(
        secret=e.secret,
        uri=e.uri,
        qr_svg=qr_svg(e.uri),
        enrolment=e.enrolment,
        expires_us=e.expires_us,
    )


def qr_svg(text: str) -> str:
    """`text` as a QR code, an SVG document without an XML declaration, for /me to show:
    an authenticator app scans it instead of the key being typed. Dark on a light quiet zone
    (scanners want it so, whatever the page's colours); error correction M (15 %)."""
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(
        out,
        kind="svg",
        xmldecl=False,
        svgns=True,
        nl=False,
        scale=5,
        border=4,
        dark="#000",
        light="#fff",
        svgclass="qr",
        lineclass=None,
    )
    return out.getvalue().decode("utf-8")


@router.post("/me/totp/confirm", response_model=AccountOut)
def confirm_totp(
    body: TotpConfirmation, session: SessionDep, ctx: CtxDep, lang: LangDep
) -> AccountOut:
    try:
        return _account(svc.confirm_totp(ctx, session, body.enrolment, body.code))
    except svc.AccountError as exc:
        raise _http(exc, lang) from None


@router.delete("/me/totp", response_model=AccountOut)
def remove_totp(
    body: Reauthentication, session: SessionDep, ctx: CtxDep, lang: LangDep
) -> AccountOut:
    try:
        return _account(
            svc.remove_totp(
                ctx, session.account_id, actor=svc.Actor.of(session), password=body.password
            )
        )
    except svc.AccountError as exc:
        raise _http(exc, lang) from None
