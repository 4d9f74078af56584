"""The page where a second person confirms account changes (/changes, docs/DUTIES.md): who
sees it, what it shows of each change in the user's language, that a decided or lapsed change
is not offered, that whatever a stored change holds renders, and that a refusal comes back in
the user's language. (The page's buttons in Chromium: tests/test_browser.py.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from custodes.adapters.db import schema
from custodes.domain import duties
from custodes.domain.roles import Role
from custodes.entrypoints.web.app import create_app
from custodes.services.context import Context

from .grant_setup import person
from .web_client import log_in as _as

EN = {"Accept-Language": "en-GB,en;q=0.9"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as c:
        yield c


def _rows(page: str) -> dict[int, str]:
    """The page's rows of changes, by id: each row's HTML."""
    return {
        int(m.group(1)): m.group(2)
        for m in re.finditer(r'<tr data-change="(\d+)"(.*?)</tr>', page, re.DOTALL)
    }


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _nav(page: str) -> str | None:
    m = re.search(r'<a href="/changes" id="nav-changes" data-count="(\d+)"', page)
    return m.group(1) if m else None


def _store(ctx: Context, **values: Any) -> int:
    """A change row as the table may hold it, whatever wrote it."""
    now = ctx.clock()
    row = {
        "kind": "create",
        "account_id": None,
        "username": "someone",
        "details": "{}",
        "proposed_by": "account:elsewhere",
        "proposed_us": now,
        "expires_us": now + duties.PENDING_TTL_US,
        "state": "pending",
        **values,
    }
    with ctx.engine.begin() as conn:
        return int(
            conn.execute(
                insert(schema.account_changes).values(**row).returning(schema.account_changes.c.id)
            ).scalar_one()
        )


def test_a_confirming_role_sees_each_change_in_words_and_decides_it(
    ctx: Context, client: TestClient
) -> None:
    proposer = person(ctx, Role.SYSTEM_ADMIN, username="admin2")
    manager = person(ctx, Role.SECURITY_MANAGER, username="manager1")
    operator = person(ctx, Role.DUTY_OPERATOR, username="op1", work_id="U-1")
    auditor = person(ctx, Role.AUDITOR, username="aud1")
    c = _as(client, proposer)
    made = c.post(
        "/api/v1/accounts",
        json={
            "username": "night1",
            "role": "duty_operator",
            "display_name": "夜班 Night",
            "work_id": "U-7",
        },
    )
    assert made.status_code == 202, made.text
    create_id = made.json()["pending"]["id"]
    promote = c.patch(f"/api/v1/accounts/{operator.account_id}", json={"role": "security_manager"})
    assert promote.status_code == 202, promote.text
    role_id = promote.json()["pending"]["id"]

    # the proposer sees them, and no Confirm for their own: someone else confirms
    page = c.get("/changes", headers=EN).text
    assert _nav(page) == "2"
    rows = _rows(page)
    assert set(rows) == {create_id, role_id}
    for own in rows.values():
        assert "confirm-change" not in own and "You proposed it" in own
    # and a confirm of their own is refused in their language
    refused = c.post(f"/api/v1/account-changes/{create_id}/confirm", headers=ZH)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "变更须由第二人确认，提出人不能自行确认"
    refused = c.post(f"/api/v1/account-changes/{create_id}/confirm", headers=EN)
    assert refused.json()["detail"] == duties.NOT_THE_PROPOSER

    # a security manager: the kind in words, the account, what changes, who and when
    c = _as(client, manager)
    page = c.get("/changes", headers=EN).text
    rows = _rows(page)
    create, role = _text(rows[create_id]), _text(rows[role_id])
    assert "New account" in create and "night1" in create
    assert "Role: Duty operator" in create and "Work ID: U-7" in create
    assert "Name: 夜班 Night" in create and "admin2" in create and "account:admin2" not in create
    assert "Role change" in role and "op1" in role
    assert "Role: Duty operator → Security manager" in role
    assert "password-reset" not in page and "duty_operator" not in _text(page)
    assert all("confirm-change" in r and "Turn down" in r for r in rows.values())
    assert len(re.findall(r"<time data-us=", rows[create_id])) == 2  # proposed, lapses
    chinese = c.get("/changes", headers=ZH).text
    role_zh = _text(_rows(chinese)[role_id])
    assert "角色变更" in role_zh and "角色：值班员 → 安保主管" in role_zh
    assert "确认" in role_zh and "驳回" in role_zh and "提出人" in chinese

    # confirmed and turned down: no longer offered, and a second try is refused in words
    assert c.post(f"/api/v1/account-changes/{role_id}/confirm").status_code == 200
    assert c.post(f"/api/v1/account-changes/{create_id}/cancel").status_code == 200
    page = c.get("/changes?done=confirm", headers=EN).text
    assert _rows(page) == {} and 'id="no-changes"' in page and _nav(page) == "0"
    assert "Confirmed: the change has taken effect." in page
    again = c.post(f"/api/v1/account-changes/{role_id}/confirm", headers=ZH)
    assert again.status_code == 409
    assert again.json()["detail"] == f"账户变更 {role_id} 已经确认"
    gone = c.post(f"/api/v1/account-changes/{create_id}/confirm", headers=EN)
    assert (
        gone.json()["detail"] == f"account change {create_id} was turned down or withdrawn already"
    )

    # roles that confirm nothing have neither the page nor its link
    for who in (auditor, person(ctx, Role.DUTY_OPERATOR)):
        c = _as(client, who)
        assert c.get("/changes").status_code == 403
        assert _nav(c.get("/requests").text) is None


def test_whatever_a_stored_change_holds_the_page_renders(ctx: Context, client: TestClient) -> None:
    """A row the code never wrote (by hand, by a later version, by a bug): an unknown kind,
    details that are no object or not JSON, values of any type, times at the int64 edges,
    markup in a name — each renders as far as it can be read; a lapsed or decided one is not
    offered."""
    now = ctx.clock()
    odd = {
        _store(
            ctx, kind="merge", details='{"a": [1, 2], "b": null, "c": "' + "x" * 5000 + '"}'
        ): "merge",
        _store(ctx, kind="role", details='{"from": 5, "to": {"x": 1}}'): "5 → {",
        _store(ctx, kind="create", details="[1, 2]"): "New account",
        _store(ctx, kind="enable", details="not json {"): "log in again",
        _store(ctx, kind="password-reset", details='"a string"'): "used once",
        _store(ctx, kind="totp-remove", details='{"role": "overlord"}'): "Role: overlord",
        _store(
            ctx,
            username="<script>alert(1)</script>",
            proposed_by="cli:<b>root</b>",
            proposed_us=BIGINT_MIN,
            expires_us=BIGINT_MAX,
        ): "&lt;script&gt;",
    }
    lapsed = _store(ctx, expires_us=now - 1)
    decided = _store(ctx, state="confirmed", decided_by="account:x", decided_us=now)
    strange_state = _store(ctx, state="???")
    c = _as(client, person(ctx, Role.SECURITY_MANAGER))
    for headers in (EN, ZH):
        res = c.get("/changes", headers=headers)
        assert res.status_code == 200, res.text
        rows = _rows(res.text)
        assert set(rows) == set(odd), sorted(rows)
        assert lapsed not in rows and decided not in rows and strange_state not in rows
        assert "<script>alert" not in res.text and "<b>root" not in res.text
        assert _nav(res.text) == str(len(odd))
    rows = _rows(c.get("/changes", headers=EN).text)
    for change_id, shown in odd.items():
        assert shown in rows[change_id], (shown, rows[change_id])
    assert "A change of a kind this version does not know (merge)" in rows[min(odd)]
    assert len(rows[min(odd)]) < 2000  # a long stored value is cut
    assert f'data-us="{BIGINT_MIN}"' in rows[max(odd)]
    # the API lists them too
    listed = c.get("/api/v1/account-changes")
    assert listed.status_code == 200 and len(listed.json()) == len(odd) + 1  # and the lapsed
