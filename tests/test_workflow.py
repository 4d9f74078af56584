"""The workflow around access requests (issue 12): the navigation each role gets, what waits
for a person's signature or decision (the badges and the /requests filters), and the pages
and API behind them. (The same in Chromium: tests/test_browser.py.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from custodes.adapters.db import schema
from custodes.adapters.db.limits import BIGINT_MAX, BIGINT_MIN
from custodes.domain.access_rules import Action, Basis
from custodes.domain.camera import CameraSpec
from custodes.domain.roles import Role
from custodes.entrypoints.web import pages_ledger
from custodes.entrypoints.web.app import create_app
from custodes.entrypoints.web.labels import LEDGER_ACTION_LABELS
from custodes.entrypoints.web.routes.accounts import qr_svg
from custodes.services import access, documents, ledger, tls
from custodes.services import cameras as camera_service
from custodes.services.context import Context
from custodes.services.ledger import account_actor
from custodes.services.settings import site_timezone

from .grant_setup import PDF, Person, organisation, person
from .web_client import log_in as _as

HOUR = 3_600_000_000
EN = {"Accept-Language": "en"}


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as c:
        yield c


def _nav(page: str) -> set[str]:
    """The ids of the navigation's links."""
    nav = re.search(r"<nav>(.*?)</nav>", page, re.DOTALL)
    assert nav is not None
    return set(re.findall(r'id="(nav-[a-z]+)"', nav.group(1)))


def _badge(page: str, link: str) -> int | None:
    m = re.search(rf'id="{link}" data-count="(\d+)"', page)
    return int(m.group(1)) if m else None


def test_the_navigation_offers_each_role_only_what_it_can_use(
    ctx: Context, client: TestClient
) -> None:
    psb = organisation(ctx, "派出所 Police station", "public-security")
    cast = {
        Role.SYSTEM_ADMIN: {
            "nav-live",
            "nav-cameras",
            "nav-bookmarks",
            "nav-accounts",
            "nav-changes",
        },
        Role.SECURITY_MANAGER: {
            "nav-live",
            "nav-cameras",
            "nav-bookmarks",
            "nav-requests",
            "nav-decide",
            "nav-register",
            "nav-changes",
        },
        Role.AUDITOR: {
            "nav-cameras",
            "nav-bookmarks",
            "nav-requests",
            "nav-register",
            "nav-ledger",
        },
        Role.DUTY_OPERATOR: {
            "nav-live",
            "nav-cameras",
            "nav-bookmarks",
            "nav-requests",
            "nav-sign",
            "nav-grants",
            "nav-playback",
        },
        Role.EXTERNAL_OFFICER: {
            "nav-cameras",
            "nav-bookmarks",
            "nav-requests",
            "nav-sign",
            "nav-grants",
            "nav-playback",
        },
    }
    # the roles that read health, alarms and retention
    status = {"nav-health", "nav-alarms", "nav-retention"}
    for role, links in cast.items():
        who = person(ctx, role, psb if role is Role.EXTERNAL_OFFICER else 1)
        page = _as(client, who).get("/me", headers=EN)
        assert page.status_code == 200, page.text
        held = links | (status if role is not Role.EXTERNAL_OFFICER else set())
        assert _nav(page.text) == held, role


def test_the_product_has_one_name_in_each_language_and_an_icon(
    ctx: Context, client: TestClient
) -> None:
    _as(client, person(ctx, Role.AUDITOR))
    en = client.get("/me", headers=EN).text
    assert "<title>My account · Custodes</title>" in en
    assert re.search(r'<a class="brand"[^>]*>.*?Custodes</a>', en, re.DOTALL)
    zh = client.get("/me", headers={"Accept-Language": "zh-CN"}).text
    assert "<title>我的账户 · Custodes 公共安全视频图像信息系统</title>" in zh, zh[:400]
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in en
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.text.lstrip().startswith("<svg")


def _draft(ctx: Context, by: Person, camera_id: int) -> int:
    doc = documents.upload(ctx, by.actor, "通知书.pdf", PDF)
    now = ctx.clock()
    return access.create_request(
        ctx,
        by.actor,
        access.NewRequest(
            camera_ids=(camera_id,),
            start_us=now - 2 * HOUR,
            end_us=now - HOUR,
            action=Action.VIEW,
            basis=Basis.LAW_ENFORCEMENT,
            purpose="案件侦查 case",
            document_id=doc.id,
        ),
    )


