"""Every UI string goes through gettext and has a Simplified Chinese translation."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest

from custodes.domain import access_rules, duties
from custodes.entrypoints.web import changes_view, i18n, wording
from custodes.entrypoints.web.labels import (
    ACTION_LABELS,
    ALARM_TITLES,
    BASIS_LABELS,
    CHANGE_KIND_LABELS,
    LEDGER_ACTION_LABELS,
    ORG_KIND_LABELS,
    ROLE_LABELS,
    STATE_LABELS,
)
from custodes.entrypoints.web.pages import JS_STRINGS, TEMPLATES
from custodes.entrypoints.web.pages_access import AWAITING_LABELS, DONE
from custodes.services.accounts import pending
from custodes.services.context import Context

_CALL = re.compile(r"""_\(\s*(["'])(.+?)\1""")
STATES = ("recording", "reconnecting", "starting", "stopped", "idle", "error", "disk-full")


def _template_strings() -> set[str]:
    found: set[str] = set()
    for path in TEMPLATES.glob("*.html"):
        found |= {m.group(2) for m in _CALL.finditer(path.read_text(encoding="utf-8"))}
    return found


def test_every_string_has_a_chinese_translation() -> None:
    wanted = _template_strings() | set(JS_STRINGS) | set(STATES) | set(ALARM_TITLES.values())
    for labels in (
        ACTION_LABELS,
        BASIS_LABELS,
        STATE_LABELS,
        ROLE_LABELS,
        ORG_KIND_LABELS,
        CHANGE_KIND_LABELS,
        DONE,
        AWAITING_LABELS,
        LEDGER_ACTION_LABELS,
        changes_view.WHAT,
    ):
        wanted |= set(labels.values())
    wanted |= {changes_view.UNKNOWN_KIND, changes_view.PAIR}
    wanted |= {label for _, label in changes_view.FIELDS}
    assert len(wanted) > 40
    zh = i18n.translations("zh")
    missing = sorted(s for s in wanted if zh.gettext(s) == s)
    assert missing == []
    en = i18n.translations("en")
    assert all(en.gettext(s) == s for s in wanted)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_each_catalogue_is_well_formed_one_entry_per_string(lang: str) -> None:
    """What msgfmt -c would refuse (a merge can join two entries): a msgid without its msgstr,
    a msgid twice (the second translation silently wins, or loses, one of the two places)."""
    lines = (i18n.LOCALE_DIR / f"{lang}.po").read_text(encoding="utf-8").splitlines()
    seen: dict[tuple[str, str], int] = {}
    context = ""
    problems = []
    for n, line in enumerate(lines):
        if line.startswith("msgctxt "):
            context = line
        if not line.startswith("msgid "):
            continue
        key = [line]
        k = n + 1
        while k < len(lines) and lines[k].startswith('"'):
            key.append(lines[k])
            k += 1
        if k >= len(lines) or not lines[k].startswith("msgstr"):
            problems.append(f"line {n + 1}: {line} has no msgstr")
        ident = (context, "".join(key))
        if ident in seen and ident != ("", 'msgid ""'):
            problems.append(f"line {n + 1}: {line} again (first on line {seen[ident]})")
        seen.setdefault(ident, n + 1)
        context = ""
    assert problems == []


@pytest.mark.parametrize(
    ("cookie", "header", "lang"),
    [
        (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        (None, "en-GB,en;q=0.9", "en"),
        ("en", "zh-CN", "en"),
        ("zh", "en-US", "zh"),
        ("xx", None, "zh"),
    ],
)
def test_language_choice(cookie: str | None, header: str | None, lang: str) -> None:
    assert i18n.choose(cookie, header) == lang


PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def test_every_reason_the_rules_and_the_confirmation_give_has_a_chinese_translation() -> None:
    """What the rules (domain/access_rules.py REASONS, derived from the code by
    tests/test_access_rules.py), the separation of duties (domain/duties.py REASONS) and the
    confirmation of account changes (services/accounts/pending.py MESSAGES) say: each has a
    Chinese msgstr with the same parameters, and comes out filled in, in each language."""
    wanted = (*access_rules.REASONS, *duties.REASONS, *pending.MESSAGES)
    zh = i18n.translations("zh")
    for msgid in wanted:
        chinese = zh.gettext(msgid)
        assert chinese != msgid, msgid
        assert re.search(r"[\u4e00-\u9fff]", chinese), msgid
        names = set(PLACEHOLDER.findall(msgid))
        assert set(PLACEHOLDER.findall(chinese)) == names, msgid
        params = {n: f"<{n}>" for n in names}
        for lang in i18n.LANGUAGES:
            said = wording.say(msgid, params, lang)
            assert "%(" not in said and all(v in said for v in params.values()), (lang, said)
    assert wording.say(access_rules.PURPOSE_MISSING, {}, "en") == access_rules.PURPOSE_MISSING
    # a code of the rules in a reason is shown by its label, in the user's language
    basis = {"kind": "individual", "basis": "judicial"}
    assert (
        wording.say(access_rules.BASIS_NOT_OPEN, basis, "zh")
        == "“个人”类申请方不能以“司法机关”为依据提出申请"
    )
    assert "“Individual”" in wording.say(access_rules.BASIS_NOT_OPEN, basis, "en")
    # total: parameters that do not fit give the English, never an error
    short = {"kind": "individual"}
    assert wording.say(access_rules.BASIS_NOT_OPEN, short, "zh") == access_rules.BASIS_NOT_OPEN
    assert wording.say("100% sure", {}, "zh") == "100% sure"


def test_pages_rendered_at_once_in_two_languages_each_keep_their_own(ctx: Context) -> None:
    """The templates' catalogue was installed into one shared environment per request, so a
    page rendered while another request installed the other language came out in that one."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from custodes.domain.transport import LOOPBACK_PLAIN
    from custodes.entrypoints.web.pages import environment
    from custodes.entrypoints.web.server import WebServer

    from .conftest import free_port
    from .recording import wait_for

    assert environment("zh") is not environment("en")
    port = free_port()
    server = WebServer(ctx, "127.0.0.1", port, LOOPBACK_PLAIN)
    server.start()
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/api/v1/health").status_code == 200
        except httpx.HTTPError:
            return False

    wait_for("the web server", up, 20, every=0.1)
    want = {"zh-CN": "<h1>登录</h1>", "en": "<h1>Log in</h1>"}

    def page(i: int) -> bool:
        lang = "zh-CN" if i % 2 else "en"
        with httpx.Client(base_url=base) as c:
            return all(
                want[lang] in c.get("/login", headers={"accept-language": lang}).text
                for _ in range(20)
            )

    try:
        with ThreadPoolExecutor(8) as pool:
            assert all(pool.map(page, range(8)))
    finally:
        server.stop()


def test_every_wording_of_invalid_input_has_a_chinese_translation() -> None:
    """The labels a 422 names a field by, and each sentence saying what is wrong (invalid.py)."""
    from custodes.entrypoints.web import invalid
    from custodes.entrypoints.web.labels import FIELD_LABELS

    wanted = set(FIELD_LABELS.values()) | set(invalid.PROBLEMS.values()) | set(invalid.FORMS)
    wanted |= {invalid.FIELD_PROBLEM, invalid.SOME_INPUT, invalid.THE_BODY, invalid.NOT_VALID}
    zh = i18n.translations("zh")
    assert sorted(s for s in wanted if zh.gettext(s) == s) == []
    en = i18n.translations("en")
    assert all(en.gettext(s) == s for s in wanted)


@pytest.mark.parametrize(
    ("message", "zh"),
    [
        ("must start with rtsp:// or rtsps://", "须以 rtsp:// 或 rtsps:// 开头"),
        ("at most 64 cameras per request", "每份申请至多 64 台摄像机"),
        ("a submitted request cannot be withdrawn", "状态为“待审批”的申请不能撤回"),
        (
            "no work ID is registered for your account, and Jilin Art. 28 asks for one: an "
            "administrator registers it first",
            "您的账户未登记工作证号，而《吉林省公共安全视频图像信息系统管理办法》第28条要求出示："
            "请先由管理员登记",
        ),
        ("须晚于 开始时间", "须晚于 开始时间"),  # a route's own words, translated already
        ("something no catalogue knows", "该值无效"),
        ("%(n)s", "该值无效"),
    ],
)
def test_a_services_refusal_of_a_field_is_worded_in_chinese(message: str, zh: str) -> None:
    from custodes.entrypoints.web import invalid

    assert invalid.problem({"type": "value_error", "msg": message}, "zh") == zh
    assert invalid.problem({"type": "value_error", "msg": message}, "en") == message
    (item,) = invalid.localise([{"loc": ["body", "url"], "msg": message, "type": "x"}], "zh")
    assert item["field"] == "主码流地址" and item["msg"].startswith("主码流地址：")


def test_every_refusal_of_footage_has_a_chinese_translation() -> None:
    """No grant, nothing recorded (wording.no_grant): the sentences and their words."""
    from custodes.services import grants
    from custodes.services.exports.errors import NOTHING_RECORDED

    wanted = {grants.NO_GRANT, grants.OTHER_GRANT, grants.NOT_COVERED, grants.NOT_A_COPY}
    wanted |= {NOTHING_RECORDED, *wording.NEED_WORDS.values()}
    zh = i18n.translations("zh")
    assert sorted(s for s in wanted if zh.gettext(s) == s) == []


def test_a_time_a_person_reads_is_in_the_sites_zone() -> None:
    assert wording.site_time(0, "Asia/Shanghai") == "1970-01-01 08:00:00"
    assert wording.site_time(0, "Nowhere/Atlantis") == "1970-01-01T00:00:00.000Z"  # total
    assert wording.site_time(10**30, "Asia/Shanghai").endswith("µs since 1970 UTC")


@pytest.mark.parametrize(
    ("message", "zh"),
    [
        ("the window is limited to 2 hours", "时段至多 2 小时"),
        ("the window is limited to 31 days", "时段至多 31 天"),
        ("must be after from", "须晚于开始时间"),
        ("a hold's end must be after its start", "保全的结束时间须晚于开始时间"),
    ],
)
def test_a_window_filter_or_hold_refused_is_worded_in_chinese(message: str, zh: str) -> None:
    from custodes.entrypoints.web import invalid

    assert invalid.problem({"type": "value_error", "msg": message}, "zh") == zh


# The services' errors that name a field or refuse an object, and which of their arguments is
# the message a page shows (routes: deps.field_error, or a 403/404's detail).
_SERVICE_ERRORS = {
    "AccessError": 1,
    "CameraFieldError": 1,
    "Invalid": 1,
    "BadFilter": 1,
    "PasswordRuleError": 1,
    "NotAllowed": 0,
    "NotFound": 0,
}


def _service_messages() -> list[tuple[str, int, str]]:
    """Each such message in services/, an f-string's parts filled with "7"."""
    return _refusals_in("custodes.services", _SERVICE_ERRORS)


def test_every_message_a_service_refuses_with_is_worded_in_chinese() -> None:
    """A new service message the Chinese UI would show in English (or as "not valid") fails
    here until locale/zh.po, or invalid.FORMS for one with a number or name in it, has it."""
    from custodes.entrypoints.web import invalid

    messages = _service_messages()
    assert len(messages) > 40
    untranslated = [m for m in messages if invalid.sentence(m[2], "zh") == m[2]]
    assert untranslated == []


def _refusals_in(package: str, calls: Mapping[str, int]) -> list[tuple[str, int, str]]:
    """The literal texts given to `calls` (a name → the index of its text argument) in a
    package's modules, an f-string's parts filled with "7"."""
    import ast
    import importlib
    from pathlib import Path

    root = Path(str(importlib.import_module(package).__file__)).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            at = calls.get(str(getattr(node.func, "id", getattr(node.func, "attr", None))))
            if at is None or len(node.args) <= at:
                continue
            arg = node.args[at]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.append((path.name, node.lineno, arg.value))
            elif isinstance(arg, ast.JoinedStr):
                text = "".join(
                    str(v.value) if isinstance(v, ast.Constant) else "7" for v in arg.values
                )
                found.append((path.name, node.lineno, text))
    return found


def test_every_refusal_a_route_or_the_live_hub_gives_is_worded_in_chinese() -> None:
    """The web layer's own refusals (an HTTPException's text: "no HLS file 7", "the camera
    gave no picture: …") and the live hub's, which a 503 passes on, reach the Chinese UI in
    Chinese — locale/zh.po, or invalid.FORMS for one with a number or name in it."""
    from custodes.entrypoints.web import invalid

    texts = _refusals_in("custodes.entrypoints.web", {"HTTPException": 1})
    texts += _refusals_in("custodes.adapters.live", {"LiveUnavailable": 0})
    assert len(texts) > 20
    untranslated = [t for t in texts if invalid.sentence(t[2], "zh") == t[2]]
    assert untranslated == []


@pytest.mark.parametrize(
    ("text", "zh"),
    [
        ("no hold 7", "没有编号为 7 的保全"),
        ("hold 7 was released already", "保全 7 已解除"),
        ("export e-1: the bundle is gone", "导出 e-1：文件包已不存在"),
        (
            "one export covers at most 24 hours: split the range",
            "一次导出至多涵盖 24 小时：请分段导出",
        ),
        (
            "not enough free space for this export: it needs about 12 MB, 3 MB are free and "
            "100 MB must stay free for recording",
            "磁盘空间不足以完成此次导出：约需 12 MB，可用 3 MB，且须为录像保留 100 MB",
        ),
        ("too many wrong passwords: wait before trying again", "密码错误次数过多：请稍后再试"),
        ("no HLS file 'x'", "没有 HLS 文件 'x'"),
        ("the camera gave no picture: 7", "摄像机没有给出画面：7"),
        ("a text no catalogue knows", "a text no catalogue knows"),  # as it is
    ],
)
def test_a_refusals_text_is_said_in_chinese(text: str, zh: str) -> None:
    from custodes.entrypoints.web import invalid

    assert invalid.sentence(text, "zh") == zh
    assert invalid.sentence(text, "en") == text


def test_every_reason_an_export_is_refused_for_is_worded_in_chinese() -> None:
    """An export refused by what the index or the archive holds (services/exports/: a chain
    link not on record, rows out of order, a segment gone) reaches the grant page's export
    list in Chinese, as an export job's failure or the synchronous route's 409."""
    from custodes.entrypoints.web import invalid

    texts = _refusals_in("custodes.services.exports", {"ExportError": 0})
    assert len(texts) > 8
    untranslated = [t for t in texts if invalid.sentence(t[2], "zh") == t[2]]
    assert untranslated == []
