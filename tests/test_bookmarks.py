"""Bookmarks on a camera's timeline (issue 12): the rules (domain/bookmarks.py), the API
(/api/v1/bookmarks) on SQLite and PostgreSQL — made and deleted with a ledger entry each, bad
input refused in the user's language, another's bookmark not deletable, a camera that is not
there refused — the /bookmarks page and its filters in the site's time zone, and the request
form the camera page's "Request this range" opens, filled in by the server. (In Chromium:
tests/test_browser_timeline.py.)"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from custodes.clock import iso
from custodes.domain import bookmarks as rules
from custodes.domain.camera import CameraSpec
from custodes.domain.roles import Role
from custodes.entrypoints.web.app import create_app
from custodes.services import cameras as camera_service
from custodes.services import ledger
from custodes.services.context import Context
from custodes.services.settings import site_timezone

from .grant_setup import organisation, person
from .web_client import log_in as _as

EN = {"Accept-Language": "en-GB,en;q=0.9"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
MINUTE_US = 60_000_000
NOW_US = 1_795_000_000_000_000  # 2026-11-19


def test_a_bookmarks_instant_lies_in_the_range_and_not_in_the_future() -> None:
    assert rules.check_instant(NOW_US - MINUTE_US, NOW_US) == NOW_US - MINUTE_US
    assert rules.check_instant(NOW_US + rules.FUTURE_SLACK_US, NOW_US)  # a clock a bit ahead
    with pytest.raises(rules.BadBookmark, match="future"):
        rules.check_instant(NOW_US + rules.FUTURE_SLACK_US + 1, NOW_US)
    for absurd in (-1, 253_402_214_400_000_000):  # 1969, 9999-12-31
        with pytest.raises(rules.BadBookmark, match="between 1970"):
            rules.check_instant(absurd, NOW_US)
    assert rules.clean_note("  gate left open \n") == "gate left open"
    assert rules.clean_note("a\x00b\tc\nd\x1b") == "ab\tc\nd"
    for empty in ("", "   \n"):
        with pytest.raises(rules.BadBookmark, match="required"):
            rules.clean_note(empty)
    with pytest.raises(rules.BadBookmark, match="at most 500"):
        rules.clean_note("x" * (rules.NOTE_MAX + 1))
    assert rules.may_delete(3, 3) and not rules.may_delete(3, 4)


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as c:
        yield c


@pytest.fixture
def camera(ctx: Context) -> int:
    return camera_service.add_camera(
        ctx, CameraSpec(name="Gate", url="rtsp://127.0.0.1:9/x", place="gate")
    ).id


def _entries(ctx: Context, action: str) -> list[dict[str, object]]:
    rows, _ = ledger.entries(ctx, action=action)
    return [{"actor": e.actor, "object": e.object, **json.loads(e.details)} for e in rows]


def _ago(ctx: Context, minutes: int) -> int:
    """µs of `minutes` ago, to the second (as an ISO time in a body says it)."""
    return (ctx.clock() // 1_000_000 - minutes * 60) * 1_000_000


def _add(client: TestClient, camera: int, at_us: int, note: str, **headers: str) -> Response:
    res: Response = client.post(
        "/api/v1/bookmarks",
        json={"camera_id": camera, "at": iso(at_us), "note": note},
        headers=headers,
    )
    return res


def test_a_bookmark_is_made_listed_and_deleted_by_its_author_with_a_ledger_entry_each(
    ctx: Context, client: TestClient, camera: int
) -> None:
    operator = person(ctx, Role.DUTY_OPERATOR)
    manager = person(ctx, Role.SECURITY_MANAGER)
    at = _ago(ctx, 10)
    made = _add(_as(client, operator), camera, at, "  van at the gate  ")
    assert made.status_code == 201, made.text
    b = made.json()
    assert (b["camera_id"], b["camera"], b["at_us"], b["note"]) == (
        camera,
        "Gate",
        at,
        "van at the gate",
    )
    assert (b["author"], b["mine"]) == (operator.username, True)
    assert _entries(ctx, ledger.BOOKMARK_ADDED) == [
        {
            "actor": f"account:{operator.username}",
            "object": f"camera:{camera}",
            "bookmark": b["id"],
            "camera": camera,
            "at_us": at,
            "at": iso(at),
            "note": "van at the gate",
        }
    ]
    # another person sees it, not as theirs, and may not delete it
    c = _as(client, manager)
    (seen,) = c.get("/api/v1/bookmarks", params={"camera_id": camera}).json()
    assert (seen["id"], seen["mine"]) == (b["id"], False)
    refused = c.delete(f"/api/v1/bookmarks/{b['id']}", headers=ZH)
    assert refused.status_code == 403, refused.text
    assert refused.json()["detail"] == "只有书签的作者可以删除它"
    assert _entries(ctx, ledger.BOOKMARK_DELETED) == []
    assert len(c.get("/api/v1/bookmarks").json()) == 1
    # its author deletes it: gone, and the ledger keeps what it said
    c = _as(client, operator)
    assert c.delete(f"/api/v1/bookmarks/{b['id']}").status_code == 204
    assert c.get("/api/v1/bookmarks").json() == []
    (deleted,) = _entries(ctx, ledger.BOOKMARK_DELETED)
    assert (deleted["actor"], deleted["bookmark"], deleted["note"]) == (
        f"account:{operator.username}",
        b["id"],
        "van at the gate",
    )
    gone = c.delete(f"/api/v1/bookmarks/{b['id']}", headers=ZH)
    assert gone.status_code == 404 and gone.json()["detail"] == "没有该书签"


def _messages(res: Response) -> list[str]:
    detail = res.json()["detail"]
    return [d["msg"] for d in detail] if isinstance(detail, list) else [detail]


@pytest.mark.parametrize(
    ("at", "note", "zh"),
    [
        ("9999-12-31T00:00:00Z", "n", "时间："),  # absurd: out of the range of instants
        ("1969-12-31T23:00:00Z", "n", "时间："),
        ("2026-11-29T08:00:00", "n", "时间："),  # no zone
        ("yesterday", "n", "时间："),
        (None, "", "备注："),  # a note is required
        (None, " \n\t", "备注："),
        (None, "\x00\x01", "备注："),  # control characters only (PostgreSQL holds no NUL)
        (None, "x" * (rules.NOTE_MAX + 1), "备注：至多 500 个字符"),
    ],
)
def test_bad_input_is_refused_in_the_users_language_and_nothing_is_kept(
    ctx: Context, client: TestClient, camera: int, at: str | None, note: str, zh: str
) -> None:
    c = _as(client, person(ctx, Role.DUTY_OPERATOR))
    body = {"camera_id": camera, "at": at or iso(ctx.clock() - MINUTE_US), "note": note}
    res = c.post("/api/v1/bookmarks", json=body, headers=ZH)
    assert res.status_code == 422, res.text
    (msg,) = _messages(res)
    assert msg.startswith(zh), msg
    assert not re.search(r"[A-Za-z]{3,}", re.sub("ISO|UTC", "", msg)), msg
    assert c.get("/api/v1/bookmarks").json() == []
    assert _entries(ctx, ledger.BOOKMARK_ADDED) == []


def test_a_bookmark_in_the_future_is_refused(ctx: Context, client: TestClient, camera: int) -> None:
    c = _as(client, person(ctx, Role.DUTY_OPERATOR))
    res = _add(c, camera, ctx.clock() + 3600 * 1_000_000, "tomorrow's", **ZH)
    assert res.status_code == 422, res.text
    assert _messages(res) == ["时间：不能是将来的时间"]
    res = _add(c, camera, ctx.clock() + 3600 * 1_000_000, "tomorrow's", **EN)
    assert _messages(res) == ["Time: must not lie in the future"]


def test_a_camera_that_is_not_there_is_refused(
    ctx: Context, client: TestClient, camera: int
) -> None:
    c = _as(client, person(ctx, Role.DUTY_OPERATOR))
    at = ctx.clock() - MINUTE_US
    missing = _add(c, camera + 1, at, "n", **ZH)
    assert missing.status_code == 404, missing.text
    assert "摄像机" in missing.json()["detail"]
    assert _add(c, 0, at, "n").status_code == 422
    assert _add(c, 2**40, at, "n").status_code == 422
    client.cookies.clear()
    assert _add(client, camera, at, "n").status_code == 401  # no session, no bookmark
    assert client.get("/api/v1/bookmarks").status_code == 401
    assert _entries(ctx, ledger.BOOKMARK_ADDED) == []


def test_bookmarks_are_found_by_camera_words_and_time(
    ctx: Context, client: TestClient, camera: int
) -> None:
    other = camera_service.add_camera(
        ctx, CameraSpec(name="Yard", url="rtsp://127.0.0.1:9/y", place="yard")
    ).id
    c = _as(client, person(ctx, Role.EXTERNAL_OFFICER, organisation(ctx, "PSB", "public-security")))
    now = _ago(ctx, 0)
    for cam, minutes, note in (
        (camera, 50, "Red van parked"),
        (camera, 40, "red car, 100% sure"),
        (other, 30, "a van leaves"),
    ):
        assert _add(c, cam, now - minutes * MINUTE_US, note).status_code == 201

    def notes(**params: object) -> list[str]:
        res = c.get("/api/v1/bookmarks", params=params)
        assert res.status_code == 200, res.text
        return [b["note"] for b in res.json()]

    assert notes() == ["a van leaves", "red car, 100% sure", "Red van parked"]  # newest first
    assert notes(camera_id=camera) == ["red car, 100% sure", "Red van parked"]
    assert notes(q="RED") == ["red car, 100% sure", "Red van parked"]
    assert notes(q="van red") == ["Red van parked"]  # every word
    assert notes(q="100%") == ["red car, 100% sure"]  # no wildcard
    assert notes(q="_") == []
    assert notes(q="red\x00") == ["red car, 100% sure", "Red van parked"]
    assert notes(**{"from": iso(now - 45 * MINUTE_US), "to": iso(now - 30 * MINUTE_US)}) == [
        "red car, 100% sure"
    ]
    bad = c.get("/api/v1/bookmarks", params={"from": "9999-12-31T00:00:00Z"}, headers=ZH)
    assert bad.status_code == 422 and _messages(bad)[0].startswith("开始时间")


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr data-bookmark="\d+">(.*?)</tr>', page, re.DOTALL)


def test_the_bookmarks_page_lists_searches_and_links_to_the_camera_at_the_time(
    ctx: Context, client: TestClient, camera: int
) -> None:
    operator = person(ctx, Role.DUTY_OPERATOR)
    auditor = person(ctx, Role.AUDITOR)
    tz = ZoneInfo(site_timezone(ctx))
    late = datetime(2026, 11, 20, 23, 30, tzinfo=tz)  # the site's 20th, UTC's 20th 15:30
    late_us = int(late.timestamp()) * 1_000_000
    c = _as(client, operator)
    assert _add(c, camera, late_us, "late <b>visitor</b>").status_code == 201
    assert _add(c, camera, late_us + 3600 * 1_000_000, "after midnight").status_code == 201
    page = c.get("/bookmarks", headers=EN)
    assert page.status_code == 200, page.text
    rows = _rows(page.text)
    assert len(rows) == 2 and "after midnight" in rows[0]
    assert "late &lt;b&gt;visitor&lt;/b&gt;" in rows[1]  # escaped, as typed
    assert "2026-11-20 23:30:00" in rows[1]  # in the site's zone
    assert f'href="/cameras/{camera}?{urlencode({"at": iso(late_us)})}"' in rows[1]
    assert all('class="bookmark-delete"' in r for r in rows)  # the author's own
    # a day in the site's zone: the 20th holds 23:30 there, not 00:30 of the 21st
    day = c.get("/bookmarks", params={"from": "2026-11-20", "to": "2026-11-20"}).text
    assert [("late" in r) for r in _rows(day)] == [True]
    day = c.get("/bookmarks", params={"from": "2026-11-21", "camera": camera}).text
    assert [("midnight" in r) for r in _rows(day)] == [True]
    assert len(_rows(c.get("/bookmarks", params={"q": "VISITOR"}).text)) == 1
    assert len(_rows(c.get("/bookmarks", params={"camera": camera + 1}).text)) == 2  # no such
    # a filter that cannot be read is said, never a 500
    for bad in ({"from": "29/11/2026"}, {"to": "9999-12-31"}, {"camera": "9" * 30}):
        res = c.get("/bookmarks", params=bad, headers=ZH)
        assert res.status_code == 200, (bad, res.text)
    assert "不是日期" in c.get("/bookmarks", params={"from": "x"}, headers=ZH).text
    # another reader sees them, without Delete; the Chinese page
    c = _as(client, auditor)
    zh = c.get("/bookmarks", headers=ZH).text
    assert "书签" in zh and len(_rows(zh)) == 2 and "bookmark-delete" not in zh
    assert 'href="/bookmarks" id="nav-bookmarks"' in zh


def test_the_camera_page_offers_bookmarks_and_the_range_to_request_by_role(
    ctx: Context, client: TestClient, camera: int
) -> None:
    officer = person(ctx, Role.EXTERNAL_OFFICER, organisation(ctx, "PSB", "public-security"))
    for who, requests in ((officer, True), (person(ctx, Role.AUDITOR), False)):
        page = _as(client, who).get(f"/cameras/{camera}", headers=EN).text
        assert 'id="bookmark-form"' in page
        assert f'maxlength="{rules.NOTE_MAX}"' in page
        assert ('id="request-range"' in page) is requests
        assert ('id="select-range"' in page) is requests
        assert ("press Select range (or hold Shift)" in page) is requests


def _inputs(page: str) -> dict[str, str]:
    found = dict(
        re.findall(
            r'<input name="(start|end)" type="datetime-local" step="1" required value="([^"]*)"',
            page,
        )
    )
    found["selected"] = ",".join(re.findall(r'<option value="(\d+)" selected>', page))
    return found


def test_the_request_form_is_filled_in_from_the_range_asked_for(
    ctx: Context, client: TestClient, camera: int
) -> None:
    """The server fills it in: the camera chosen, the times as the form's pickers read them
    (the site's wall-clock time, to the second: start down, end up)."""
    officer = person(ctx, Role.EXTERNAL_OFFICER, organisation(ctx, "PSB", "public-security"))
    c = _as(client, officer)
    q = {"camera": camera, "start": "2026-11-29T00:00:01.400Z", "end": "2026-11-29T00:10:05.2Z"}
    page = c.get("/requests/new", params=q, headers=EN)
    assert page.status_code == 200, page.text
    assert _inputs(page.text) == {
        "start": "2026-11-29T08:00:01",
        "end": "2026-11-29T08:10:06",
        "selected": str(camera),
    }
    # bad parameters are left out, never a 500
    empty = {"start": "", "end": "", "selected": ""}
    for bad in (
        {"camera": "abc", "start": "nonsense", "end": q["end"]},
        {"camera": camera + 1, "start": "9999-12-31T00:00:00Z", "end": "9999-12-31T01:00:00Z"},
        {"camera": "9" * 40, "start": q["end"], "end": q["start"]},  # backwards
        {"camera": "-1", "start": "2026-11-29T08:00:00", "end": "2026-11-29T09:00:00"},  # no zone
        {"start": "1969-12-31T23:00:00Z", "end": q["end"]},
    ):
        res = c.get("/requests/new", params=bad, headers=EN)
        assert res.status_code == 200, (bad, res.text)
        assert _inputs(res.text) == empty, bad
    assert _inputs(c.get("/requests/new").text) == empty


def test_a_bookmark_is_read_within_its_authors_organisation_only(
    ctx: Context, client: TestClient, camera: int
) -> None:
    """A note the operating unit's staff keep (where to look, a plate, a name) is not an
    outside officer's to read, nor one police station's bookmark another's: each reads those
    of its own organisation, on the API, the page and the timeline alike."""
    operator = person(ctx, Role.DUTY_OPERATOR)
    station = organisation(ctx, "派出所 Police station", "public-security")
    bureau = organisation(ctx, "市公安局 City bureau", "public-security")
    officer = person(ctx, Role.EXTERNAL_OFFICER, station)
    other = person(ctx, Role.EXTERNAL_OFFICER, bureau)
    assert _add(_as(client, operator), camera, _ago(ctx, 10), "车牌 粤B12345").status_code == 201
    assert _add(_as(client, officer), camera, _ago(ctx, 9), "嫌疑人离开").status_code == 201
    seen = {}
    for who in (operator, officer, other):
        c = _as(client, who)
        seen[who.username] = [b["note"] for b in c.get("/api/v1/bookmarks").json()]
        page = c.get("/bookmarks", headers=ZH).text
        assert ("粤B12345" in page) == (who is operator), who.username
    assert seen == {
        operator.username: ["车牌 粤B12345"],
        officer.username: ["嫌疑人离开"],
        other.username: [],
    }