def test_what_waits_for_my_signature_and_my_approval(ctx: Context, client: TestClient) -> None:
    cam = camera_service.add_camera(
        ctx, CameraSpec(name="lobby", url="rtsp://127.0.0.1:9/x", place="lobby")
    ).id
    psb = organisation(ctx, "派出所 Police station", "public-security")
    a = person(ctx, Role.EXTERNAL_OFFICER, psb, work_id="P-1")
    b = person(ctx, Role.EXTERNAL_OFFICER, psb, work_id="P-2")
    outsider = person(
        ctx, Role.EXTERNAL_OFFICER, organisation(ctx, "法院 Court", "judicial"), work_id="C-1"
    )
    manager = person(ctx, Role.SECURITY_MANAGER)
    auditor = person(ctx, Role.AUDITOR)
    first, second = _draft(ctx, a, cam), _draft(ctx, a, cam)
    access.sign(ctx, a.actor, first, "P-1")

    def waiting(who: Person, step: str) -> list[int]:
        res = _as(client, who).get(f"/api/v1/requests?awaiting={step}")
        assert res.status_code == 200, res.text
        return [r["id"] for r in res.json()]

    assert waiting(a, "sign") == [second]  # signed the first already
    assert waiting(b, "sign") == [second, first]
    assert waiting(outsider, "sign") == []  # another organisation's drafts
    assert waiting(manager, "sign") == [] and waiting(auditor, "decide") == []
    assert waiting(manager, "decide") == []  # nothing submitted yet
    page = _as(client, b).get("/requests?awaiting=sign", headers=EN).text
    assert _badge(page, "nav-sign") == 2
    assert re.findall(r'<tr data-request="(\d+)"', page) == [str(second), str(first)]
    assert 'id="filter-awaiting-sign" class="current"' in page
    assert 'id="filter-awaiting-decide"' not in page  # an officer decides nothing

    access.sign(ctx, b.actor, first, "P-2")
    access.submit(ctx, a.actor, first)
    assert waiting(b, "sign") == [second]
    assert waiting(manager, "decide") == [first]
    page = _as(client, manager).get("/requests", headers=EN).text
    assert _badge(page, "nav-decide") == 1 and _badge(page, "nav-sign") is None
    assert '<span class="count">1</span>' in page
    filtered = _as(client, manager).get("/requests?awaiting=decide", headers=EN).text
    assert re.findall(r'<tr data-request="(\d+)"', filtered) == [str(first)]
    access.approve(ctx, manager.actor, first)
    assert waiting(manager, "decide") == []
    page = _as(client, manager).get("/requests", headers=EN).text
    assert _badge(page, "nav-decide") == 0 and '<span class="count">' not in page
    bad = _as(client, manager).get("/api/v1/requests?awaiting=everything")
    assert bad.status_code == 422
    # a filter the page does not know shows every request, as an unknown state does
    assert _as(client, b).get("/requests?awaiting=x", headers=EN).status_code == 200


def test_a_manager_among_the_staff_is_not_awaited(ctx: Context, client: TestClient) -> None:
    """A manager who filed a request does not decide it (another manager does): it is not
    among what awaits that manager's approval, but it is among the other manager's."""
    cam = camera_service.add_camera(
        ctx, CameraSpec(name="lobby", url="rtsp://127.0.0.1:9/x", place="lobby")
    ).id
    filer = person(ctx, Role.DUTY_OPERATOR, work_id="U-1")
    rid = _draft(ctx, filer, cam)
    mgr, other = person(ctx, Role.SECURITY_MANAGER), person(ctx, Role.SECURITY_MANAGER)
    counts = access.count_awaiting(ctx, filer.actor)
    assert counts == {"sign": 1, "decide": 0}
    access.sign(ctx, filer.actor, rid, "U-1")
    assert access.count_awaiting(ctx, filer.actor) == {"sign": 0, "decide": 0}
    assert access.count_awaiting(ctx, mgr.actor)["decide"] == 0  # still a draft
    del other


# --- TOTP enrolment: the QR code ----------------------------------------------------------


def test_totp_enrolment_comes_with_the_uri_as_a_qr_code(ctx: Context, client: TestClient) -> None:
    who = person(ctx, Role.AUDITOR)
    begun = _as(client, who).post("/api/v1/me/totp", json={"password": who.password})
    assert begun.status_code == 200, begun.text
    body = begun.json()
    svg = body["qr_svg"]
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and svg.endswith("</svg>")
    assert "<script" not in svg and "href" not in svg and "<?xml" not in svg
    # the code is the URI's, with the key in it: the same modules segno makes of the URI
    assert svg == qr_svg(body["uri"]) and body["secret"] in body["uri"]
    assert svg != qr_svg(body["uri"] + "x")
    page = client.get("/me", headers=EN).text
    assert 'id="totp-qr"' in page


# --- the ledger page ----------------------------------------------------------------------


def _seqs(page: str) -> list[int]:
    return [int(s) for s in re.findall(r'<tr data-seq="(-?\d+)"', page)]


