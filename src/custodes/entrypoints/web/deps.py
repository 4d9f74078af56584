"""Request dependencies: the application context, the session, CSRF protection."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Query, Request, status
from pydantic import Field
from starlette.requests import HTTPConnection

from custodes.adapters.db.limits import ID_MAX as ID_MAX  # re-exported for the routes
from custodes.entrypoints.web import i18n
from custodes.services import auth
from custodes.services.context import Context

SESSION_COOKIE = "custodes_session"
CSRF_COOKIE = "custodes_csrf"  # readable by the page's script, echoed in X-CSRF-Token
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def get_ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


CtxDep = Annotated[Context, Depends(get_ctx)]


SESSION_SCOPE_KEY = "custodes.session"  # the Session the transport guard found (hardening.py)
# msgids (locale/*.po)
LOG_IN_FIRST = "log in first"
BAD_CSRF = "missing or wrong X-CSRF-Token"


def check_session(
    ctx: Context, token: str | None, method: str, csrf: str | None, *, lang: str
) -> auth.Session:
    """The live session behind a cookie token, or the HTTPException that refuses the request:
    401 without one, 403 for an unsafe method without the session's CSRF token. The one rule,
    used by the transport guard before any body is read and by every route's dependency."""
    session = auth.resume(ctx, token) if token else None
    tr = i18n.translations(lang)
    if session is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, tr.gettext(LOG_IN_FIRST))
    if method in UNSAFE_METHODS and not auth.csrf_matches(session, csrf):
        raise HTTPException(status.HTTP_403_FORBIDDEN, tr.gettext(BAD_CSRF))
    return session


def request_language(request: HTTPConnection) -> str:
    """The request's language (a page, an API call, a WebSocket, the transport guard's own
    answers): the language switch's cookie, else Accept-Language. The one place it is chosen."""
    return i18n.choose(
        request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language")
    )


def current_session(request: Request, ctx: CtxDep) -> auth.Session:
    found = request.scope.get(SESSION_SCOPE_KEY)
    if isinstance(found, auth.Session):
        return found  # checked by the transport guard for this very request
    return check_session(
        ctx,
        request.cookies.get(SESSION_COOKIE),
        request.method,
        request.headers.get(CSRF_HEADER),
        lang=request_language(request),
    )


SessionDep = Annotated[auth.Session, Depends(current_session)]

# Ids are 32-bit integer columns: a larger number is refused as invalid input (422) before it
# reaches the database, where it would overflow (SQLite) or fail the cast (PostgreSQL).
PathId = Annotated[int, Path(ge=1, le=ID_MAX)]
QueryId = Annotated[int | None, Query(ge=1, le=ID_MAX)]
BodyId = Annotated[int, Field(ge=1, le=ID_MAX)]


def field_error(location: str, name: str, message: str) -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors, naming the field."""
    detail: list[dict[str, Any]] = [
        {"loc": [location, name], "msg": message, "type": "value_error"}
    ]
    return HTTPException(422, detail)
