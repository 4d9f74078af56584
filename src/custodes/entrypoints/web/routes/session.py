"""POST /auth/login, POST /auth/logout, GET /auth/me.

Every refused log-in gets the same 401 with the same words — a wrong user name, password or
code and a disabled account alike. Before any password is checked the attempt is counted
(services/throttle.py): from an address or under a name that must wait, the answer is 429
with Retry-After, given before the check, so it tells nothing about the password — only
that this address (or this name, for at most a minute) must wait. 503 with Retry-After: every
password-hashing slot is taken (services/passwords.py); try again.

A password someone else set works once: the right one answers 403 with the detail
`{"code": "password-change-required", …}` until the same log-in brings `new_password`, which
replaces it; the session then opens (docs/DUTIES.md).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, Field

from custodes.entrypoints.web.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    CtxDep,
    SessionDep,
    field_error,
)
from custodes.entrypoints.web.routes.accounts import wait
from custodes.services import auth, passwords

router = APIRouter(prefix="/auth", tags=["session"])
REFUSED = (
    "wrong user name, password or code (after "
    f"{auth.MAX_FAILED_LOGINS} failures in a row, log-ins from your address wait, "
    "longer after each further failure)"
)
CHANGE_REQUIRED = "password-change-required"
LOGIN_ANSWERS: dict[int | str, dict[str, Any]] = {
    401: {"description": "wrong user name, password or code, or a disabled account"},
    403: {"description": "a one-time password: log in again with new_password"},
    429: {"description": "too many failures from this address or for this name: Retry-After"},
    503: {"description": "every password-hashing slot is busy: Retry-After"},
}


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    totp: str | None = Field(default=None, pattern=r"^[0-9]{6}$")  # when the account has TOTP
    # replaces a one-time password (one someone else set) in the same log-in
    new_password: str | None = Field(
        default=None, min_length=passwords.PASSWORD_MIN, max_length=passwords.PASSWORD_MAX
    )


class Me(BaseModel):
    username: str
    role: str
    organisation_id: int
    display_name: str | None
    work_id: str | None
    csrf_token: str
    expires_us: int


def _me(s: auth.Session) -> Me:
    return Me(
        username=s.username,
        role=s.role,
        organisation_id=s.organisation_id,
        display_name=s.display_name,
        work_id=s.work_id,
        csrf_token=s.csrf_token,
        expires_us=s.expires_us,
    )


@router.post("/login", response_model=Me, responses=LOGIN_ANSWERS)
def login(body: Credentials, request: Request, response: Response, ctx: CtxDep) -> Me:
    source = request.client.host if request.client else auth.LOCAL
    try:
        session = auth.login(
            ctx,
            body.username,
            body.password,
            body.totp,
            source=source,
            new_password=body.new_password,
        )
    except (auth.Throttled, auth.Busy) as exc:
        raise wait(exc) from None
    except auth.PasswordChangeRequired as exc:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, {"code": CHANGE_REQUIRED, "message": str(exc)}
        ) from None
    except auth.NewPasswordRefused as exc:
        raise field_error("body", exc.field, exc.message) from None
    if session is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, REFUSED)
    secure = request.url.scheme == "https"
    max_age = auth.ABSOLUTE_TIMEOUT_US // 1_000_000
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        httponly=True,
        samesite="strict",
        secure=secure,
        max_age=max_age,
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE, session.csrf_token, samesite="strict", secure=secure, max_age=max_age
    )
    return _me(session)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(session: SessionDep, response: Response, ctx: CtxDep) -> None:
    auth.logout(ctx, session.token)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


@router.get("/me", response_model=Me)
def me(session: SessionDep) -> Me:
    return _me(session)