def test_the_ledger_page_is_the_auditors(ctx: Context, client: TestClient) -> None:
    psb = organisation(ctx, "派出所 Police station", "public-security")
    for role in (Role.SYSTEM_ADMIN, Role.SECURITY_MANAGER, Role.DUTY_OPERATOR):
        page = _as(client, person(ctx, role)).get("/ledger", headers=EN)
        assert page.status_code == 403 and "Your role does not allow this page" in page.text
    officer = person(ctx, Role.EXTERNAL_OFFICER, psb)
    assert _as(client, officer).get("/ledger", headers=EN).status_code == 403
    client.cookies.clear()
    anonymous = client.get("/ledger", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    page = _as(client, person(ctx, Role.AUDITOR)).get("/ledger", headers=EN)
    assert page.status_code == 200 and 'id="ledger"' in page.text


def test_the_ledger_page_filters_and_pages_newest_first(ctx: Context, client: TestClient) -> None:
    auditor = person(ctx, Role.AUDITOR)
    tz = ZoneInfo(site_timezone(ctx))
    noon = datetime(2026, 11, 30, 12, 0, tzinfo=tz)
    at = int(noon.timestamp()) * 1_000_000
    made = [
        ledger.record_now(
            ctx,
            actor=account_actor("alice") if i % 2 else "system",
            action=ledger.CAMERA_CHANGED if i % 3 else ledger.SETTING_CHANGED,
            object=f"camera:{i}",
            details={"i": i},
            time_us=at + i * 60_000_000,  # one a minute from noon, site time
        )
        for i in range(60)
    ]
    c = _as(client, auditor)
    first = c.get("/ledger", headers=EN).text
    shown = _seqs(first)
    assert len(shown) == pages_ledger.PAGE and shown == sorted(shown, reverse=True)
    older = re.search(r'href="/ledger\?before=(\d+)" id="ledger-older"', first)
    assert older is not None
    rest = _seqs(c.get(f"/ledger?before={older.group(1)}", headers=EN).text)
    assert rest and max(rest) < min(shown) and set(made) <= set(shown) | set(rest)
    # action and actor (an account's name finds its entries)
    alice = _seqs(c.get("/ledger?actor=alice&action=camera-changed", headers=EN).text)
    assert alice == [s for i, s in reversed(list(enumerate(made))) if i % 2 and i % 3]
    # a range in the site's time: 12:10 (inclusive) to 12:15 (exclusive)
    ranged = c.get("/ledger?from=2026-11-30T12:10&to=2026-11-30T12:15", headers=EN).text
    assert _seqs(ranged) == made[10:15][::-1]
    assert "2026-11-30 12:14:00" in ranged and "2026-11-30 12:15:00" not in ranged
    kept = c.get("/ledger?actor=alice&action=camera-changed&from=2026-11-30T12:00", headers=EN)
    assert 'value="alice"' in kept.text and '<option value="camera-changed" selected>' in kept.text
    bad = c.get("/ledger?from=yesterday", headers=EN)
    assert bad.status_code == 200 and 'id="ledger-error"' in bad.text and _seqs(bad.text) == []
    zh = c.get("/ledger?to=nope", headers={"Accept-Language": "zh-CN"}).text
    assert "日志台账" in zh and 'id="ledger-error"' in zh
    zh = c.get("/ledger?action=camera-changed", headers={"Accept-Language": "zh-CN"}).text
    assert '<tr data-seq="' in zh and "<td>修改摄像机</td>" in zh  # the action in words
    assert c.get(f"/ledger?before={2**70}", headers=EN).status_code == 200  # ignored


def test_any_stored_entry_renders(ctx: Context, client: TestClient) -> None:
    """Whatever a row holds (written by any version, or by hand): the page shows it escaped,
    and a time no calendar holds as its number."""
    weird = [
        (10**12, BIGINT_MAX, "<script>alert(1)</script>", "made-up", "x" * 256, "not json <b>"),
        (10**12 + 1, BIGINT_MIN, "account:李", "login", "", ""),
        (10**12 + 2, 0, "a" * 128, "b" * 64, "对象", '{"a":"\\u0000"}'),
    ]
    with ctx.engine.begin() as conn:
        for seq, time_us, actor, action, obj, details in weird:
            conn.execute(
                insert(schema.ledger).values(
                    seq=seq,
                    time_us=time_us,
                    actor=actor,
                    action=action,
                    object=obj,
                    details=details,
                    prev_hash="0" * 64,
                    hash="f" * 64,
                )
            )
    page = _as(client, person(ctx, Role.AUDITOR)).get("/ledger", headers=EN)
    assert page.status_code == 200
    assert _seqs(page.text)[:3] == [10**12 + 2, 10**12 + 1, 10**12]
    assert "<script>alert" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert f"{BIGINT_MAX} µs since 1970 UTC" in page.text
    assert f"{BIGINT_MIN} µs since 1970 UTC" in page.text
    made_up = _as(client, person(ctx, Role.AUDITOR)).get("/ledger?action=made-up", headers=EN)
    assert _seqs(made_up.text) == [10**12]
    assert '<span class="stored">made-up</span>' in made_up.text  # an unknown action as stored


def test_every_action_the_ledger_holds_is_named() -> None:
    assert set(LEDGER_ACTION_LABELS) == set(ledger.ACTIONS) | set(tls.ACTIONS)
