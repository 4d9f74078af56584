"""Hostile input at the transport (issue 11 §3), through the real HTTP service.

The service as `custodes serve` runs it (uvicorn in its WebServer thread) is spoken to over a
raw socket where the order of things matters — the answer must come before the body is sent
— and through the app (TestClient) elsewhere; the browser tests use Debian's Chromium.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, insert, update
from starlette.websockets import WebSocketDisconnect

from custodes.adapters.db import schema
from custodes.adapters.simulator.clips import ensure_clip
from custodes.adapters.simulator.process import Mount, Simulator
from custodes.domain.camera import CameraSpec
from custodes.domain.roles import Role
from custodes.domain.transport import LOOPBACK_PLAIN
from custodes.entrypoints.web import hardening
from custodes.entrypoints.web.app import create_app
from custodes.entrypoints.web.deps import CSRF_HEADER, SESSION_COOKIE
from custodes.entrypoints.web.hardening import (
    JSON_LIMIT,
    LOGIN_LIMIT,
    UPLOAD_LIMIT,
    safe_next,
)
from custodes.entrypoints.web.routes import live as live_route
from custodes.entrypoints.web.routes import system as system_route
from custodes.entrypoints.web.server import WebServer
from custodes.services import cameras as camera_service
from custodes.services.context import Context

from .conftest import free_port
from .grant_setup import PASSWORD as CAST_PASSWORD
from .grant_setup import person
from .recording import wait_for
from .test_api import PASSWORD, _set_password

API = "/api/v1"
MB = 1024 * 1024
HEADERS = {
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "x-frame-options",
    "cross-origin-opener-policy",
    "cross-origin-resource-policy",
}


@pytest.fixture
def served(ctx: Context) -> Iterator[tuple[Context, int]]:
    """The web server of `custodes serve`, on a port of its own."""
    _set_password(ctx, PASSWORD)
    port = free_port()
    server = WebServer(ctx, "127.0.0.1", port, LOOPBACK_PLAIN)
    server.start()

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}{API}/health").status_code == 200
        except httpx.HTTPError:
            return False

    wait_for("the web server", up, 20, every=0.1)
    try:
        yield ctx, port
    finally:
        server.stop()


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    _set_password(ctx, PASSWORD)
    with TestClient(create_app(ctx, live_linger_s=0.5)) as c:
        yield c


@dataclass(frozen=True)
class Login:
    token: str
    csrf: str


def _login(port: int) -> Login:
    res = httpx.post(
        f"http://127.0.0.1:{port}{API}/auth/login",
        json={"username": "admin", "password": PASSWORD},
    )
    assert res.status_code == 200, res.text
    return Login(res.cookies[SESSION_COOKIE], res.json()["csrf_token"])


class Answer:
    def __init__(self, raw: bytes) -> None:
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {
            k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])
        }


def _exchange(
    port: int, head: str, chunks: Iterable[bytes] = (), *, timeout: float = 5.0
) -> tuple[Answer, int]:
    """Send a request head, then the body chunks while no answer has come; return the answer
    and how many body bytes had been sent when it came. The answer is read by a thread of
    its own, so that it is seen even while the body is still being sent."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    got = bytearray()
    done = threading.Event()

    def read() -> None:
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                got.extend(data)
                head_end = got.find(b"\r\n\r\n")
                if head_end >= 0:
                    answer = Answer(bytes(got))
                    length = int(answer.headers.get("content-length", "-1"))
                    if length >= 0 and len(got) - head_end - 4 >= length:
                        break
        except OSError:
            pass
        finally:
            done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    sent = 0
    try:
        sock.sendall(head.encode())
        for chunk in chunks:
            if done.is_set():
                break
            sock.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass  # the server closed the connection: the answer is what counts
    assert done.wait(timeout), f"no answer within {timeout} s ({sent} body bytes sent)"
    sock.close()
    assert got, "the connection closed without an answer"
    return Answer(bytes(got)), sent


