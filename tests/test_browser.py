"""The UI in a real browser (Debian's Chromium driven by Playwright): log in, live, playback,
language. Screenshots of each page go to test-artifacts/ for people to look at."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from argon2 import PasswordHasher
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
from .grant_setup import PDF, Person, organisation, person
from .recording import wait_for

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PASSWORD = "browser-test-password"
CAST: dict[str, Person] = {}  # the access flow's people, made with the server

if not Path(CHROMIUM).exists():
    if os.environ.get("CUSTODES_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{CHROMIUM} missing (make setup installs Debian's chromium)")
    pytest.skip(f"NOTICE: {CHROMIUM} not installed; browser tests skipped", allow_module_level=True)

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("browser")
    data = DataDir(root / "data")
    env = {k: v for k, v in os.environ.items() if k != DATABASE_URL_ENV}
    saved = os.environ.pop(DATABASE_URL_ENV, None)
    ctx = initialise(data, "jilin").context
    with ctx.engine.begin() as conn:
        conn.execute(update(schema.accounts).values(password_hash=PasswordHasher().hash(PASSWORD)))
    psb = organisation(ctx, "市公安局 City Public Security Bureau", "public-security")
    CAST["officer1"] = person(
        ctx, Role.EXTERNAL_OFFICER, psb, username="officer1", work_id="J-1001"
    )
    CAST["officer2"] = person(
        ctx, Role.EXTERNAL_OFFICER, psb, username="officer2", work_id="J-1002"
    )
    CAST["manager"] = person(ctx, Role.SECURITY_MANAGER, username="manager")
    mounts = [Mount(n, ensure_clip(root / "clips", n)) for n in ("cam1", "cam2")]
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
        base = f"http://127.0.0.1:{port}"

        def recorded() -> bool:
            try:
                with httpx.Client(base_url=base) as c:
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


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
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
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
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


def test_wrong_password_is_refused(server: str, page: Page) -> None:
    _login(page, server, "not-the-password")
    page.wait_for_selector("#login-error", state="visible")
    assert "/login" in page.url
    page.screenshot(path=str(ARTIFACTS / "login-refused.png"))


def test_login_then_a_live_tile_plays(server: str, page: Page) -> None:
    _login(page, server)
    page.wait_for_url(_at("/live"))
    _advances(page, "video.live")
    assert page.eval_on_selector("video.live", "v => v.dataset.transport") == "mse"
    page.screenshot(path=str(ARTIFACTS / "live-grid.png"))


def test_a_browser_without_mse_plays_live_over_hls(server: str, page: Page) -> None:
    # as on an iPhone before iOS 17.1: no MediaSource, but the browser plays HLS itself
    page.add_init_script("delete window.MediaSource; delete window.ManagedMediaSource;")
    hls_requests: list[str] = []
    page.on("request", lambda r: hls_requests.append(r.url) if "/hls/" in r.url else None)
    _login(page, server)
    page.wait_for_url(_at("/live"))
    _advances(page, "video.live", timeout_ms=40000)
    assert page.eval_on_selector("video.live", "v => v.dataset.transport") == "hls"
    assert any(u.endswith("/index.m3u8") for u in hls_requests)
    assert any(u.endswith(".m4s") for u in hls_requests)
    page.screenshot(path=str(ARTIFACTS / "live-grid-hls.png"))


def _click_recorded(page: Page, server: str) -> None:
    page.goto(f"{server}/cameras/1")
    page.wait_for_selector("#timeline rect.span")
    for _ in range(5):  # zoom to the last five minutes, where the recording is
        page.click("#zoom-in")
    page.wait_for_function("() => document.querySelectorAll('#timeline text').length > 0")
    page.wait_for_selector("#timeline rect.span")
    box = page.eval_on_selector(
        "#timeline rect.span",
        "r => { const b = r.getBoundingClientRect(); return [b.x, b.y, b.width, b.height]; }",
    )
    page.mouse.click(box[0] + box[2] * 0.3, box[1] + box[3] / 2)


def test_playback_without_a_grant_shows_why(server: str, page: Page) -> None:
    """The administrator configures cameras but sees no recorded footage without a grant."""
    _login(page, server)
    page.wait_for_url(_at("/live"))
    _click_recorded(page, server)
    page.wait_for_function(
        "() => document.querySelector('#playback-position').textContent.includes('grant')"
    )
    assert "file an access request" in page.inner_text("#playback-position")
    assert page.eval_on_selector("#playback", "v => v.currentSrc") == ""


def _as(browser: Browser, server: str, who: str) -> Page:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    p = context.new_page()
    _login(p, server, CAST[who].password, CAST[who].username)
    p.wait_for_url(lambda url: "/login" not in url)
    return p


def test_access_flow_request_approve_play_export_register(
    server: str, browser: Browser, tmp_path: Path
) -> None:
    """Two officers file and sign a copy request, a manager approves, an officer plays and
    exports under the grant, the export verifies offline, and the register shows it."""
    officer = _as(browser, server, "officer1")
    officer.goto(f"{server}/requests/new")
    officer.select_option("select[name=camera_ids]", ["1"])
    now = datetime.now(UTC)  # footage up to now: what is not yet recorded is live view
    officer.fill("input[name=start]", (now - timedelta(minutes=10)).isoformat())
    officer.fill("input[name=end]", now.isoformat())
    officer.select_option("select[name=action]", "copy")
    officer.select_option("select[name=basis]", "law-enforcement")
    officer.fill("textarea[name=purpose]", "盗窃案侦查 theft investigation")
    officer.fill("input[name=destination]", "市公安局刑侦支队 evidence room")
    document = tmp_path / "调取证据通知书.pdf"
    document.write_bytes(PDF)
    officer.set_input_files("input[name=document]", str(document))
    officer.click("#create-request")
    officer.wait_for_selector("#request")
    request_id = officer.get_attribute("#request", "data-request")
    officer.fill("#work-id", "J-1001")
    officer.click("#sign")
    officer.wait_for_function("() => document.querySelectorAll('#staff div').length === 1")
    assert "Jilin Art. 28" in officer.inner_text("#refusals")  # one signature is not enough
    officer.screenshot(path=str(ARTIFACTS / "request-one-signature.png"))

    second = _as(browser, server, "officer2")
    second.goto(f"{server}/requests/{request_id}")
    second.fill("#work-id", "J-1002")
    second.click("#sign")
    second.wait_for_function("() => document.querySelectorAll('#staff div').length === 2")
    second.click("#submit")
    second.wait_for_function(
        "() => document.querySelector('#request-state').dataset.state === 'submitted'"
    )

    manager = _as(browser, server, "manager")
    manager.goto(f"{server}/requests?state=submitted")
    manager.click(f"tr[data-request='{request_id}'] a")
    manager.fill("#note", "同意 approved")
    manager.click("#approve")
    manager.wait_for_selector("#grant")
    manager.screenshot(path=str(ARTIFACTS / "request-approved.png"))

    officer.goto(f"{server}/grants")
    officer.click("#grants tbody tr a")
    officer.wait_for_selector("#grant-use")
    # play the last minute the grant covers
    officer.fill("#from", (now - timedelta(minutes=1)).isoformat())
    officer.fill("#to", now.isoformat())
    officer.click("#play")
    _advances(officer, "#grant-video")
    officer.click("#export")
    link = officer.wait_for_selector("#exports a", timeout=60000)
    assert link is not None
    with officer.expect_download() as download:
        link.click()
    bundle = tmp_path / "export.zip"
    download.value.save_as(bundle)
    out = tmp_path / "export"
    with zipfile.ZipFile(bundle) as z:
        z.extractall(out)
    manifest = next(out.rglob("manifest.json"))
    # footage up to seconds ago, strictly, against the installation's published key (what the
    # operating unit hands the recipient apart from the bundle): the export signed the
    # checkpoint that closes it
    published = next(tmp_path.parent.glob("browser*/data/archive/public-keys.jsonl"))
    verify = [sys.executable, "-m", "custodes.entrypoints.cli", "verify-export"]
    check = subprocess.run(
        [*verify, str(manifest.parent), "--strict", "--key", str(published)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    unpinned = subprocess.run(
        [*verify, str(manifest.parent)], capture_output=True, text=True, timeout=120
    )
    assert unpinned.returncode == 3 and "SIGNER UNKNOWN" in unpinned.stdout, unpinned.stdout
    officer.screenshot(path=str(ARTIFACTS / "grant-export.png"))

    manager.goto(f"{server}/register")
    manager.wait_for_selector("#register tbody tr[data-kind='export-created']")
    text = manager.inner_text("#register")
    assert "J-1001" in text and "J-1002" in text and "evidence room" in text
    assert manager.query_selector("#register tbody tr[data-kind='media-viewed']") is not None
    manager.screenshot(path=str(ARTIFACTS / "register.png"))
    for p in (officer, second, manager):
        p.context.close()


def test_the_administrator_makes_an_operator_and_assigns_a_camera(server: str, page: Page) -> None:
    _login(page, server)
    page.wait_for_url(_at("/live"))
    page.click("#nav-accounts")
    page.wait_for_selector("#account-form")
    page.fill("#account-form input[name=username]", "nightshift")
    page.select_option("#account-form select[name=role]", "duty_operator")
    page.fill("#account-form input[name=display_name]", "夜班 Night shift")
    page.fill("#account-form input[name=work_id]", "U-0042")
    page.click("#create-account")
    page.wait_for_selector("#new-password", state="visible")
    password = page.inner_text("#new-password").split(": ", 1)[1]
    assert len(password) >= 12
    # a duty operator signs requests: a second person confirms it (docs/DUTIES.md)
    page.wait_for_selector("#proposed", state="visible")
    page.wait_for_selector("#pending-changes", state="visible")
    with httpx.Client(base_url=f"{server}/api/v1") as second:
        me = second.post(
            "/auth/login", json={"username": "manager", "password": CAST["manager"].password}
        )
        assert me.status_code == 200, me.text
        (change,) = [
            c for c in second.get("/account-changes").json() if c["username"] == "nightshift"
        ]
        done = second.post(
            f"/account-changes/{change['id']}/confirm",
            headers={"X-CSRF-Token": me.json()["csrf_token"]},
        )
        assert done.status_code == 200, done.text
    page.reload()
    row = "#accounts tr:has(td:text-is('nightshift'))"
    page.select_option(f"{row} select.assign", ["2"])
    page.click(f"{row} button.save-cameras")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#accounts tr')].some(r => "
        "r.textContent.includes('nightshift') && r.querySelector('option[value=\"2\"]').selected)"
    )
    page.screenshot(path=str(ARTIFACTS / "accounts.png"))
    operator = page.context.browser.new_context(locale="en-US")  # type: ignore[union-attr]
    p = operator.new_page()
    _login(p, server, password, "nightshift")
    p.wait_for_selector("#new-password-step", state="visible")  # set by someone else: once
    p.fill("#new-password", "the night shift's own")
    p.fill("#new-password-again", "the night shift's own")
    p.click("#login-submit")
    p.wait_for_url(_at("/live"))
    assert p.eval_on_selector_all("video.live", "vs => vs.map(v => v.dataset.camera)") == ["2"]
    operator.close()


def test_language_switch_shows_chinese_and_is_remembered(server: str, page: Page) -> None:
    _login(page, server)
    page.wait_for_url(_at("/live"))
    assert page.inner_text("#nav-live") == "Live"
    page.click("#lang-zh")
    page.wait_for_url(_at("/live"))
    assert page.inner_text("#nav-live") == "实时"
    page.goto(f"{server}/cameras")
    assert page.inner_text("#nav-cameras") == "摄像机"
    page.screenshot(path=str(ARTIFACTS / "cameras-zh.png"))
    page.click("#lang-en")
    assert page.inner_text("#nav-cameras") == "Cameras"
