"""The UI in a real browser (Debian's Chromium driven by Playwright): log in, live, playback,
language — over HTTPS, as `custodes serve` speaks by default, with the certificate `init`
made (the browser is told to accept it; httpx trusts the installation's authority file).
Screenshots of each page go to test-artifacts/ for people to look at."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlsplit

import pytest
from playwright.sync_api import Browser, Page

from .browser_env import (
    CAST,
    PASSWORD,
    _advances,
    _api,
    _as,
    _at,
    _login,
    _nav_ids,
    _shot,
)

pytestmark = pytest.mark.slow


def test_wrong_password_is_refused(server: str, page: Page) -> None:
    _login(page, server, "not-the-password")
    page.wait_for_selector("#login-error", state="visible")
    assert "/login" in page.url
    _shot(page, "login-refused.png")


def test_login_then_a_live_tile_plays(server: str, page: Page) -> None:
    _login(page, server)
    page.wait_for_url(_at("/live"))
    _advances(page, "video.live")  # over wss://, the page's origin
    assert page.eval_on_selector("video.live", "v => v.dataset.transport") == "mse"
    _shot(page, "live-grid.png")
    cookies = {c["name"]: c for c in page.context.cookies()}
    session, csrf = cookies["custodes_session"], cookies["custodes_csrf"]
    assert session["secure"] and session["httpOnly"] and session["sameSite"] == "Strict"
    assert csrf["secure"]


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
    _shot(page, "live-grid-hls.png")


def test_language_switch_shows_chinese_and_is_remembered(server: str, page: Page) -> None:
    _login(page, server)
    page.wait_for_url(_at("/live"))
    assert page.inner_text("#nav-live") == "Live"
    page.click("#lang-zh")
    page.wait_for_url(_at("/live"))
    assert page.inner_text("#nav-live") == "实时"
    page.goto(f"{server}/cameras")
    assert page.inner_text("#nav-cameras") == "摄像机"
    _shot(page, "cameras-zh.png")
    page.click("#lang-en")
    assert page.inner_text("#nav-cameras") == "Cameras"


def test_a_decision_refused_is_said_in_the_managers_language(server: str, browser: Browser) -> None:
    """A change withdrawn while the manager's page still offers it: Confirm is refused, in
    Chinese for a Chinese browser; Turn down takes another off the page."""
    officers = {CAST[n].username: CAST[n].account_id for n in ("officer1", "officer2")}
    with _api(server, "admin", PASSWORD) as admin:
        proposed = {}
        for username, account_id in officers.items():  # signers: a reset waits
            res = admin.post(f"/accounts/{account_id}/reset-password", json={})
            assert res.status_code == 202, res.text
            proposed[username] = res.json()["pending"]["id"]
        manager = _as(browser, server, "manager", locale="zh-CN")
        manager.goto(f"{server}/changes")
        first = f"#changes tr[data-change='{proposed['officer1']}']"
        second = f"#changes tr[data-change='{proposed['officer2']}']"
        assert "重置密码" in manager.inner_text(first)  # the kind in words
        assert manager.inner_text("#nav-changes") == "待确认的变更 2"
        withdrawn = admin.post(f"/account-changes/{proposed['officer1']}/cancel")
        assert withdrawn.status_code == 200, withdrawn.text
    manager.click(f"{first} button.confirm-change")
    manager.wait_for_selector("#form-error", state="visible")
    said = manager.inner_text("#form-error")
    assert said == f"账户变更 {proposed['officer1']} 已被驳回或撤回", said
    _shot(manager, "changes-refused-zh.png")
    manager.click(f"{second} button.cancel-change")
    manager.wait_for_selector("#decided")
    assert manager.inner_text("#decided") == "已驳回：变更不会生效。"
    assert manager.query_selector("#changes") is None and manager.query_selector("#no-changes")
    manager.context.close()


def test_the_rules_refuse_in_the_users_language(server: str, browser: Browser) -> None:
    """The rules' reasons through the real service: the API's 422 and the request page in the
    browser's language, the article cited as it is."""
    now = datetime.now(UTC)
    body = {
        "camera_ids": [1],
        "start": (now - timedelta(minutes=5)).isoformat(),
        "end": now.isoformat(),
        "action": "view",
        "basis": "law-enforcement",
        "purpose": "巡查 patrol",
    }
    officer = CAST["officer1"]
    with _api(server, officer.username, officer.password, **{"Accept-Language": "zh-CN"}) as c:
        made = c.post("/requests", json=body)
        assert made.status_code == 201, made.text
        request_id = made.json()["id"]
        assert c.post(f"/requests/{request_id}/sign", json={"work_id": "J-1001"}).status_code == 204
        refused = c.post(f"/requests/{request_id}/submit")
        assert refused.status_code == 422, refused.text
        said = {(d["loc"][-1], d["msg"], d["article"]) for d in refused.json()["detail"]}
        assert said == {
            ("approval_document", "须有审批文件", "Jilin Art. 28"),
            ("staff", "须至少两名工作人员，各自以本人账户签名", "Jilin Art. 28"),
        }
        english = c.post(f"/requests/{request_id}/submit", headers={"Accept-Language": "en"})
        assert {d["msg"] for d in english.json()["detail"]} == {
            "an approval document",
            "at least two staff, each signing with their own account",
        }
        page = _as(browser, server, "officer1", locale="zh-CN")
        page.goto(f"{server}/requests/{request_id}")
        missing = page.inner_text("#refusals")
        # the page cites the article by its regulation's name (entrypoints/web/wording.py)
        cited = (
            "须至少两名工作人员，各自以本人账户签名 — "
            "《吉林省公共安全视频图像信息系统管理办法》第28条"
        )
        assert cited in missing, missing
        page.click("#submit")
        page.wait_for_selector("#form-error", state="visible")
        error = page.inner_text("#form-error")
        # the article cited in the page's language too (routes/access.py "citation")
        assert f"须至少两名工作人员，各自以本人账户签名 ({cited.split(' — ')[1]})" in error, error
        assert "Jilin" not in error, error
        _shot(page, "request-refused-zh.png")
        page.context.close()
        assert c.post(f"/requests/{request_id}/withdraw").status_code == 204


