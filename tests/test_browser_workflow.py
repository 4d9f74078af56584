"""The access flow and the people around it in Chromium: request, sign, approve, play,
export, register; accounts and their confirmation; badges; an auditor's TOTP and ledger;
health and alarms."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page

from custodes.domain.roles import Role
from custodes.paths import DATABASE_URL_ENV

from .browser_env import (
    CAST,
    SERVED,
    _advances,
    _api,
    _as,
    _as_admin,
    _at,
    _login,
    _nav_ids,
    _shot,
)
from .grant_setup import PDF, Person, person

pytestmark = pytest.mark.slow


NIGHTSHIFT = "#changes tr:has(td.account:text-is('nightshift'))"


def test_access_flow_request_approve_play_export_register(
    server: str, browser: Browser, tmp_path: Path
) -> None:
    """Two officers file and sign a copy request, a manager approves, an officer plays and
    exports under the grant, the export verifies offline, and the register shows it."""
    officer = _as(browser, server, "officer1")
    officer.goto(f"{server}/requests/new")
    officer.select_option("select[name=camera_ids]", ["1"])
    now = datetime.now(UTC)  # footage up to now: what is not yet recorded is live view
    site, local = ZoneInfo("Asia/Shanghai"), "%Y-%m-%dT%H:%M:%S"  # typed in the site's time
    officer.fill(
        "input[name=start]", (now - timedelta(minutes=10)).astimezone(site).strftime(local)
    )
    officer.fill("input[name=end]", now.astimezone(site).strftime(local))
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
    _shot(officer, "request-one-signature.png")

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
    manager.click("#confirm-ok")  # the dialog that says what approving does
    manager.wait_for_selector("#grant")
    _shot(manager, "request-approved.png")

    officer.goto(f"{server}/grants")
    officer.click("#grants tbody tr a")
    officer.wait_for_selector("#grant-use")
    # what the grant covers is offered in the site's time (Asia/Shanghai here), never UTC:
    # from its first whole second
    begun = (now - timedelta(minutes=10)).astimezone(site)
    # (read as a time: the browser drops the seconds of a whole minute, "…T19:54")
    offered = datetime.fromisoformat(officer.input_value("#from")).replace(tzinfo=site)
    first = begun.replace(microsecond=0)
    assert offered in (first, first + timedelta(seconds=1)), offered
    # play the last minute the grant covers, typed in the site's time
    officer.fill("#from", (now - timedelta(minutes=1)).astimezone(site).strftime(local))
    officer.fill("#to", now.astimezone(site).strftime(local))
    officer.click("#play")
    _advances(officer, "#grant-video")
    officer.click("#export")
    link = officer.wait_for_selector("#exports a", timeout=60000)
    assert link is not None
    with officer.expect_download() as download:
        link.click()
    bundle = tmp_path / "export.zip"
    download.value.save_as(bundle)
    # the export is the grant's for good: still listed, with its link, after a reload
    exported = link.get_attribute("id")
    officer.reload()
    kept = officer.wait_for_selector(f"#{exported}")
    assert kept is not None and "MB" in officer.inner_text("#exports")
    out = tmp_path / "export"
    with zipfile.ZipFile(bundle) as z:
        z.extractall(out)
    manifest = next(out.rglob("manifest.json"))
    # footage up to seconds ago, strictly, against the installation's published key (what the
    # operating unit hands the recipient apart from the bundle): the export signed the
    # checkpoint that closes it
    published = SERVED[0].archive / "public-keys.jsonl"
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
    _shot(officer, "grant-export.png")

    manager.goto(f"{server}/register")
    manager.wait_for_selector("#register tbody tr[data-kind='export-created']")
    text = manager.inner_text("#register")
    assert "J-1001" in text and "J-1002" in text and "evidence room" in text
    assert manager.query_selector("#register tbody tr[data-kind='media-viewed']") is not None
    _shot(manager, "register.png")
    # a filter whose "from" is after its "to": said, and no stale rows left under it
    manager.fill("#reg-from", "2026-12-05")
    manager.fill("#reg-to", "2026-12-01")
    manager.click("#reg-filter")
    manager.wait_for_selector("#reg-error", state="visible")
    assert manager.query_selector_all("#register tbody tr") == []
    assert "must be after" in manager.inner_text("#reg-error")
    _shot(manager, "register-bad-filter.png")
    for p in (officer, second, manager):
        p.context.close()


def test_the_administrator_makes_an_operator_and_assigns_a_camera(
    server: str, page: Page, browser: Browser
) -> None:
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
    # the proposer finds it among the changes to confirm, and cannot confirm it
    page.click("#pending-changes a")
    page.wait_for_url(_at("/changes"))
    mine = page.wait_for_selector(NIGHTSHIFT)
    assert mine is not None and mine.query_selector("button.confirm-change") is None
    assert "You proposed it" in mine.inner_text()
    # the security manager confirms it on the same page
    manager = _as(browser, server, "manager")
    assert manager.inner_text("#nav-changes") == "Changes to confirm 1"
    manager.click("#nav-changes")
    manager.wait_for_url(_at("/changes"))
    shown = manager.inner_text(NIGHTSHIFT)
    for words in (
        "New account",
        "Role: Duty operator",
        "Work ID: U-0042",
        "admin (",
    ):  # the proposer, by user name
        assert words in shown, shown
    _shot(manager, "changes.png")
    manager.click(f"{NIGHTSHIFT} button.confirm-change")
    manager.wait_for_selector("#decided")
    assert manager.query_selector(NIGHTSHIFT) is None
    assert "Confirmed" in manager.inner_text("#decided")
    manager.context.close()
    page.goto(f"{server}/accounts")
    row = "#accounts tr:has(td:text-is('nightshift'))"
    page.select_option(f"{row} select.assign", ["2"])
    page.click(f"{row} button.save-cameras")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#accounts tr')].some(r => "
        "r.textContent.includes('nightshift') && r.querySelector('option[value=\"2\"]').selected)"
    )
    _shot(page, "accounts.png")
    operator = page.context.browser.new_context(  # type: ignore[union-attr]
        locale="en-US", ignore_https_errors=True
    )
    p = operator.new_page()
    _login(p, server, password, "nightshift")
    p.wait_for_selector("#new-password-step", state="visible")  # set by someone else: once
    p.fill("#new-password", "the night shift's own")
    p.fill("#new-password-again", "the night shift's own")
    p.click("#login-submit")
    p.wait_for_url(_at("/live"))
    assert p.eval_on_selector_all("video.live", "vs => vs.map(v => v.dataset.camera)") == ["2"]
    operator.close()


def _file_request(c: httpx.Client) -> int:
    """A view request on camera 1 over the last minutes, with its document, as a draft."""
    doc = c.post("/documents", files={"file": ("通知书.pdf", PDF, "application/pdf")})
    assert doc.status_code == 201, doc.text
    now = datetime.now(UTC)
    made = c.post(
        "/requests",
        json={
            "camera_ids": [1],
            "start": (now - timedelta(minutes=3)).isoformat(),
            "end": (now - timedelta(minutes=2)).isoformat(),
            "action": "view",
            "basis": "law-enforcement",
            "purpose": "巡查 patrol",
            "document_id": doc.json()["id"],
        },
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _count(p: Page, link: str) -> int:
    return int(p.get_attribute(f"#{link}", "data-count") or "-1")


def test_badges_count_what_awaits_me_and_decisions_are_confirmed_first(
    server: str, browser: Browser
) -> None:
    one, two = CAST["officer1"], CAST["officer2"]
    with (
        _api(server, one.username, one.password) as c1,
        _api(server, two.username, two.password) as c2,
    ):
        rid = _file_request(c1)
        assert c1.post(f"/requests/{rid}/sign", json={"work_id": "J-1001"}).status_code == 204
        draft = _file_request(c1)  # waits for both officers' signatures
        waiting = [r["id"] for r in c2.get("/requests?awaiting=sign").json()]
        assert rid in waiting and draft in waiting
        second = _as(browser, server, "officer2")
        assert _count(second, "nav-sign") == len(waiting)
        assert second.inner_text("#nav-sign") == f"Awaiting my signature {len(waiting)}"
        second.click("#nav-sign")
        second.wait_for_url(lambda url: "awaiting=sign" in url)
        rows = second.eval_on_selector_all("#requests tr[data-request]", "rs => rs.length")
        assert rows == len(waiting)
        assert c2.post(f"/requests/{rid}/sign", json={"work_id": "J-1002"}).status_code == 204
        assert c2.post(f"/requests/{rid}/submit").status_code == 204
        second.reload()
        assert _count(second, "nav-sign") == len(waiting) - 1
        # the requester withdraws the other draft, once the dialog said what that means
        first = _as(browser, server, "officer1")
        first.goto(f"{server}/requests/{draft}")
        first.click("#withdraw")
        first.wait_for_selector("#confirm-dialog[open]")
        assert "nobody can sign, submit or approve it" in first.inner_text("#confirm-dialog")
        first.click("#confirm-ok")
        first.wait_for_function(
            "() => document.querySelector('#request-state').dataset.state === 'withdrawn'"
        )
        second.context.close()
        first.context.close()
    manager = _as(browser, server, "manager")
    with _api(server, "manager", CAST["manager"].password) as m:
        decide = [r["id"] for r in m.get("/requests?awaiting=decide").json()]
    assert rid in decide and _count(manager, "nav-decide") == len(decide)
    manager.goto(f"{server}/requests/{rid}")
    manager.click("#approve")
    dialog = manager.wait_for_selector("#confirm-dialog[open]")
    assert dialog is not None
    said = manager.inner_text("#confirm-dialog")
    assert f"Approve request #{rid}?" in said and "get a grant to the footage" in said, said
    _shot(manager, "confirm-approve.png")
    manager.click("#confirm-cancel")  # cancelled: nothing is decided
    manager.wait_for_selector("#confirm-dialog", state="hidden")
    manager.wait_for_timeout(300)
    manager.reload()
    assert manager.get_attribute("#request-state", "data-state") == "submitted"
    manager.click("#approve")
    manager.click("#confirm-ok")
    manager.wait_for_selector("#grant")
    assert manager.get_attribute("#request-state", "data-state") == "approved"
    assert _count(manager, "nav-decide") == len(decide) - 1
    manager.context.close()


@pytest.fixture
def auditor(server: str, tmp_path_factory: pytest.TempPathFactory) -> Person:
    """An auditor of the served installation, made in its own database."""
    from custodes.services.context import open_context

    if "auditor" not in CAST:
        data = SERVED[0]
        saved = os.environ.pop(DATABASE_URL_ENV, None)  # the server's is the data directory's
        ctx = open_context(data, migrate=False)
        try:
            CAST["auditor"] = person(ctx, Role.AUDITOR, username="auditor")
        finally:
            ctx.engine.dispose()
            if saved is not None:
                os.environ[DATABASE_URL_ENV] = saved
    return CAST["auditor"]


def test_an_auditor_enrols_totp_by_qr_code_and_reads_the_ledger(
    server: str, browser: Browser, auditor: Person
) -> None:
    p = _as(browser, server, "auditor")
    assert _nav_ids(p) == {
        "nav-cameras",
        "nav-bookmarks",
        "nav-requests",
        "nav-register",
        "nav-ledger",
        "nav-health",
        "nav-alarms",
        "nav-retention",
    }
    p.goto(f"{server}/me")
    p.fill("#totp-form input[name=password]", auditor.password)
    p.click("#totp-begin")
    p.wait_for_selector("#totp-qr svg path")
    size = p.eval_on_selector("#totp-qr svg", "s => s.getBoundingClientRect().width")
    assert size > 100, size  # a code a phone can scan
    assert p.inner_text("#totp-secret") in p.inner_text("#totp-uri")
    _shot(p, "totp-qr.png")
    p.click("#nav-ledger")
    p.wait_for_selector("#ledger tbody tr[data-seq]")
    seqs = p.eval_on_selector_all("#ledger tr[data-seq]", "rs => rs.map(r => +r.dataset.seq)")
    assert seqs == sorted(seqs, reverse=True) and 0 < len(seqs) <= 50  # a page at most
    p.fill("#ledger-actor", "auditor")
    p.select_option("#ledger-action", "login")
    p.click("#ledger-apply")
    p.wait_for_url(lambda url: "actor=auditor" in url)
    actions = p.eval_on_selector_all("#ledger tr[data-seq]", "rs => rs.map(r => r.dataset.action)")
    assert actions == ["login"], actions
    assert "account:auditor" in p.inner_text("#ledger")
    p.fill("#ledger-from", "2099-01-01T00:00:00")
    p.click("#ledger-apply")
    p.wait_for_selector("#ledger-empty")
    _shot(p, "ledger.png")
    p.context.close()


def _footage_cut(message: str) -> int:
    """A footage-cut alarm on the first camera, as a crash leaves one, in the server's store."""
    from custodes.adapters.db.engine import make_engine
    from custodes.clock import now_us
    from custodes.services import alarms

    engine = make_engine(SERVED[0].database_url())
    try:
        with engine.begin() as conn:
            alarms.raise_footage_cut(conn, 1, message, now_us())
            return max(a.id for a in alarms.open_alarms(conn) if a.kind == alarms.FOOTAGE_CUT)
    finally:
        engine.dispose()


