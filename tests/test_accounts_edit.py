"""Changing an account on /accounts (issue 12, "account unlock and role change"): the page
offers each account's edit dialog with its values as they are (a work ID "U-0002" is text),
shows a role change that waits for a second person on the account's row with a link to
/changes, and the PATCH behind the dialog refuses, in the user's language, what may not be.
(The dialog in Chromium: tests/test_browser_admin.py.)"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from custodes.domain.roles import Role
from custodes.entrypoints.web.app import create_app
from custodes.services.context import Context

from .grant_setup import organisation, person
from .web_client import log_in as _as

EN = {"Accept-Language": "en-GB,en;q=0.9"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as c:
        yield c


def _row(page: str, account_id: int) -> str:
    return page.split(f'<tr data-account="{account_id}">', 1)[1].split("</tr>", 1)[0]


def _edit(row: str) -> dict[str, str]:
    """The edit button's data attributes."""
    m = re.search(r'<button type="button" class="edit"(.*?)>', row, re.DOTALL)
    assert m is not None, row
    return {k: html.unescape(v) for k, v in re.findall(r'data-([\w-]+)="([^"]*)"', m.group(1))}


def test_the_edit_dialog_is_offered_with_the_accounts_values(
    ctx: Context, client: TestClient
) -> None:
    admin = person(ctx, Role.SYSTEM_ADMIN)
    operator = person(ctx, Role.DUTY_OPERATOR, work_id="U-0002")
    psb = organisation(ctx, "市公安局", "public-security")
    officer = person(ctx, Role.EXTERNAL_OFFICER, psb)
    page = _as(client, admin).get("/accounts", headers=EN).text
    assert 'id="edit-dialog"' in page
    mine = _edit(_row(page, operator.account_id))
    assert mine["work-id"] == "U-0002" and mine["role"] == "duty_operator"
    assert mine["outside"] == "no" and mine["own"] == "no"
    assert _edit(_row(page, officer.account_id))["outside"] == "yes"
    assert _edit(_row(page, admin.account_id))["own"] == "yes"


def test_a_role_change_that_empowers_waits_on_the_page(ctx: Context, client: TestClient) -> None:
    admin = person(ctx, Role.SYSTEM_ADMIN)
    auditor = person(ctx, Role.AUDITOR)
    c = _as(client, admin)
    res = c.patch(f"/api/v1/accounts/{auditor.account_id}", json={"role": "security_manager"})
    assert res.status_code == 202, res.text
    assert res.json()["pending"]["kind"] == "role"
    page = c.get("/accounts?proposed=role", headers=EN).text
    row = _row(page, auditor.account_id)
    assert "Waits for a second person: Security manager" in row and 'href="/changes"' in row
    assert 'id="proposed">' in page  # shown, not hidden, after the dialog's 202
    assert c.get(f"/api/v1/accounts/{auditor.account_id}").json()["role"] == "auditor"
    zh = _row(c.get("/accounts", headers=ZH).text, auditor.account_id)
    assert "等待另一人确认：安保主管" in zh


def test_a_change_that_does_not_empower_takes_effect_and_keeps_the_work_id_as_text(
    ctx: Context, client: TestClient
) -> None:
    admin = person(ctx, Role.SYSTEM_ADMIN)
    manager = person(ctx, Role.SECURITY_MANAGER)
    c = _as(client, admin)
    res = c.patch(
        f"/api/v1/accounts/{manager.account_id}",
        json={"role": "auditor", "work_id": "U-0002", "display_name": "审计 Audit"},
    )
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["role"] == "auditor" and body["work_id"] == "U-0002"
    row = _row(c.get("/accounts", headers=EN).text, manager.account_id)
    assert "<td>U-0002</td>" in row and "Waits for a second person" not in row
    assert _edit(row)["work-id"] == "U-0002" and _edit(row)["role"] == "auditor"


@pytest.mark.parametrize(
    ("who", "body", "code"),
    [
        ("own", {"role": "auditor"}, 403),  # one's own role: another administrator's
        ("operator", {"role": "external_officer"}, 422),  # not a role of the unit's staff
        ("operator", {"role": "king"}, 422),
        ("operator", {"work_id": "U" * 65}, 422),
    ],
)
def test_a_change_that_may_not_be_is_refused_in_chinese(
    ctx: Context, client: TestClient, who: str, body: dict[str, str], code: int
) -> None:
    admin = person(ctx, Role.SYSTEM_ADMIN)
    operator = person(ctx, Role.DUTY_OPERATOR)
    target = admin if who == "own" else operator
    res = _as(client, admin).patch(f"/api/v1/accounts/{target.account_id}", json=body, headers=ZH)
    assert res.status_code == code, res.text
    detail = res.json()["detail"]
    text = detail if isinstance(detail, str) else " ".join(d["msg"] for d in detail)
    assert CJK.search(text), text
    assert client.get(f"/api/v1/accounts/{target.account_id}").json()["role"] == target.actor.role
    row = _row(client.get("/accounts", headers=ZH).text, target.account_id)
    assert _edit(row)["role"] == target.actor.role  # the dialog offers it as it still is


def test_a_role_that_may_not_change_accounts_is_refused(ctx: Context, client: TestClient) -> None:
    manager = person(ctx, Role.SECURITY_MANAGER)
    operator = person(ctx, Role.DUTY_OPERATOR)
    c = _as(client, manager)
    res = c.patch(f"/api/v1/accounts/{operator.account_id}", json={"role": "auditor"})
    assert res.status_code == 403
    page = c.get("/accounts", headers=EN)
    assert page.status_code == 403 and 'id="edit-dialog"' not in page.text
    admin = _as(client, person(ctx, Role.SYSTEM_ADMIN)).get("/accounts", headers=EN).text
    assert _edit(_row(admin, operator.account_id))["role"] == "duty_operator"  # unchanged