def test_a_camera_moved_to_another_host_says_its_credentials_were_dropped(
    server: str, page: Page
) -> None:
    """docs/SECURITY.md, credentials bound to their endpoint: a new host does not get the
    stored password, and the form says so where the operator is, in their language."""
    _login(page, server)
    page.wait_for_url(_at("/live"))
    page.goto(f"{server}/cameras/new")
    page.fill("input[name=name]", "Side door")
    page.fill("input[name=url]", "rtsp://127.0.0.1:9/side")
    page.fill("input[name=username]", "viewer")
    page.fill("input[name=password]", "side door secret")
    page.fill("input[name=place]", "door")
    page.click("#camera-save")
    page.wait_for_url(lambda url: re.fullmatch(r"/cameras/\d+", urlsplit(url).path) is not None)
    camera_id = int(urlsplit(page.url).path.rsplit("/", 1)[1])
    edit = f"/cameras/{camera_id}/edit"
    page.goto(f"{server}{edit}")
    assert page.get_attribute("input[name=password]", "placeholder") == "unchanged"
    page.fill("input[name=url]", "rtsp://127.0.0.2:9/side")  # another host
    page.click("#camera-save")
    page.wait_for_selector("#credentials-dropped", state="visible")
    assert urlsplit(page.url).path == edit  # kept where the notice is seen
    notice = page.inner_text("#credentials-dropped")
    assert "user name and password were removed" in notice, notice
    assert page.get_attribute("input[name=password]", "placeholder") == ""
    _shot(page, "camera-credentials-dropped.png")
    with _api(server, "admin", PASSWORD) as admin:
        assert admin.get(f"/cameras/{camera_id}").json()["has_credentials"] is False
        # given again, for the new host: kept, and the form goes on to the camera
        page.fill("input[name=username]", "viewer")
        page.fill("input[name=password]", "side door secret")
        page.click("#camera-save")
        page.wait_for_url(_at(f"/cameras/{camera_id}"))
        assert admin.get(f"/cameras/{camera_id}").json()["has_credentials"] is True
        # in Chinese too
        page.goto(f"{server}{edit}")
        page.click("#lang-zh")
        page.wait_for_url(_at(edit))
        page.fill("input[name=url]", "rtsp://127.0.0.3:9/side")
        page.click("#camera-save")
        page.wait_for_selector("#credentials-dropped", state="visible")
        assert "用户名和密码已被删除" in page.inner_text("#credentials-dropped")
        assert admin.post(f"/cameras/{camera_id}/retire").status_code == 200


