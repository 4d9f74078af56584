"""The transport's own defences, applied to every request before a route sees it (issue 11 §3).

One ASGI middleware, `TransportGuard`, in front of every route, page, static file and error:

- **A session before any body.** An `/api/v1` request that needs a session (all but the few
  in `PUBLIC`) is answered 401 — or 403 for an unsafe method without the CSRF header — before
  one byte of its body is read. FastAPI reads and parses a body *before* it resolves the
  dependencies that check the session, so without this a stranger's 200 MB upload is read
  whole before the 401. The session found is handed to the route (`deps.SESSION_SCOPE_KEY`), which
  checks it again through the same function (`deps.check_session`): one rule, one query.
- **Size limits per route** (`body_limit`): small for JSON and smaller still for the log-in,
  the approval-document limit for uploads. A declared Content-Length over the limit is
  refused at once; a body without one (chunked) or lying about it is counted as it streams in
  and refused the moment it passes the limit (413, in the user's language).
- **Security headers on every answer** (`security_headers`): a CSP without 'unsafe-inline'
  for scripts or styles, frame-ancestors 'none', nosniff, no referrer, same-origin resource
  and opener policies — on pages, the API, static files, 404s and 500s alike.
- **The transport** (`domain/transport.py`): with TLS, HSTS where the certificate is the
  operator's own; behind a named TLS proxy or bound to loopback, a plain-HTTP request from
  anywhere but this machine is refused (403) before anything else is looked at — a session
  cookie sent in clear is refused, not used.
- **Origin**: a cross-site WebSocket handshake, or an unsafe request whose Origin names
  another site, is refused (`same_origin`). Cookies are not isolated by port, so a page on
  another local port is "same-site" for SameSite=strict and gets the operator's cookie.

`safe_next` is the one test of where a log-in (or language switch) may send the browser back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

from fastapi import HTTPException
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from custodes.domain.transport import Transport
from custodes.entrypoints.web import i18n
from custodes.entrypoints.web.deps import (
    CSRF_HEADER,
    SESSION_COOKIE,
    SESSION_SCOPE_KEY,
    UNSAFE_METHODS,
    check_session,
    request_language,
)
from custodes.services import documents

API = "/api/v1"

KIB = 1024
LOGIN_LIMIT = 16 * KIB  # a user name of 64 characters and a password of 1024, in UTF-8
JSON_LIMIT = 256 * KIB  # the largest JSON body: 10,000 camera ids for an assignment
UPLOAD_LIMIT = documents.MAX_BYTES + 64 * KIB  # the document plus its multipart framing
# Operations a stranger may call: everything else under /api/v1 needs a session (fail closed:
# a new route is protected before anyone remembers to protect it).
PUBLIC = frozenset(
    {
        ("POST", f"{API}/auth/login"),
        ("GET", f"{API}/health"),
        ("GET", f"{API}/openapi.json"),
    }
)
DOCS = f"{API}/docs"  # the API documentation page, and its assets below it
BODY_LIMITS = {
    ("POST", f"{API}/auth/login"): LOGIN_LIMIT,
    ("POST", f"{API}/documents"): UPLOAD_LIMIT,
}

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",  # MSE plays from a blob: URL of a MediaSource
        "connect-src 'self'",  # 'self' covers ws:/wss: to this host (CSP Level 3)
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
)

# msgids (locale/*.po): the guard's own answers
TOO_LARGE = "The request is too large: at most {limit} may be sent here."
CROSS_SITE = "Refused: the request comes from another site."
SERVER_ERROR = "Internal server error."
PLAIN_HTTP = (
    "Refused: this service is reached over HTTPS, or through its TLS proxy (which must send "
    "X-Forwarded-Proto: https); plain HTTP is answered on this machine only."
)
HSTS = (b"strict-transport-security", b"max-age=31536000")
# Tests and tools that build the application without `serve` speak plain HTTP to it in-process.
IN_PROCESS = Transport(tls=False, proxies=(), plain_from_anywhere=True, hsts=False)

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_next(value: str | None, default: str = "/live") -> str:
    """`value` when it is a path of this site, else `default`: the one test for every
    redirect that follows a `next` parameter (the log-in page and its script, the language
    switch). Refused: anything not starting with one `/` (schemes, `//host`), a backslash
    (browsers read `/\\host` as `//host`), control characters (browsers drop tabs and
    newlines, turning `/<tab>/host` into `//host`) — in the text or in any percent-decoding
    of it, so `%5C` and `%2F%2F` do not slip through either."""
    if not value or len(value) > 2048:
        return default
    seen = value
    for _ in range(4):  # the text and up to three decodings of it (a decoding loop ends)
        if not seen.startswith("/") or seen.startswith("//") or "\\" in seen:
            return default
        if _CONTROL.search(seen):
            return default
        parts = urlsplit(seen)
        if parts.scheme or parts.netloc:
            return default
        decoded = unquote(seen)
        if decoded == seen:
            return value
        seen = decoded
    return default  # still changing after three decodings: nobody needs that


def _human(size: int) -> str:
    if size >= KIB * KIB and size % (KIB * KIB) == 0:
        return f"{size // (KIB * KIB)} MiB"
    if size >= KIB * KIB:
        return f"{size / (KIB * KIB):.1f} MiB"
    return f"{size // KIB} KiB"


def body_limit(method: str, path: str) -> int:
    return BODY_LIMITS.get((method, path.rstrip("/") or "/"), JSON_LIMIT)


def needs_session(method: str, path: str) -> bool:
    if not (path == API or path.startswith(f"{API}/")):
        return False  # pages check their own session (and redirect to the log-in page)
    if path == DOCS or path.startswith(f"{DOCS}/"):
        return False
    return (method, path.rstrip("/")) not in PUBLIC and method != "OPTIONS"


def same_origin(origin: str | None, host: str | None) -> bool:
    """Whether a browser's Origin header names this site (the Host it asked for). A request
    without Origin is not a browser's cross-site request and passes; `null` never does."""
    if origin is None:
        return True
    if not host:
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    try:
        origin_port = parts.port or _DEFAULT_PORTS[parts.scheme]
        asked = urlsplit(f"{parts.scheme}://{host}")
        host_port = asked.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:
        return False
    return parts.hostname == asked.hostname and origin_port == host_port


