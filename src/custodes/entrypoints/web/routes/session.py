"""POST /auth/login, POST /auth/logout, GET /auth/me.

Every refused log-in gets the same 401 with the same words — a wrong user name, password or
code, a locked account (even with the right password) and a disabled one alike. A 429 with
Retry-After for a locked account was considered and rejected: given only after the right
password, it would tell whoever guessed it that the guess was right (the lock would become a
password oracle); given before the check, it would tell anyone that the account exists and
is under attack. The lock is in the ledger (account-locked, and each refused attempt with
reason "locked"), where the administrators see it and can lift it early (enable or
reset-password); the owner is told of the lockout rule in the 401's words, not of the lock.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, Field

from custodes.entrypoints.web.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    CtxDep,
    SessionDep,
)
from custodes.services import auth

router = APIRouter(prefix="/auth", tags=["session"])
REFUSED = (
    "wrong user name, password or code (after "
    f"{auth.MAX_FAILED_LOGINS} failures in a row an account waits "
    f"{auth.LOCKOUT_US // 60_000_000} minutes)"
)


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    totp: str | None = Field(default=None, pattern=r"^[0-9]{6}$")  # when the account has TOTP


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


@router.post("/login", response_model=Me)
def login(body: Credentials, request: Request, response: Response, ctx: CtxDep) -> Me:
    session = auth.login(ctx, body.username, body.password, body.totp)
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