def _head(method: str, path: str, headers: dict[str, str]) -> str:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return "\r\n".join(lines) + "\r\n\r\n"


FILE_PART = (
    b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
    b"Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
)  # a multipart body's start, its file part going on as long as the sender likes


def _chunked(
    total: int, size: int = 64 * 1024, pause_s: float = 0.0, start: bytes = b""
) -> Iterator[bytes]:
    """`total` body bytes in HTTP/1.1 chunks (no closing chunk: the body never ends)."""
    if start:
        yield f"{len(start):x}\r\n".encode() + start + b"\r\n"
    payload = b"x" * size
    for _ in range(total // size):
        if pause_s:
            time.sleep(pause_s)
        yield f"{size:x}\r\n".encode() + payload + b"\r\n"


# --- 1. a session before the body, size limits while streaming ------------------------------


def test_an_upload_without_a_session_is_refused_before_its_body(
    served: tuple[Context, int],
) -> None:
    _, port = served
    head = _head(
        "POST",
        f"{API}/documents",
        {
            "Content-Type": "multipart/form-data; boundary=b",
            "Content-Length": str(200 * MB),
            "Accept-Language": "en",
        },
    )
    answer, sent = _exchange(port, head)  # not one byte of the 200 MB is sent
    assert answer.status == 401 and sent == 0
    assert b"log in first" in answer.body
    # the same without a declared length: refused at once too, the body unread
    head = _head(
        "POST",
        f"{API}/documents",
        {"Content-Type": "multipart/form-data; boundary=b", "Transfer-Encoding": "chunked"},
    )
    answer, sent = _exchange(port, head, _chunked(200 * MB, MB, pause_s=0.05, start=FILE_PART))
    assert answer.status == 401 and sent < 20 * MB


def test_an_unsafe_call_without_the_csrf_header_is_refused_before_its_body(
    served: tuple[Context, int],
) -> None:
    _, port = served
    s = _login(port)
    head = _head(
        "POST",
        f"{API}/documents",
        {
            "Cookie": f"{SESSION_COOKIE}={s.token}",
            "Content-Type": "multipart/form-data; boundary=b",
            "Content-Length": str(200 * MB),
        },
    )
    answer, sent = _exchange(port, head)
    assert answer.status == 403 and sent == 0
    assert CSRF_HEADER.encode() in answer.body


def test_a_huge_log_in_body_is_refused_by_its_length_or_as_it_streams(
    served: tuple[Context, int],
) -> None:
    _, port = served
    head = _head(
        "POST",
        f"{API}/auth/login",
        {"Content-Type": "application/json", "Content-Length": str(100 * MB)},
    )
    answer, sent = _exchange(port, head)
    assert answer.status == 413 and sent == 0
    assert "请求内容过大" in answer.body.decode()  # no Accept-Language: the site's Chinese
    assert "16 KiB" in answer.body.decode()
    # chunked, so no length to judge by: counted as it arrives, refused past the limit
    head = _head(
        "POST",
        f"{API}/auth/login",
        {
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
            "Accept-Language": "en-GB,en;q=0.9",
        },
    )
    answer, sent = _exchange(port, head, _chunked(100 * MB, pause_s=0.01))
    assert answer.status == 413, answer.body
    assert sent < 10 * MB  # answered long before the 100 MB
    assert b"The request is too large: at most 16 KiB" in answer.body


def test_an_upload_over_the_document_limit_is_refused_as_it_streams(
    served: tuple[Context, int],
) -> None:
    _, port = served
    s = _login(port)
    head = _head(
        "POST",
        f"{API}/documents",
        {
            "Cookie": f"{SESSION_COOKIE}={s.token}",
            CSRF_HEADER: s.csrf,
            "Content-Type": "multipart/form-data; boundary=b",
            "Transfer-Encoding": "chunked",
            "Accept-Language": "en",
        },
    )
    body = _chunked(UPLOAD_LIMIT * 4, MB, pause_s=0.01, start=FILE_PART)
    answer, sent = _exchange(port, head, body, timeout=30)
    assert answer.status == 413, answer.body
    assert UPLOAD_LIMIT < sent < UPLOAD_LIMIT * 3
    assert b"20.1 MiB" in answer.body or b"20 MiB" in answer.body
    # a declared length over the limit: refused before anything is sent
    head = _head(
        "POST",
        f"{API}/documents",
        {
            "Cookie": f"{SESSION_COOKIE}={s.token}",
            CSRF_HEADER: s.csrf,
            "Content-Type": "multipart/form-data; boundary=b",
            "Content-Length": str(UPLOAD_LIMIT + 1),
        },
    )
    answer, sent = _exchange(port, head)
    assert answer.status == 413 and sent == 0
    # and a document within the limit is still taken
    res = httpx.post(
        f"http://127.0.0.1:{port}{API}/documents",
        files={"file": ("a.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
        cookies={SESSION_COOKIE: s.token},
        headers={CSRF_HEADER: s.csrf},
    )
    assert res.status_code != 413 and res.status_code < 500, res.text


def test_a_json_body_over_its_limit_is_refused(client: TestClient) -> None:
    res = client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
    client.headers[CSRF_HEADER] = res.json()["csrf_token"]
    body = b'{"cameras": [' + b"1, " * (JSON_LIMIT // 3) + b"1]}"
    res = client.put(
        f"{API}/accounts/1/cameras",
        content=body,
        headers={"content-type": "application/json", "accept-language": "en"},
    )
    assert res.status_code == 413
    assert "256 KiB" in res.json()["detail"]
    res = client.post(
        f"{API}/auth/login",
        content=b'{"username": "admin", "password": "' + b"p" * LOGIN_LIMIT + b'"}',
        headers={"content-type": "application/json"},
    )
    assert res.status_code == 413


def test_every_operation_but_the_public_ones_refuses_a_stranger_before_its_body(
    client: TestClient,
) -> None:
    schema: dict[str, Any] = client.get(f"{API}/openapi.json").json()
    public = {(m, p) for m, p in hardening.PUBLIC}
    checked = 0
    for path, item in schema["paths"].items():
        for method in item:
            named = path.replace("{stream}", "main").replace("{name}", "index.m3u8")
            url = "/".join("1" if s.startswith("{") else s for s in named.split("/"))
            # a body that does not parse: a route that read it would say 422, not 401
            res = client.request(
                method.upper(),
                url,
                content=b"{broken",
                headers={"content-type": "application/json"},
            )
            if (method.upper(), path) in public:
                assert res.status_code != 401 or path.endswith("/auth/login"), (method, path)
            else:
                assert res.status_code == 401, (method, path, res.status_code, res.text)
                checked += 1
    assert checked > 40


# --- 2. live streams end with the right to watch them; Origin ------------------------------


@pytest.fixture
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    clips = tmp_path_factory.getbasetemp() / "live-clips"
    with Simulator([Mount("cam1", ensure_clip(clips, "cam1"))], free_port()) as s:
        yield s


def _streams_until_closed(ws: Any, revoke: Callable[[], None]) -> tuple[int, str, float]:
    """Watch a few frames, revoke, then count the time until the server closes the socket."""
    ws.receive_json()
    ws.receive_bytes()  # init
    for _ in range(10):
        ws.receive_bytes()
    revoke()
    revoked = time.monotonic()
    with pytest.raises(WebSocketDisconnect) as closed:
        while time.monotonic() - revoked < 15:
            ws.receive_bytes()
    return closed.value.code, closed.value.reason, time.monotonic() - revoked


@pytest.mark.slow
def test_a_live_stream_ends_within_seconds_of_the_right_to_watch_it(
    ctx: Context, sim: Simulator
) -> None:
    cam = camera_service.add_camera(ctx, CameraSpec(name="c", url=sim.url("cam1"), place="p")).id
    _set_password(ctx, PASSWORD)
    operator = person(ctx, Role.DUTY_OPERATOR)
    bound = live_route.RECHECK_S + 3.0  # the re-check interval, and a loaded machine's slack
    app = create_app(ctx, live_linger_s=2.0)
    url = f"{API}/cameras/{cam}/live"

    def login(c: TestClient, username: str, password: str) -> None:
        res = c.post(f"{API}/auth/login", json={"username": username, "password": password})
        assert res.status_code == 200, res.text
        c.headers[CSRF_HEADER] = res.json()["csrf_token"]

    with TestClient(app) as admin:
        # logged out
        login(admin, "admin", PASSWORD)
        with admin.websocket_connect(url) as ws:
            code, reason, took = _streams_until_closed(
                ws, lambda: admin.post(f"{API}/auth/logout").raise_for_status()
            )
        assert code == 4401 and took < bound, (code, reason, took)
        assert reason == "the session ended"
        # the account disabled (in the database, as by another administrator)
        login(admin, "admin", PASSWORD)

        def disable() -> None:
            with ctx.engine.begin() as conn:
                conn.execute(
                    update(schema.accounts)
                    .where(schema.accounts.c.username == "admin")
                    .values(disabled_us=ctx.clock())
                )

        with admin.websocket_connect(url) as ws:
            code, reason, took = _streams_until_closed(ws, disable)
        assert code == 4401 and took < bound, (code, reason, took)
    with TestClient(app) as op:
        # a duty operator's camera unassigned
        with ctx.engine.begin() as conn:
            conn.execute(
                insert(schema.camera_assignments).values(
                    account_id=operator.account_id, camera_id=cam
                )
            )
        login(op, operator.username, CAST_PASSWORD)

        def unassign() -> None:
            with ctx.engine.begin() as conn:
                conn.execute(delete(schema.camera_assignments))

        with op.websocket_connect(url) as ws:
            code, reason, took = _streams_until_closed(ws, unassign)
        assert code == 4403 and took < bound, (code, reason, took)
        assert reason == "no longer allowed to watch this camera live"
        assert "rtsp" not in reason and "127.0.0.1" not in reason


def test_a_live_socket_from_another_site_is_refused(client: TestClient) -> None:
    # with no session at all: the route says 4401, so a 4403 is the Origin check's
    with (
        pytest.raises(WebSocketDisconnect) as same,
        client.websocket_connect(
            f"{API}/cameras/1/live", headers={"origin": "http://testserver"}
        ) as ws,
    ):
        ws.receive_json()
    assert same.value.code == 4401
    for origin in ("http://127.0.0.1:9999", "http://testserver:81", "null", "https://evil.cn"):
        with (
            pytest.raises(WebSocketDisconnect) as other,
            client.websocket_connect(f"{API}/cameras/1/live", headers={"origin": origin}) as ws,
        ):
            ws.receive_json()
        assert other.value.code == 4403, origin
    # an unsafe HTTP call from another site is refused too (with or without a session)
    res = client.post(
        f"{API}/auth/login",
        json={"username": "admin", "password": PASSWORD},
        headers={"origin": "http://127.0.0.1:9999", "accept-language": "en"},
    )
    assert res.status_code == 403 and "another site" in res.json()["detail"]
    res = client.post(
        f"{API}/auth/login",
        json={"username": "admin", "password": PASSWORD},
        headers={"origin": "http://testserver"},
    )
    assert res.status_code == 200


@pytest.mark.parametrize(
    ("origin", "host", "same"),
    [
        (None, "h:8080", True),
        ("http://h:8080", "h:8080", True),
        ("https://h", "h", True),
        ("http://h", "h:80", True),
        ("http://h:8081", "h:8080", False),
        ("http://x.h:8080", "h:8080", False),
        ("null", "h", False),
        ("file://", "h", False),
        ("http://h:bad", "h", False),
    ],
)
def test_same_origin(origin: str | None, host: str, same: bool) -> None:
    assert hardening.same_origin(origin, host) is same


# --- 3. redirects stay on this site --------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/\\127.0.0.1:9/",
        "/%5C127.0.0.1:9/",
        "/%5c127.0.0.1:9/",
        "/%255C127.0.0.1:9/",
        "//127.0.0.1:9/",
        "/%2F127.0.0.1:9/",
        "/\t/127.0.0.1:9/",
        "/\n/127.0.0.1:9/",
        "/%09/127.0.0.1:9/",
        "http://127.0.0.1:9/",
        "javascript:alert(1)",
        " /live",
        "live",
        "",
    ],
)
def test_safe_next_refuses_what_leaves_the_site(target: str) -> None:
    assert safe_next(target) == "/live"


@pytest.mark.parametrize("target", ["/live", "/cameras/3?layout=4", "/requests/12#x", "/a%20b"])
def test_safe_next_keeps_this_sites_paths(target: str) -> None:
    assert safe_next(target) == target


def test_the_login_page_and_the_language_switch_keep_next_on_the_site(client: TestClient) -> None:
    res = client.get("/login", params={"next": "/\\127.0.0.1:9/"})
    assert 'data-next="/live"' in res.text
    res = client.get("/login", params={"next": "/cameras/1"})
    assert 'data-next="/cameras/1"' in res.text
    res = client.get("/lang/en", params={"next": "/\\127.0.0.1:9/"}, follow_redirects=False)
    assert res.headers["location"] == "/live"


# --- 4. security headers on every answer ---------------------------------------------------


def test_every_answer_carries_the_security_headers(
    served: tuple[Context, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, port = served
    base = f"http://127.0.0.1:{port}"
    answers = {
        "page": httpx.get(f"{base}/login"),
        "redirect": httpx.get(f"{base}/live"),
        "api": httpx.get(f"{base}{API}/health"),
        "static": httpx.get(f"{base}/static/app.js"),
        "not found": httpx.get(f"{base}/no-such-page"),
        "no session": httpx.get(f"{base}{API}/status"),
        "invalid": httpx.post(f"{base}{API}/auth/login", content=b"{"),
        "too large": httpx.post(f"{base}{API}/auth/login", content=b"x" * (LOGIN_LIMIT + 1)),
        "docs": httpx.get(f"{base}{API}/docs"),
        "schema": httpx.get(f"{base}{API}/openapi.json"),
    }

    def broken(**_: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(system_route, "Health", broken)
    answers["server error"] = httpx.get(f"{base}{API}/health")
    assert answers["server error"].status_code == 500
    for what, res in answers.items():
        missing = HEADERS - set(res.headers)
        assert not missing, (what, res.status_code, missing)
        assert res.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in res.headers["content-security-policy"]
        assert "unsafe-inline" not in res.headers["content-security-policy"], what
    assert answers["too large"].status_code == 413
    assert answers["not found"].status_code == 404


# --- 5. API docs from an installed package --------------------------------------------------


def test_api_docs_are_served_from_the_installed_package(client: TestClient) -> None:
    page = client.get(f"{API}/docs")
    assert page.status_code == 200
    assert "://" not in page.text  # nothing from elsewhere
    assert "<script>" not in page.text  # no inline script: the CSP runs none
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        res = client.get(f"{API}/docs/{name}")
        assert res.status_code == 200 and len(res.content) > 100_000, name
    assert client.get(f"{API}/docs/index.html").status_code == 404  # only the files it needs
    assert client.get(f"{API}/docs/..%2F__init__.py").status_code == 404
    assert client.get("/static/api-docs.js").status_code == 200


# --- 6. the status codes each operation answers, in the schema -----------------------------


def test_the_schema_documents_each_operations_refusals(client: TestClient) -> None:
    paths = client.get(f"{API}/openapi.json").json()["paths"]
    upload = paths[f"{API}/documents"]["post"]["responses"]
    assert {"201", "400", "401", "403", "413", "422"} <= set(upload)
    assert {"401", "403", "404", "409", "422"} <= set(
        paths[f"{API}/accounts/{{account_id}}/disable"]["post"]["responses"]
    )
    login = paths[f"{API}/auth/login"]["post"]["responses"]
    # 403: a one-time password must be replaced in the same log-in; 429/503: throttled, busy
    assert {"200", "401", "403", "413", "422", "429", "503"} <= set(login)
    assert {"409", "429"} <= set(
        paths[f"{API}/account-changes/{{change_id}}/confirm"]["post"]["responses"]
    )
    assert "429" in paths[f"{API}/me/totp"]["post"]["responses"]
    assert "401" not in paths[f"{API}/health"]["get"]["responses"]
    for path, item in paths.items():
        for method, op in item.items():
            assert "413" in op["responses"], (method, path)


# --- browser: the CSP the pages run under, the log-in redirect ------------------------------

CHROMIUM = "/usr/bin/chromium"
needs_browser = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and os.environ.get("CUSTODES_REQUIRE_BROWSER") != "1",
    reason=f"NOTICE: {CHROMIUM} not installed; browser tests skipped",
)
CSP_WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


class _Witness(BaseHTTPRequestHandler):
    seen: list[str] = []  # noqa: RUF012 - the paths another site was asked for

    def do_GET(self) -> None:
        _Witness.seen.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"off-site")

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def browser_page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=shutil.which(CHROMIUM) or CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        context = b.new_context(locale="en-US")
        context.add_init_script(CSP_WATCH)
        yield context.new_page()
        b.close()


@needs_browser
@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # one database is enough
def test_the_log_in_redirect_stays_on_the_site(
    served: tuple[Context, int], browser_page: Any
) -> None:
    _, port = served
    other = ThreadingHTTPServer(("127.0.0.1", 0), _Witness)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    _Witness.seen.clear()
    base = f"http://127.0.0.1:{port}"
    try:
        for attack in (f"/%5C127.0.0.1:{other.server_port}/", f"//127.0.0.1:{other.server_port}/"):
            page = browser_page
            page.context.clear_cookies()
            page.goto(f"{base}/login?next={attack}")
            page.fill("#username", "admin")
            page.fill("#password", PASSWORD)
            page.click("#login-submit")
            page.wait_for_url(lambda u: urlsplit(u).path == "/live", timeout=15000)
            assert urlsplit(page.url).netloc == f"127.0.0.1:{port}", page.url
        assert _Witness.seen == []
    finally:
        other.shutdown()


@needs_browser
@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # one database is enough
def test_the_pages_and_the_api_docs_work_under_the_csp(
    served: tuple[Context, int], browser_page: Any
) -> None:
    ctx, port = served
    camera_service.add_camera(ctx, CameraSpec(name="gate", url="rtsp://127.0.0.1:9/x", place="p"))
    base = f"http://127.0.0.1:{port}"
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/login?next=/cameras")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(lambda u: urlsplit(u).path == "/cameras", timeout=15000)
    for path in (
        "/live",
        "/cameras/1",
        "/cameras/new",
        "/requests",
        "/accounts",
        "/changes",
        "/health",
        "/alarms",
        "/retention",
        "/me",
    ):
        page.goto(f"{base}{path}")
        page.wait_for_load_state("load")
        page.wait_for_timeout(500)
        assert page.evaluate("window.__csp") == [], path
    page.goto(f"{base}{API}/docs")
    page.wait_for_selector(".opblock", timeout=20000)  # Swagger UI drew the operations
    assert page.locator(".opblock").count() > 40
    assert page.evaluate("window.__csp") == []
    assert errors == []
