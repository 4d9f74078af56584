"""What the browser tests share (Debian's Chromium driven by Playwright): the served
installation — `custodes serve` over HTTPS with the certificate `init` made, two simulated
cameras, the access flow's people — one per test module, so that modules run side by side;
logging in, clients of its API, grants made in its database, and screenshots for people to
look at under test-artifacts/."""

from __future__ import annotations

import os
import shutil
import signal
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import update

from custodes.adapters.db import schema
from custodes.adapters.simulator.clips import ensure_clip
from custodes.adapters.simulator.process import Mount, Simulator
from custodes.domain.camera import CameraSpec
from custodes.domain.roles import Role
from custodes.paths import DATABASE_URL_ENV, DataDir
from custodes.services.cameras import add_camera
from custodes.services.setup import initialise

from .conftest import free_port
from .grant_setup import Person, organisation, person
from .recording import wait_for

CHROMIUM = "/usr/bin/chromium"

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

PASSWORD = "browser-test-password"

CAST: dict[str, Person] = {}  # the access flow's people, made with the server

TRUST: list[ssl.SSLContext] = []  # the installation's authority, once the server is made

SERVED: list[DataDir] = []  # the server's data directory (tests that plant a stored state)


def _shot(p: Page, name: str) -> None:
    """A screenshot for people to look at (test-artifacts/), not an assertion: headless
    Chromium on a loaded machine sometimes answers "Unable to capture screenshot"; try once
    more, then leave a note in its place instead of failing the test of the behaviour."""
    for attempt in range(2):
        try:
            p.screenshot(path=str(ARTIFACTS / name))
            return
        except PlaywrightError as exc:
            if attempt:
                (ARTIFACTS / f"{name}.missing.txt").write_text(str(exc), encoding="utf-8")
            else:
                p.wait_for_timeout(500)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The served installation of the module that asks for it (one per module: modules run
    side by side); TRUST, SERVED and CAST are this one's while its module runs."""
    with serving(
        tmp_path_factory, lambda clips: [Mount(n, ensure_clip(clips, n)) for n in ("cam1", "cam2")]
    ) as base:
        yield base


@contextmanager
def serving(
    tmp_path_factory: pytest.TempPathFactory, cameras: Callable[[Path], list[Mount]]
) -> Iterator[str]:
    """`custodes serve` with the simulated cameras `cameras(clip_dir)` makes (cameras 1, 2, …
    in that order): what `server` is made of, for a module whose cameras differ."""
    CAST.clear()
    root = tmp_path_factory.mktemp("browser")
    data = DataDir(root / "data")
    env = {k: v for k, v in os.environ.items() if k != DATABASE_URL_ENV}
    saved = os.environ.pop(DATABASE_URL_ENV, None)
    ctx = initialise(data, "jilin").context
    with ctx.engine.begin() as conn:
        conn.execute(
            update(schema.accounts).values(
                password_hash=PasswordHasher().hash(PASSWORD), password_one_time=False
            )
        )
    psb = organisation(ctx, "市公安局 City Public Security Bureau", "public-security")
    CAST["officer1"] = person(
        ctx, Role.EXTERNAL_OFFICER, psb, username="officer1", work_id="J-1001"
    )
    CAST["officer2"] = person(
        ctx, Role.EXTERNAL_OFFICER, psb, username="officer2", work_id="J-1002"
    )
    CAST["manager"] = person(ctx, Role.SECURITY_MANAGER, username="manager")
    mounts = cameras(root / "clips")
    with Simulator(mounts, free_port()) as sim:
        for m in mounts:
            add_camera(ctx, CameraSpec(name=f"Gate {m.name}", url=sim.url(m.name), place="gate"))
        ctx.engine.dispose()
        port = free_port()
        log = (root / "serve.log").open("wb")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "custodes.entrypoints.cli",
                "serve",
                "--data",
                str(data.root),
                "--http-port",
                str(port),
                "--segment-seconds",
                "2",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"https://127.0.0.1:{port}"
        TRUST[:] = [ssl.create_default_context(cafile=data.tls / "ca.crt")]
        SERVED[:] = [data]

        def recorded() -> bool:
            try:
                with _client(base) as c:
                    c.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
                    cams = c.get("/api/v1/status").json()["cameras"]
                return all(cam["segments"] >= 4 for cam in cams)
            except httpx.HTTPError:
                return False

        try:
            wait_for("the service to record", recorded, 60, every=1)
            yield base
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
            if saved is not None:
                os.environ[DATABASE_URL_ENV] = saved


def _client(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, verify=TRUST[0])


@contextmanager
def _api(server: str, user: str, password: str, **headers: str) -> Iterator[httpx.Client]:
    """An API client of the real service, logged in, with the CSRF header."""
    with httpx.Client(base_url=f"{server}/api/v1", verify=TRUST[0], headers=headers) as c:
        me = c.post("/auth/login", json={"username": user, "password": password})
        assert me.status_code == 200, me.text
        c.headers["X-CSRF-Token"] = me.json()["csrf_token"]
        yield c


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CUSTODES_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} missing (make setup installs Debian's chromium)")
        pytest.skip(f"NOTICE: {CHROMIUM} not installed; browser tests skipped")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=shutil.which(CHROMIUM) or CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        locale="en-US", viewport={"width": 1280, "height": 800}, ignore_https_errors=True
    )
    p = context.new_page()
    console: list[str] = []
    p.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    p.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    yield p
    context.close()
    print("browser console:", *console, sep="\n  ")  # shown by pytest when a test fails


