"""One language at a time (issue 12): every page the navigation offers each role, rendered in
Simplified Chinese with realistic data present, shows no English a catalogue translates, no
English left untranslated, and no raw code of the rules (an organisation's kind, a basis, a
role, an action, a request's state) where a person reads it. The strings the script shows
(JS_STRINGS) each have a Chinese translation, and the API's refusals a page shows come back in
the page's language.

The text checked is what a person reads: the pages' text without tags, scripts, styles and the
JSON block of the script's strings, plus the attributes read on screen (title, placeholder,
aria-label, alt, a button's value). The data the test stores (names, purposes) are taken out
first: whatever language a person typed stays as they typed it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy import select

from custodes.adapters.db import schema
from custodes.adapters.diskspace import Usage
from custodes.clock import iso
from custodes.domain.access_rules import Action, Basis, OrgKind
from custodes.domain.camera import CameraSpec
from custodes.domain.duties import ChangeKind
from custodes.domain.roles import Role
from custodes.domain.views import checked_view
from custodes.entrypoints.web import i18n, wording
from custodes.entrypoints.web.app import create_app
from custodes.entrypoints.web.deps import CSRF_HEADER
from custodes.entrypoints.web.pages import JS_STRINGS
from custodes.services import (
    access,
    bookmarks,
    camera_health,
    documents,
    retention,
    saved_views,
    sites,
)
from custodes.services import cameras as camera_service
from custodes.services.capacity import check_and_alarm
from custodes.services.context import Context

from .grant_setup import PDF, Person, approved_grant, organisation, person

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
HOUR_US = 3600 * 1_000_000
# Text that reads the same in a Chinese page: the product's name, the other language's own
# name in the switch, and abbreviations Chinese text writes in Latin letters.
LATIN_OK = {
    "Custodes",
    "English",
    "CSV",
    "PDF",
    "TOTP",
    "ID",
    "ISO",
    "RTSP",
    "rtsp",
    "rtsps",
    "ONVIF",
    "URL",
    "Esc",  # a key as its cap reads
}
READ_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}
# The data this test stores, in whatever language (taken out of the text before it is checked).
CAMERA = "大门 Gate camera"
PURPOSE = "案件侦查 case investigation"
HOLD_REASON = "盗窃案取证 burglary evidence"
BOOKMARK_NOTE = "可疑车辆 suspicious van"


class _Visible(HTMLParser):
    """The text a person reads on a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self._skip += 1
        named = dict(attrs)
        for name, value in attrs:
            if value and name in READ_ATTRIBUTES:
                self.parts.append(value)
        if tag == "input" and named.get("type") in ("submit", "button") and named.get("value"):
            self.parts.append(named["value"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def visible(html: str) -> list[str]:
    parser = _Visible()
    parser.feed(html)
    return parser.parts


def _translated_msgids() -> list[str]:
    """The English strings the Chinese catalogue translates into something else."""
    with (i18n.LOCALE_DIR / "zh.po").open("rb") as f:
        catalog = read_po(f, locale="zh")
    found: list[str] = []
    for message in catalog:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for msgid, msgstr in zip(ids, strings, strict=False):
            if msgid and msgstr and msgstr != msgid and str(msgid) not in LATIN_OK:
                found.append(str(msgid))
    return found


def _codes() -> set[str]:
    """Stored codes of the rules no person should read as they are: those with a hyphen or an
    underscore (a one-word code, "copy", "draft", is caught as untranslated English)."""
    values = {v.value for enum in (Action, Basis, OrgKind, Role, ChangeKind) for v in enum}
    return {v for v in values if "-" in v or "_" in v}


@dataclass
class Findings:
    items: list[str] = field(default_factory=list)

    def check(self, where: str, html: str, data: list[str]) -> None:
        for part in visible(html):
            text = part
            for value in sorted(data, key=len, reverse=True):
                text = text.replace(value, " ")
            for msgid, pattern in MSGID_PATTERNS:
                if pattern.search(text):
                    self.items.append(f"{where}: untranslated msgid {msgid!r} in {part!r}")
            for code, pattern in CODE_PATTERNS:
                if pattern.search(text):
                    self.items.append(f"{where}: raw code {code!r} in {part!r}")
            if re.search(r"#\d+\s+(copy|view|retrieve)", text):
                self.items.append(f"{where}: raw grant label in {part!r}")
            for word in re.findall(r"[A-Za-z][A-Za-z'_-]{2,}", text):
                if word not in LATIN_OK:
                    self.items.append(f"{where}: English {word!r} in {part!r}")


MSGIDS = _translated_msgids()
CODES = _codes()


def _word(text: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(text)}(?![\w-])")


# Compiled once: more patterns than re's cache holds (512) were compiled anew for every part.
MSGID_PATTERNS = [(m, _word(m)) for m in MSGIDS if len(m) > 3]
CODE_PATTERNS = [(c, _word(c)) for c in CODES]


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as c:
        yield c


def _as(client: TestClient, who: Person | None) -> TestClient:
    client.cookies.clear()
    client.headers.pop(CSRF_HEADER, None)
    if who is None:
        return client
    res = client.post(
        "/api/v1/auth/login", json={"username": who.username, "password": who.password}
    )
    assert res.status_code == 200, res.text
    client.headers[CSRF_HEADER] = res.json()["csrf_token"]
    return client


def _request(ctx: Context, officers: list[Person], camera: int, *, sign: bool) -> int:
    now = ctx.clock()
    doc = documents.upload(ctx, officers[0].actor, "通知书.pdf", PDF)
    request_id = access.create_request(
        ctx,
        officers[0].actor,
        access.NewRequest(
            camera_ids=(camera,),
            start_us=now - 3 * HOUR_US,
            end_us=now - 2 * HOUR_US,
            action=Action.VIEW,
            basis=Basis.LAW_ENFORCEMENT,
            purpose=PURPOSE,
            document_id=doc.id,
        ),
    )
    if sign:
        for officer in officers:
            access.sign(ctx, officer.actor, request_id, officer.username.upper())
        access.submit(ctx, officers[0].actor, request_id)
    return request_id


def test_every_page_each_role_is_offered_reads_in_chinese(ctx: Context, client: TestClient) -> None:
    camera = camera_service.add_camera(
        ctx, CameraSpec(name=CAMERA, url="rtsp://127.0.0.1:9/x", place="大堂 lobby")
    ).id
    now = ctx.clock()
    made = approved_grant(
        ctx, camera_ids=[camera], start_us=now - 5 * HOUR_US, end_us=now - 4 * HOUR_US
    )
    officers, manager = made.holders, made.manager
    psb = organisation(ctx, "市公安局 City Public Security Bureau", "public-security")
    organisation(ctx, "某律师事务所 Law firm", OrgKind.OTHER_ORGANISATION.value)
    # officers whose work id is their username upper-cased, so that _request can sign
    signers = [
        person(ctx, Role.EXTERNAL_OFFICER, psb, username=f"jing{i}", work_id=f"JING{i}")
        for i in range(2)
    ]
    draft = _request(ctx, signers, camera, sign=False)
    submitted = _request(ctx, signers, camera, sign=True)
    rejected = _request(ctx, signers, camera, sign=True)
    access.reject(ctx, manager.actor, rejected, note="材料不全")
    withdrawn = _request(ctx, signers, camera, sign=False)
    access.withdraw(ctx, signers[0].actor, withdrawn)

    admin = person(ctx, Role.SYSTEM_ADMIN, username="admin1")
    cast = {
        "system administrator": admin,
        "security manager": manager,
        "duty operator": person(ctx, Role.DUTY_OPERATOR, username="op1", work_id="U-1"),
        "auditor": person(ctx, Role.AUDITOR, username="aud1"),
        "external officer": officers[0],
        "external officer (signing)": signers[0],
    }
    # an account change waiting for a second person, so /changes has a row
    c = _as(client, admin)
    pending = c.post(
        "/api/v1/accounts",
        json={"username": "night1", "role": "duty_operator", "display_name": "夜班"},
    )
    assert pending.status_code == 202, pending.text
    # a case hold whose release one person asked for, so /retention shows both steps
    hold = retention.place_hold(
        ctx,
        camera_id=camera,
        start_us=now - 3 * HOUR_US,
        end_us=now - 2 * HOUR_US,
        kind="case",
        reason=HOLD_REASON,
        reference="案-17",
        actor=f"account:{admin.username}",
    )
    retention.release_hold(ctx, hold, actor=f"account:{admin.username}")
    # a site and a group with the camera in them (the live tree, /sites, the camera form)
    # and a saved view of the manager's (/live?view=…)
    site = sites.add_site(ctx, "东区 East campus")
    group = sites.add_group(ctx, "大门 Gates", site.id)
    sites.place_camera(ctx, camera, site.id, [group.id])
    view = saved_views.save_view(ctx, manager.account_id, checked_view("夜班视图", 4, [camera]))

    data = [
        "东区 East campus",
        "大门 Gates",
        "夜班视图",
        CAMERA,
        PURPOSE,
        "大堂 lobby",
        "rtsp://127.0.0.1:9/x",
        "通知书.pdf",
        "调取证据通知书.pdf",
    ]
    data += ["市公安局 City Public Security Bureau", "某律师事务所 Law firm"]
    data += ["市公安局刑侦支队 City PSB criminal investigation", "案件侦查 case investigation"]
    with ctx.engine.connect() as conn:
        people = schema.accounts.c
        for row in conn.execute(select(people.username, people.display_name, people.work_id)):
            data += [v for v in row if v]
        data += list(conn.execute(select(schema.organisations.c.name)).scalars())
    data += [HOLD_REASON, "案-17"]
    # a bookmark on the camera's timeline, so /bookmarks has a row (its note as typed)
    bookmarks.add_bookmark(
        ctx,
        account_id=manager.account_id,
        username=manager.username,
        camera_id=camera,
        at_us=now - HOUR_US,
        note=BOOKMARK_NOTE,
    )
    data += [BOOKMARK_NOTE]
    data += ["night1", "Asia/Shanghai"]  # the site's time zone, by its IANA name
    data += [str(ctx.data.archive)]  # the health page names the archive volume
    # open alarms, so that the alarm list, the health page and every page's banner say them
    camera_health.check_offline(ctx, segment_s=2, watching={camera: now - 60_000_000}, now=now)
    check_and_alarm(ctx, Usage(total=10**12, free=0))

    pages = [
        "/live",
        f"/live?view={view.id}",
        "/sites",
        "/cameras",
        f"/cameras/{camera}",
        "/cameras/new",
        f"/cameras/{camera}/edit",
        "/requests",
        *(f"/requests?state={s}" for s in ("draft", "submitted", "approved", "rejected")),
        "/requests?awaiting=sign",
        "/requests?awaiting=decide",
        "/requests/new",
        f"/requests/new?camera={camera}&start={iso(now - HOUR_US)}&end={iso(now)}",
        "/bookmarks",
        "/bookmarks?from=2026-11-31&q=gate",  # a date that is none: said in Chinese
        *(f"/requests/{r}" for r in (made.request_id, draft, submitted, rejected, withdrawn)),
        "/grants",
        f"/grants/{made.grant.id}",
        "/register",
        "/accounts",
        "/changes",
        "/health",
        "/alarms",
        "/retention",
        "/me",
        "/ledger",
        "/playback",
        f"/playback?camera={camera}",
    ]
    findings = Findings()
    seen = 0
    for role, who in cast.items():
        c = _as(client, who)
        for path in pages:
            res = c.get(path, headers=ZH, follow_redirects=True)
            if res.status_code == 404:
                continue  # not this person's (a grant held by another, a request not theirs)
            assert res.status_code in (200, 403), (role, path, res.status_code)
            assert 'lang="zh-CN"' in res.text, (role, path)
            # the ledger page's entries are evidence, shown as stored (pages_ledger.py)
            shown = re.sub(r'<(td|span) class="stored">.*?</\1>', "", res.text, flags=re.DOTALL)
            findings.check(f"{role} {path} ({res.status_code})", shown, data)
            seen += 1
    c = _as(client, None)
    findings.check("logged out /login", c.get("/login", headers=ZH).text, data)
    assert seen > 60
    assert not findings.items, "\n".join(sorted(set(findings.items)))


def test_every_string_the_script_shows_has_a_chinese_translation() -> None:
    zh = i18n.translations("zh")
    assert [s for s in JS_STRINGS if zh.gettext(s) == s] == []


def _messages(detail: object) -> list[str]:
    if isinstance(detail, list):
        return [str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail]
    return [str(detail)]


def test_a_refusal_a_page_shows_comes_back_in_chinese(ctx: Context, client: TestClient) -> None:
    """What the request form (static/access.js) and the accounts page (static/accounts.js)
    show of the API's answer: its detail's message(s)."""
    camera = camera_service.add_camera(
        ctx, CameraSpec(name=CAMERA, url="rtsp://127.0.0.1:9/x", place="p")
    ).id
    psb = organisation(ctx, "市公安局", "public-security")
    officer = person(ctx, Role.EXTERNAL_OFFICER, psb, username="jing0", work_id="JING0")
    now = ctx.clock()
    c = _as(client, officer)
    backwards = c.post(
        "/api/v1/requests",
        json={
            "camera_ids": [camera],
            "start": iso(now - HOUR_US),
            "end": iso(now - 2 * HOUR_US),
            "action": "view",
            "basis": "law-enforcement",
            "purpose": PURPOSE,
        },
        headers=ZH,
    )
    assert backwards.status_code == 422, backwards.text
    shown = _messages(backwards.json()["detail"])
    assert shown and not any(re.search(r"[A-Za-z]{3,}", m) for m in shown), shown
    admin = person(ctx, Role.SYSTEM_ADMIN, username="admin1")
    c = _as(client, admin)
    taken = c.post(
        "/api/v1/accounts",
        json={"username": officer.username, "role": "auditor", "display_name": "审计"},
        headers=ZH,
    )
    assert 400 <= taken.status_code < 500, taken.text
    shown = [m.replace(officer.username, "") for m in _messages(taken.json()["detail"])]
    assert shown and not any(re.search(r"[A-Za-z]{3,}", m) for m in shown), shown
    assert taken.json()["detail"] == "已有名为 'jing0' 的账户"


@pytest.mark.parametrize(
    ("citation", "zh"),
    [
        ("Jilin Art. 28", "《吉林省公共安全视频图像信息系统管理办法》第28条"),
        ("Jilin Art. 21(3)", "《吉林省公共安全视频图像信息系统管理办法》第21条第(3)项"),
        ("Jilin Art. 24–27", "《吉林省公共安全视频图像信息系统管理办法》第24–27条"),
        ("Atlantis Art. 3", "Atlantis Art. 3"),  # no rules for the place: as it is
        ("Civil Code Art. 203", "Civil Code Art. 203"),
        ("", ""),
        ("<b>", "<b>"),
    ],
)
def test_an_article_is_cited_the_chinese_way_and_any_other_as_it_is(citation: str, zh: str) -> None:
    assert wording.article(citation, "zh") == zh
    assert wording.article(citation, "en") == citation


@pytest.mark.parametrize(
    ("stored", "zh", "en"),
    [
        ("account:admin1", "admin1", "admin1"),
        ("cli:root", "root（命令行）", "root (command line)"),
        ("system", "系统", "The system"),
        ("account:", "account:", "account:"),
        ("%(name)s", "%(name)s", "%(name)s"),
        ("", "", ""),
    ],
)
def test_who_proposed_a_change_is_named_in_words(stored: str, zh: str, en: str) -> None:
    assert wording.actor(stored, "zh") == zh
    assert wording.actor(stored, "en") == en


def _latin_words(message: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z][A-Za-z'_-]{2,}", message) if w not in LATIN_OK]


def test_invalid_input_is_refused_in_chinese_naming_the_field_by_its_label(
    ctx: Context, client: TestClient
) -> None:
    """FastAPI's own 422s (too long, not a time, missing, not a number, not a choice) and the
    services' refusals of a field come back in the caller's language, the field named by the
    label the page gives it; the machine fields (loc, type) stay for API clients."""
    camera = camera_service.add_camera(
        ctx, CameraSpec(name="Gate", url="rtsp://127.0.0.1:9/x", place="p")
    ).id
    admin = person(ctx, Role.SYSTEM_ADMIN, username="admin1")
    psb = organisation(ctx, "市公安局", "public-security")
    officer = person(ctx, Role.EXTERNAL_OFFICER, psb, username="jing0", work_id="JING0")
    request = {
        "camera_ids": [camera],
        "start": "yesterday",
        "end": "2026-11-29T08:00:00+08:00",
        "action": "view",
        "basis": "law-enforcement",
        "purpose": PURPOSE,
    }
    bad_url = {"name": "Gate2", "url": "http://h/x", "place": "p"}
    calls = [
        (admin, "POST", "/api/v1/accounts", {"username": "u" * 200, "role": "auditor"}, "用户名"),
        (admin, "POST", "/api/v1/accounts", {"username": "ok1", "role": "boss"}, "角色"),
        (admin, "POST", "/api/v1/cameras", bad_url, "主码流地址"),
        (admin, "POST", "/api/v1/cameras", {"name": "Gate3", "place": "p"}, "主码流地址"),
        (officer, "POST", "/api/v1/requests", request, "开始时间"),
        (officer, "POST", "/api/v1/requests", {**request, "start": "2026-11-29T08:00"}, "开始时间"),
        (officer, "POST", "/api/v1/requests", {**request, "camera_ids": []}, "摄像机"),
        (
            officer,
            "GET",
            "/api/v1/grants/check?camera_id=abc&need=view&start=x&end=y",
            None,
            "摄像机",
        ),
    ]
    for who, method, path, body, label in calls:
        c = _as(client, who)
        res = c.request(method, path, json=body, headers=ZH)
        assert res.status_code == 422, (path, body, res.text)
        detail = res.json()["detail"]
        assert isinstance(detail, list) and detail, detail
        for item in detail:
            assert item["loc"] and item["type"], item  # the machine fields, for API clients
            assert not _latin_words(item["msg"]), (path, item)
            assert item["field"] and not _latin_words(item["field"]), (path, item)
        assert any(label in item["msg"] for item in detail), (path, detail)
    c = _as(client, admin)
    res = c.post(
        "/api/v1/accounts",
        json={"username": "u" * 200, "role": "auditor"},
        headers={"Accept-Language": "en"},
    )
    assert res.status_code == 422
    (item,) = res.json()["detail"]
    assert item["loc"] == ["body", "username"] and item["type"] == "string_too_long"
    assert item["msg"].startswith("User name: ") and "64" in item["msg"], item


@pytest.mark.parametrize(
    ("citation", "en", "zh"),
    [
        # the access rules cite Shenzhen's draft without saying so, retention says so: a page
        # says it alike, in either language
        (
            "Shenzhen Art. 24(3)",
            "Shenzhen Art. 24(3) (draft regulations)",
            "《深圳经济特区公共安全视频图像信息系统管理条例（草案）》第24条第(3)项",
        ),
        (
            "Shenzhen Art. 32 (draft regulations)",
            "Shenzhen Art. 32 (draft regulations)",
            "《深圳经济特区公共安全视频图像信息系统管理条例（草案）》第32条",
        ),
    ],
)
def test_a_drafts_article_is_cited_as_a_draft_in_either_language(
    citation: str, en: str, zh: str
) -> None:
    assert wording.article(citation, "en") == en
    assert wording.article(citation, "zh") == zh


def test_no_grant_is_said_in_chinese_in_the_sites_time(ctx: Context, client: TestClient) -> None:
    """The refusal the grant page's player shows (GET /grants/check), and every route's 403
    of no grant: in the user's language, its times in the site's time zone, never UTC "Z"."""
    camera = camera_service.add_camera(
        ctx, CameraSpec(name="Gate", url="rtsp://127.0.0.1:9/x", place="p")
    ).id
    psb = organisation(ctx, "市公安局", "public-security")
    officer = person(ctx, Role.EXTERNAL_OFFICER, psb, username="jing0", work_id="JING0")
    c = _as(client, officer)
    times = {"start": "2026-11-29T00:00:00Z", "end": "2026-11-29T01:00:00Z"}
    query = {"camera_id": camera, "need": "copy", **times}
    res = c.get("/api/v1/grants/check", params=query, headers=ZH)
    assert res.status_code == 403, res.text
    said = res.json()["detail"]
    assert not _latin_words(said) and "Z" not in said, said
    assert "2026-11-29 08:00:00" in said and "2026-11-29 09:00:00" in said, said  # Asia/Shanghai
    english = c.get("/api/v1/grants/check", params=query, headers={"Accept-Language": "en"})
    assert english.status_code == 403
    assert english.json()["detail"] == (
        f"no live grant of yours allows a copy of camera {camera} from 2026-11-29 08:00:00 "
        "to 2026-11-29 09:00:00: file an access request"
    )
    media = c.get(f"/api/v1/cameras/{camera}/media", params=times, headers=ZH)
    assert media.status_code == 403 and not _latin_words(media.json()["detail"]), media.text
    missing = c.get("/api/v1/requests/999999", headers=ZH)
    assert missing.status_code == 404 and missing.json()["detail"] == "没有编号为 999999 的申请"
    english = c.get("/api/v1/requests/999999", headers={"Accept-Language": "en"})
    assert english.json()["detail"] == "no request 999999"