def test_health_and_alarms_pages_acknowledge_with_a_note(server: str, browser: Browser) -> None:
    alarm = _footage_cut("seq 7 open when recording stopped")
    page = _as_admin(browser, server)
    assert "Footage cut short" in page.inner_text("#alarm-banner")
    page.goto(f"{server}/health")
    rows = page.locator("#health-cameras tbody tr")
    assert rows.count() == 2
    for i in range(2):
        assert rows.nth(i).get_attribute("data-online") == "online"
        assert "fps" in rows.nth(i).inner_text() and "Mbit/s" in rows.nth(i).inner_text()
    assert "days" in page.inner_text("#health-volumes")
    _shot(page, "health-en.png")
    page.click("#alarm-list-link")  # the banner leads to the alarm list
    page.wait_for_url(_at("/alarms"))
    row = f"#alarm-{alarm}"
    page.click(f"{row} button[type=submit]")  # no note: the form does not go
    page.wait_for_timeout(300)
    assert page.locator(f"{row} form.ack-form").count() == 1
    page.fill(f"{row} textarea", "checked the recorder's disk; power cut at 03:10")
    page.click(f"{row} button[type=submit]")
    page.wait_for_selector(f"{row} td.note:has-text('power cut at 03:10')")
    assert "account:admin" in page.inner_text(row)
    banner = page.locator("#alarm-banner")
    assert banner.count() == 0 or "Footage cut short" not in banner.inner_text()  # closed
    _shot(page, "alarms-en.png")
    page.click("#lang-zh")
    page.wait_for_url(_at("/alarms"))
    assert page.inner_text("h1") == "告警"
    page.goto(f"{server}/health")
    assert page.inner_text("h1") == "健康状况" and "在线" in page.inner_text("#health-cameras")
    _shot(page, "health-zh.png")
    page.click("#lang-en")
    page.context.close()
    # an external officer is shown no banner, and no health page
    _footage_cut("seq 9 quarantined")
    officer = _as(browser, server, "officer1")
    officer.goto(f"{server}/requests")
    assert officer.locator("#alarm-banner").count() == 0
    assert officer.goto(f"{server}/health").status == 403  # type: ignore[union-attr]
    officer.context.close()
    admin = _as_admin(browser, server)
    assert admin.locator("#alarm-banner").count() == 1  # the new one is shown to those who act
    admin.context.close()