def _login(page: Page, base: str, password: str = PASSWORD, user: str = "admin") -> None:
    page.goto(f"{base}/live")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#login-submit")


def _at(path: str) -> Callable[[str], bool]:
    """A URL test on the path alone (a glob like **/live also matches /login?next=/live)."""
    return lambda url: urlsplit(url).path == path


_TIMELINE_X = """ms => { const s = document.querySelector('#timeline');
  const from = Number(s.dataset.from), to = Number(s.dataset.to);
  const left = s.getBoundingClientRect().left + s.clientLeft;
  return left + (ms - from) / (to - from) * s.clientWidth; }"""


def _timeline_window(page: Page) -> tuple[float, float]:
    """The window (ms since the epoch) the camera page's timeline last drew."""
    w = page.eval_on_selector("#timeline", "s => [Number(s.dataset.from), Number(s.dataset.to)]")
    return w[0], w[1]


def _timeline_x(page: Page, ms: float) -> float:
    """Where on the screen the camera page's timeline draws the instant `ms`: a press aimed
    at a time, not at a fraction of a bar that keeps growing while the camera records."""
    x: float = page.evaluate(_TIMELINE_X, ms)
    return x


def _advances(page: Page, selector: str, timeout_ms: int = 20000) -> None:
    page.wait_for_function(
        "s => { const v = document.querySelector(s); return v && v.currentTime > 1.0; }",
        arg=selector,
        timeout=timeout_ms,
    )
    first: Any = page.eval_on_selector(selector, "v => v.currentTime")
    page.wait_for_timeout(1500)
    later: Any = page.eval_on_selector(selector, "v => v.currentTime")
    assert later > first, (first, later)


def _as(
    browser: Browser,
    server: str,
    who: str,
    locale: str = "en-US",
    size: tuple[int, int] = (1280, 900),
) -> Page:
    context = browser.new_context(
        locale=locale,
        viewport={"width": size[0], "height": size[1]},
        ignore_https_errors=True,
    )
    p = context.new_page()
    _login(p, server, CAST[who].password, CAST[who].username)
    p.wait_for_url(lambda url: "/login" not in url)
    return p


def _as_admin(browser: Browser, server: str) -> Page:
    context = browser.new_context(
        locale="en-US", viewport={"width": 1280, "height": 900}, ignore_https_errors=True
    )
    p = context.new_page()
    _login(p, server)
    p.wait_for_url(lambda url: "/login" not in url)
    return p


def _nav_ids(p: Page) -> set[str]:
    return set(p.eval_on_selector_all("header nav a", "links => links.map(a => a.id)"))


@pytest.fixture
def view_grants(
    server: str, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str, list[tuple[int, int]]], None]:
    """`view_grants(name, windows, cameras=(1,))`: a view grant on those cameras over each
    window (µs), all held by one new officer, made the way the product makes them in the
    served installation's own database; the officer joins CAST as `name`."""
    from custodes.domain.access_rules import Action
    from custodes.services.context import open_context

    from .grant_setup import GrantSetup, approved_grant

    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)  # the server's is the data directory's
    data = SERVED[0]

    def make(name: str, windows: list[tuple[int, int]], cameras: tuple[int, ...] = (1,)) -> None:
        ctx = open_context(data, migrate=False)
        try:
            setup: GrantSetup | None = None
            for start_us, end_us in windows:
                setup = approved_grant(
                    ctx,
                    camera_ids=list(cameras),
                    start_us=start_us,
                    end_us=end_us,
                    action=Action.VIEW,
                    like=setup,
                )
            assert setup is not None
            CAST[name] = setup.holders[0]
        finally:
            ctx.engine.dispose()

    return make


def _recorded_span(server: str, seconds: float) -> dict[str, Any]:
    """Camera 1's first recorded span of the last half hour that is `seconds` long (the
    recording goes on, so one will be; an earlier, shorter span — a reconnect — is passed)."""
    found: list[dict[str, Any]] = []
    with _client(server) as c:
        c.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})

        def long_enough() -> bool:
            now = datetime.now(UTC)
            params = {"from": (now - timedelta(minutes=29)).isoformat(), "to": now.isoformat()}
            spans = c.get("/api/v1/cameras/1/recordings", params=params).json()["spans"]
            found[:] = [s for s in spans if s["end_us"] - s["start_us"] >= seconds * 1e6][:1]
            return bool(found)

        wait_for(f"{seconds} s recorded in one span", long_enough, 180, every=1)
    return found[0]


def _us(value: str) -> int:
    """µs since the epoch of an ISO 8601 time (the page's `…Z` form included)."""
    t = datetime.fromisoformat(value)
    return (t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
