"""POST /auth/login, POST /auth/logout, GET /auth/me."""

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


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class Me(BaseModel):
    username: str
    role: str
    csrf_token: str
    expires_us: int


def _me(s: auth.Session) -> Me:
    return Me(username=s.username, role=s.role, csrf_token=s.csrf_token, expires_us=s.expires_us)


@router.post("/login", response_model=Me)
def login(body: Credentials, request: Request, response: Response, ctx: CtxDep) -> Me:
    session = auth.login(ctx, body.username, body.password)
    if session is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong user name or password")
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
