"""The operator's console in Chromium (issue 12, Workflow): holds placed and released on
/retention by two security managers, each release step behind its confirmation dialog; an
account's role changed on /accounts, waiting for a second person. English at 1366×768 and
Chinese at 1920×1080, screenshots under test-artifacts/."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from custodes.domain.roles import Role
from custodes.paths import DATABASE_URL_ENV

from .browser_env import CAST, SERVED, _at, _login, _shot
from .grant_setup import Person, person

pytestmark = pytest.mark.slow

EN = ("en-US", {"width": 1366, "height": 768})
ZH = ("zh-CN", {"width": 1920, "height": 1080})


def _made(name: str, role: Role) -> Person:
    """An account of the served installation, made in its own database."""
    from custodes.services.context import open_context

    if name not in CAST:
        saved = os.environ.pop(DATABASE_URL_ENV, None)  # the server's is the data directory's
        ctx = open_context(SERVED[0], migrate=False)
        try:
            CAST[name] = person(ctx, role, username=name)
        finally:
            ctx.engine.dispose()
            if saved is not None:
                os.environ[DATABASE_URL_ENV] = saved
    return CAST[name]


@pytest.fixture
def pages(browser: Browser) -> Iterator[list[Page]]:
    """The pages a test opens (closed after it)."""
    opened: list[Page] = []
    yield opened
    for p in opened:
        p.context.close()


def _open(
    browser: Browser, server: str, who: Person | None, look: tuple[str, dict[str, int]]
) -> Page:
    locale, viewport = look
    context = browser.new_context(locale=locale, viewport=viewport, ignore_https_errors=True)  # type: ignore[arg-type]
    p = context.new_page()
    if who is None:
        _login(p, server)  # the administrator
    else:
        _login(p, server, who.password, who.username)
    p.wait_for_url(lambda url: "/login" not in url)
    return p


def _confirm(p: Page, button: str, *, cancel_first: bool = False) -> None:
    """Click `button`; its dialog says what the step does; Cancel takes no step, OK does."""
    if cancel_first:
        p.click(button)
        p.wait_for_selector("#confirm-dialog[open]")
        p.click("#confirm-cancel")
        p.wait_for_selector("#confirm-dialog", state="hidden")
    p.click(button)
    p.wait_for_selector("#confirm-dialog[open]")
    assert p.inner_text("#confirm-consequence")
    p.click("#confirm-ok")


def test_two_managers_place_and_release_a_hold(
    server: str, browser: Browser, pages: list[Page]
) -> None:
    first = _open(browser, server, CAST["manager"], EN)
    pages.append(first)
    first.click("#nav-retention")
    first.wait_for_url(_at("/retention"))
    assert "days" in first.inner_text("#retention tbody tr")  # the camera's retention
    form = "#hold-form"
    first.select_option(f"{form} select[name=camera_id]", "1")
    first.select_option(f"{form} select[name=kind]", "case")
    first.fill(f"{form} textarea[name=reason]", "盗窃案取证 burglary evidence")
    first.fill(f"{form} input[name=reference]", "CASE-17")
    # a range backwards is refused, saying why
    first.fill(f"{form} input[name=start]", "2026-12-01T10:00:00")
    first.fill(f"{form} input[name=end]", "2026-12-01T09:00:00")
    first.click("#place-hold")
    first.wait_for_selector("#form-error", state="visible")
    assert first.url.endswith("/retention")
    first.fill(f"{form} input[name=end]", "2026-12-01T11:30:00")
    first.click("#place-hold")
    first.wait_for_url(lambda url: url.endswith("/retention?done=placed"))
    row = "#holds tr:has(td.reason:has-text('CASE-17'))"
    shown = first.inner_text(row)
    # typed in the site's time (Asia/Shanghai) and shown in it again
    assert "10:00:00" in shown and "11:30:00" in shown and "manager" in shown
    _shot(first, "admin-hold-placed.png")
    _confirm(first, f"{row} button.release-hold", cancel_first=True)
    first.wait_for_url(lambda url: url.endswith("done=requested"))
    assert "You asked for its release" in first.inner_text(row)
    assert first.query_selector(f"{row} button.release-hold") is None  # not twice

    second = _open(browser, server, _made("manager2", Role.SECURITY_MANAGER), ZH)
    pages.append(second)
    second.click("#nav-retention")
    second.wait_for_url(_at("/retention"))
    assert "manager 已提出解除" in second.inner_text(row)
    _confirm(second, f"{row} button.release-hold")
    second.wait_for_url(lambda url: url.endswith("done=released"))
    assert "已由 manager2 解除" in second.inner_text(row)
    _shot(second, "admin-hold-released-zh.png")


def test_an_administrator_changes_a_role_and_it_waits_for_a_second_person(
    server: str, browser: Browser, pages: list[Page]
) -> None:
    auditor = _made("auditor1", Role.AUDITOR)
    admin = _open(browser, server, None, EN)
    pages.append(admin)
    admin.click("#nav-accounts")
    admin.wait_for_url(_at("/accounts"))
    row = f"#accounts tr[data-account='{auditor.account_id}']"
    admin.click(f"{row} button.edit")
    admin.wait_for_selector("#edit-dialog[open]")
    # an outsider's role is not offered to the unit's staff
    assert admin.is_disabled("#edit-form option[value=external_officer]")
    admin.select_option("#edit-form select[name=role]", "security_manager")
    admin.fill("#edit-form input[name=work_id]", "U-0002")
    _shot(admin, "admin-role-dialog.png")
    admin.click("#edit-save")
    admin.wait_for_url(lambda url: url.endswith("/accounts?proposed=role"))
    assert admin.is_visible("#proposed")
    shown = admin.inner_text(row)
    assert "Auditor" in shown and "U-0002" in shown  # the work ID as typed, not a number
    assert "Waits for a second person: Security manager" in shown
    _shot(admin, "admin-role-waits.png")
    admin.click("#proposed-link")
    admin.wait_for_url(_at("/changes"))
    change = f"#changes tr:has(td.account:text-is('{auditor.username}'))"
    assert admin.query_selector(f"{change} button.confirm-change") is None  # not the proposer

    manager = _open(browser, server, CAST["manager"], ZH)
    pages.append(manager)
    manager.click("#nav-changes")
    manager.wait_for_url(_at("/changes"))
    manager.click(f"{change} button.confirm-change")
    manager.wait_for_selector("#decided")
    _shot(manager, "admin-role-confirmed-zh.png")
    admin.goto(f"{server}/accounts")
    shown = admin.inner_text(row)
    assert "Security manager" in shown and "Waits for a second person" not in shown