def translate(scope: Scope, msgid: str, **values: Any) -> str:
    text = i18n.translations(request_language(HTTPConnection(scope))).gettext(msgid)
    return text.format(**values) if values else text


def security_headers(existing: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The answer's headers with every security header it does not set itself."""
    headers = list(existing)
    present = {name.lower() for name, _ in headers}
    for name, value in SECURITY_HEADERS:
        if name.encode() not in present:
            headers.append((name.encode(), value.encode()))
    return headers


class _TooLarge(HTTPException):
    """Raised from `receive` inside the route: FastAPI lets an HTTPException through its body
    parsing unchanged (any other error would become a 400), and answers it as JSON."""


class TransportGuard:
    """The ASGI middleware described in the module's docstring."""

    def __init__(self, app: ASGIApp, transport: Transport = IN_PROCESS) -> None:
        self.app = app
        self.transport = transport

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not self._transport_allows(scope):
            await self._refuse_plain(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _transport_allows(self, scope: Scope) -> bool:
        client = scope.get("client")
        return self.transport.accepts_plain(scope["scheme"], client[0] if client else None)

    async def _refuse_plain(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": 4403, "reason": "plain-http"})
            return
        await _answer(send, 403, translate(scope, PLAIN_HTTP), security_headers([]))

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        if not same_origin(headers.get("origin"), headers.get("host")):
            message = await receive()  # websocket.connect; closing now refuses the handshake
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": 4403, "reason": "cross-site"})
            return
        await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = security_headers(message.get("headers", []))
                if self.transport.hsts and scope["scheme"] == "https":
                    headers.append(HSTS)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self._guarded(scope, receive, send_with_headers)
        except _TooLarge as exc:  # raised outside FastAPI's own handling (a plain Starlette app)
            if started:
                raise
            await _answer(send_with_headers, 413, str(exc.detail))
        except Exception:
            if not started:  # a 500 with the security headers; the error goes on to be logged
                await _answer(send_with_headers, 500, translate(scope, SERVER_ERROR))
            raise

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        path: str = scope["path"]
        headers = Headers(scope=scope)
        if method in UNSAFE_METHODS and not same_origin(headers.get("origin"), headers.get("host")):
            await _answer(send, 403, translate(scope, CROSS_SITE))
            return
        if needs_session(method, path):  # before one byte of the body is read
            refusal = await run_in_threadpool(_check, scope, headers, method)
            if refusal is not None:
                await _answer(send, refusal.status_code, str(refusal.detail))
                return
        limit = body_limit(method, path)
        too_large = translate(scope, TOO_LARGE, limit=_human(limit))
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _answer(send, 413, too_large)  # refused before it is sent
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(413, too_large)
            return message

        await self.app(scope, limited_receive, send)


def _check(scope: Scope, headers: Headers, method: str) -> HTTPException | None:
    """The session behind the request's cookie, kept in the scope for the route; or the
    refusal. Run in a thread: it reads (and may update) the database."""
    conn = HTTPConnection(scope)
    ctx = scope["app"].state.ctx
    try:
        session = check_session(
            ctx,
            conn.cookies.get(SESSION_COOKIE),
            method,
            headers.get(CSRF_HEADER),
            lang=request_language(conn),
        )
    except HTTPException as exc:
        return exc
    scope[SESSION_SCOPE_KEY] = session
    return None


async def _answer(
    send: Send, status: int, detail: str, extra: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