def test_live_layouts_pick_enlarge_snapshot_and_say_why_a_camera_is_offline(
    server: str, browser: Browser
) -> None:
    with _api(server, "admin", PASSWORD) as api:
        dead = api.post(
            "/cameras", json={"name": "Dead end", "url": "rtsp://127.0.0.1:9/x", "place": "p"}
        ).json()["id"]
    try:
        for lang, size in (("en-US", (1366, 768)), ("zh-CN", (1920, 1080))):
            context = browser.new_context(
                locale=lang,
                viewport={"width": size[0], "height": size[1]},
                ignore_https_errors=True,
                accept_downloads=True,
            )
            page = context.new_page()
            _login(page, server)
            page.wait_for_url(_at("/live"))
            page.goto(f"{server}/live?layout=6")
            tiles = page.locator("#live-grid .tile")
            assert tiles.count() == 6  # every slot is there, empty ones with a picker
            assert page.locator("#live-grid .tile.vacant select.pick-camera").count() == 3
            # the whole grid fits the window's height
            box = page.locator("#live-grid").bounding_box()
            assert box is not None and box["y"] + box["height"] <= size[1] + 1, box
            # the camera that cannot be reached says so, with since when and why
            overlay = page.locator(f".offline[data-offline-for='{dead}']")
            overlay.wait_for(state="visible", timeout=20000)
            head = "Offline since" if lang == "en-US" else "起离线"
            # why, in the page's language too (the recorder's reason, worded by said.py)
            why = "connection refused" if lang == "en-US" else "连接被拒绝"
            assert head in overlay.inner_text() and why in overlay.inner_text().lower()
            # a camera picked into an empty slot plays there
            vacant = page.locator("#live-grid .tile.vacant").first
            slot = vacant.get_attribute("data-slot")
            vacant.locator("select").select_option(label="Gate cam1")
            _advances(page, f".tile[data-slot='{slot}'] video.live")
            # the camera tree, grouped by site, fills the next empty slot
            nxt = page.locator("#live-grid .tile.vacant").first.get_attribute("data-slot")
            page.locator("#camera-tree button.tree-camera", has_text="Gate cam2").click()
            _advances(page, f".tile[data-slot='{nxt}'] video.live")
            # double-click enlarges one tile with the main stream; Esc brings the grid back
            first = page.locator("#live-grid .tile").first
            first.dblclick(position={"x": 40, "y": 40})
            assert "enlarged" in (first.get_attribute("class") or "")
            assert page.locator("#live-grid .tile:visible").count() == 1
            assert first.locator("video.live").get_attribute("data-stream") == "main"
            _shot(page, f"live-enlarged-{lang}.png")
            page.keyboard.press("Escape")
            assert page.locator("#live-grid .tile:visible").count() == 6
            _shot(page, f"live-layout-6-{lang}.png")
            # a snapshot is a JPEG, asked for with the page's own session
            href = first.locator("a.snapshot").get_attribute("href")
            assert first.locator("a.snapshot").get_attribute("download") is not None
            shot = page.request.get(f"{server}{href}")
            assert shot.status == 200, shot.text()
            assert shot.body()[:3] == b"\xff\xd8\xff"
            context.close()
        page_of_25 = browser.new_context(ignore_https_errors=True).new_page()
        _login(page_of_25, server)
        page_of_25.wait_for_url(_at("/live"))
        page_of_25.goto(f"{server}/live?layout=1&page=2")
        assert page_of_25.locator("#page-2.current").count() == 1
        page_of_25.goto(f"{server}/live?layout=25")
        assert page_of_25.locator("#live-grid .tile").count() == 25
        page_of_25.context.close()
    finally:
        with _api(server, "admin", PASSWORD) as api:
            api.post(f"/cameras/{dead}/retire")


def test_each_role_gets_the_navigation_it_can_use(
    server: str, page: Page, browser: Browser
) -> None:
    _login(page, server)
    page.wait_for_url(_at("/live"))
    assert _nav_ids(page) == {
        "nav-live",
        "nav-cameras",
        "nav-bookmarks",
        "nav-accounts",
        "nav-changes",
        "nav-health",
        "nav-alarms",
        "nav-retention",
    }
    assert page.title() == "Live · Custodes"
    assert page.get_attribute("link[rel=icon]", "href") == "/static/favicon.svg"
    page.click("#lang-zh")
    assert page.title() == "实时 · Custodes 公共安全视频图像信息系统"
    assert page.inner_text("#brand").strip() == "Custodes 公共安全视频图像信息系统"
    page.click("#lang-en")
    officer = _as(browser, server, "officer1")
    assert _nav_ids(officer) == {
        "nav-cameras",
        "nav-bookmarks",
        "nav-requests",
        "nav-sign",
        "nav-grants",
        "nav-playback",
    }
    manager = _as(browser, server, "manager")
    assert _nav_ids(manager) == {
        "nav-live",
        "nav-cameras",
        "nav-bookmarks",
        "nav-requests",
        "nav-decide",
        "nav-register",
        "nav-changes",
        "nav-health",
        "nav-alarms",
        "nav-retention",
    }
    _shot(manager, "nav-manager.png")
    for p in (officer, manager):
        p.context.close()


def test_the_days_typed_in_the_register_are_the_sites_days(server: str, browser: Browser) -> None:
    """A browser in New York filters the register of a site in Shanghai: the day typed is
    the site's day (static/app.js siteInstant), not the browser's."""
    context = browser.new_context(
        locale="en-US", timezone_id="America/New_York", ignore_https_errors=True
    )
    page = context.new_page()
    _login(page, server, CAST["manager"].password, CAST["manager"].username)
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"{server}/register")
    assert page.get_attribute("body", "data-timezone") == "Asia/Shanghai"
    page.fill("#reg-from", "2026-12-01")
    page.fill("#reg-to", "2026-12-01")
    page.click("#reg-filter")
    page.wait_for_function(
        "() => document.getElementById('reg-csv').href.includes('from=')", timeout=10_000
    )
    href = unquote(page.get_attribute("#reg-csv", "href") or "")
    assert "from=2026-11-30T16:00:00.000Z" in href, href  # 00:00 in Shanghai
    assert "to=2026-12-01T15:59:59.999Z" in href, href
    context.close()
