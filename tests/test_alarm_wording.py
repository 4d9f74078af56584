"""One language at a time (issue 12): what an alarm says is stored as a key and its parameters
beside the English, and read in the reader's language — the alarm list, the banner, the
health page, the API (`/api/v1/status`: `message` in the caller's language, `message_key` and
`params` for a client to word itself) and the command line (the locale's language). Rows
raised before keys show their stored English, and nothing stored (a key no catalogue knows,
parameters that do not fit, a value with "%" or braces) can break a page: on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import insert
from typer.testing import CliRunner

from custodes.adapters.db import schema
from custodes.adapters.db.engine import make_engine
from custodes.adapters.diskspace import Usage
from custodes.adapters.ffmpeg import segment_file, stderr
from custodes.clock import iso
from custodes.domain.alarm_wording import MESSAGES, Wording, placeholders, render
from custodes.domain.camera import CameraSpec
from custodes.domain.roles import Role
from custodes.domain.verification import finding
from custodes.entrypoints.cli import app
from custodes.entrypoints.web import i18n, said
from custodes.entrypoints.web.app import create_app
from custodes.entrypoints.web.deps import CSRF_HEADER
from custodes.recorder import supervisor, worker
from custodes.services import alarms, camera_health, index, salvage
from custodes.services import cameras as camera_service
from custodes.services.capacity import check_and_alarm
from custodes.services.context import Context
from custodes.services.settings import site_timezone
from custodes.services.verify import CameraVerdict, VerifyReport, raise_or_clear_alarm

from .grant_setup import Person, person
from .test_cli_language import run as run_cli
from .test_zh_walk import Findings

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en-GB,en;q=0.9"}
CAMERA = "大门 Gate camera"
# a verification finding is worded by its kind and parts (domain/finding_wording.py)
FINDING = finding("modified", 3, 3, ("file-changed", {"seq": "3", "path": "cam1/3.mp4"}))
S = 1_000_000


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as c:
        yield c


def _as(client: TestClient, who: Person) -> TestClient:
    client.cookies.clear()
    res = client.post(
        "/api/v1/auth/login", json={"username": who.username, "password": who.password}
    )
    assert res.status_code == 200, res.text
    client.headers[CSRF_HEADER] = res.json()["csrf_token"]
    return client


def _raise_each_kind(ctx: Context) -> int:
    """A camera offline (camera_health), the disk low (capacity), an integrity failure
    (verify) and footage cut short (sealing's call), each raised by its own service."""
    camera = camera_service.add_camera(
        ctx, CameraSpec(name=CAMERA, url="rtsp://127.0.0.1:9/x", place="大堂")
    ).id
    now = ctx.clock()
    changed = camera_health.check_offline(
        ctx, segment_s=2, watching={camera: now - 60 * S}, now=now
    )
    assert changed == [(camera, "raised")]
    assert not check_and_alarm(ctx, Usage(total=10**12, free=0)).volume.ok
    report = VerifyReport([CameraVerdict(camera, CAMERA, findings=[FINDING])], now, now)
    assert raise_or_clear_alarm(ctx, report)
    with ctx.engine.begin() as conn:
        note = salvage.describe("open", 1_230_000, None, None)  # as sealing passes it on
        alarms.raise_footage_cut(conn, camera, (alarms.SALVAGED, {"seq": "3", "note": note}), now)
    return camera


def _chinese(kind: str, ctx: Context, lang: str = "zh") -> str:
    """The open alarm of `kind` as the catalogue of `lang` words it, an instant among its
    parameters in the site's time zone (stored as UTC ISO 8601: no person reads that)."""
    with ctx.engine.connect() as conn:
        (a,) = [a for a in alarms.open_alarms(conn) if a.kind == kind]
    assert a.message_key is not None and a.params is not None
    params = dict(a.params)
    if "since" in params:
        at = datetime.fromisoformat(params["since"]).astimezone(ZoneInfo(site_timezone(ctx)))
        params["since"] = at.strftime("%Y-%m-%d %H:%M:%S")
    return i18n.translations(lang).gettext(MESSAGES[a.message_key]) % params


def test_alarms_raised_by_each_service_read_in_chinese(ctx: Context, client: TestClient) -> None:
    camera = _raise_each_kind(ctx)
    offline = _chinese(alarms.CAMERA_OFFLINE, ctx)
    assert offline.startswith(f"摄像机“{CAMERA}”已有 60 秒未录到任何内容")
    assert "录像程序也未说明原因" in offline
    low = _chinese(alarms.DISK_LOW, ctx)
    assert low.startswith("存储卷容纳不下") and "约 0.0 天后" in low
    # the finding's kind and detail in words too: they read "modified", "seq 3: … was changed"
    integrity = f"校验发现 1 个问题；第一个：摄像机 {CAMERA}：被修改：序号 3：cam1/3.mp4 已被修改"
    cut = (
        "自报警发出以来，0 个片段因未完整写入而被截短封存，0 个文件被隔离；最近一次：序号 3 "
        "录像停止时仍未关闭（崩溃、被终止或故障）：已封存 1.23 秒"
    )
    wanted = [offline, low, integrity, cut]

    manager = person(ctx, Role.SECURITY_MANAGER)  # reads the pages, sees the banner
    c = _as(client, manager)
    page = c.get("/alarms", headers=ZH)
    assert page.status_code == 200
    for text in wanted:
        assert page.text.count(text) == 2, text  # the list and the banner
    # nothing else in English: the data (names, times, the path, the finding) taken out
    with ctx.engine.connect() as conn:
        params = [
            v
            for a in alarms.open_alarms(conn)
            for k, v in (a.params or {}).items()
            if k not in ("kind", "detail", "detail_parts")  # said, not data
        ]
    findings = Findings()
    data = [CAMERA, *params, "cam1/3.mp4", str(ctx.data.archive), manager.username]
    findings.check("/alarms", page.text, data)
    assert findings.items == []
    health = c.get("/health", headers=ZH)
    assert health.status_code == 200 and offline in health.text  # why the camera is offline
    camera_page = c.get(f"/cameras/{camera}", headers=ZH)
    assert camera_page.status_code == 200 and low in camera_page.text  # the banner
    with ctx.engine.connect() as conn:
        (since,) = [
            a.params["since"] for a in alarms.open_alarms(conn) if a.params and "since" in a.params
        ]
    assert since.endswith("Z") and since not in page.text  # UTC nowhere a person reads it
    english = c.get("/alarms", headers=EN).text
    assert escape(_chinese(alarms.CAMERA_OFFLINE, ctx, "en")) in english
    with ctx.engine.connect() as conn:
        stored = [a.message for a in alarms.open_alarms(conn) if a.kind != alarms.CAMERA_OFFLINE]
    assert all(escape(m) in english for m in stored) and not any(t in english for t in wanted)

    shown = c.get("/api/v1/status", headers=ZH).json()["alarms"]
    by_kind = {a["kind"]: a for a in shown if a["id"] is not None}
    assert [by_kind[k]["message"] for k in ("camera-offline", "disk-low")] == [offline, low]
    assert by_kind["integrity"]["message"] == integrity
    assert by_kind["footage-cut"]["message"] == cut
    off = by_kind["camera-offline"]
    assert off["message_key"] == "camera-silent-unexplained" and off["params"]["camera"] == CAMERA
    assert set(off["params"]) == placeholders(MESSAGES[off["message_key"]])
    en = {a["kind"]: a for a in c.get("/api/v1/status", headers=EN).json()["alarms"]}
    assert en["camera-offline"]["message"] == _chinese(alarms.CAMERA_OFFLINE, ctx, "en")
    assert en["camera-offline"]["message_key"] == off["message_key"]
    c.cookies.set(i18n.LANG_COOKIE, "zh")  # the language switch outweighs the header
    switched = c.get("/api/v1/status", headers=EN).json()["alarms"]
    assert offline in [a["message"] for a in switched]


def _flat(text: str) -> str:
    """The console's output without its line breaks (it wraps at its width) and spaces."""
    return "".join(text.split())


def test_the_command_line_says_an_alarm_in_the_locales_language(ctx: Context) -> None:
    """Real `custodes` processes: the language is chosen once, at start (cli_i18n)."""
    _raise_each_kind(ctx)
    data = ["--data", str(ctx.data.root)]
    zh = run_cli("zh_CN.UTF-8", "alarm", "list", "--days", "1", *data)
    assert zh.returncode == 0, zh.stderr
    assert "最近1天内结束的告警：无" in _flat(zh.stdout) and "since" not in zh.stdout, zh.stdout
    assert "已有60秒未录到任何内容" in _flat(zh.stdout) and "存储卷容纳不下" in _flat(zh.stdout)
    en = run_cli("C.UTF-8", "alarm", "list", *data)
    assert en.returncode == 0 and "hasrecordednothingfor60s" in _flat(en.stdout), en.stdout
    # a script reads the same whatever the locale: the English, with the key and parameters
    js = run_cli("zh_CN.UTF-8", "alarm", "list", "--json", *data)
    assert js.returncode == 0, js.stderr
    listed = {a["kind"]: a for a in json.loads(js.stdout)}
    assert listed["camera-offline"]["message"].startswith("camera '")
    assert listed["camera-offline"]["message_key"] == "camera-silent-unexplained"
    status = run_cli("zh_CN.UTF-8", "status", *data)
    assert "存储卷容纳不下" in _flat(status.stdout), status.stdout
    # the volume's plan, from the same catalogue (no footage: it holds, or the disk is full)
    plan = run_cli("zh_CN", "retention", "plan", *data)
    assert "存储卷" in _flat(plan.stdout) and "thevolume" not in _flat(plan.stdout), plan.stdout


# Rows as stored, whatever made them: before keys, another version, a hand edit.
STORED = [
    (None, None),  # raised before keys
    ("no-such-key", "{}"),  # a key no catalogue knows (a later version's)
    ("camera-silent", '{"camera": "x"}'),  # parameters missing
    ("disk-full", '{"extra": "1"}'),  # a parameter the message has no place for
    ("disk-full", "{not json"),
    ("headroom-low", '{"days": 3}'),  # not a string
    ("headroom-low", '["3"]'),
    ("headroom-low", None),
]


def test_stored_rows_of_any_shape_show_their_stored_message(
    ctx: Context, client: TestClient
) -> None:
    with ctx.engine.begin() as conn:
        for n, (key, params) in enumerate(STORED):
            conn.execute(
                insert(schema.alarms).values(
                    kind=f"kind-{n}",
                    message=f"stored message {n}",
                    message_key=key,
                    message_params=params,
                    raised_us=ctx.clock() - n,
                )
            )
        # a value with "%", braces and a placeholder's look is data: shown as it is
        odd = "50% {x} {{y}} %(reason)s %s"
        said = Wording(
            "camera-silent", {"camera": odd, "seconds": "9", "since": "—", "reason": "{0}%"}
        )
        assert alarms.raise_alarm(conn, alarms.CAMERA_OFFLINE, said, ctx.clock())
    c = _as(client, person(ctx, Role.SECURITY_MANAGER))
    for headers in (ZH, EN):
        for path in ("/alarms", "/health", "/cameras"):
            res = c.get(path, headers=headers)
            assert res.status_code == 200, (path, res.text)
        page = c.get("/alarms", headers=headers).text
        assert all(f"stored message {n}" in page for n in range(len(STORED)))
        shown = {a["kind"]: a for a in c.get("/api/v1/status", headers=headers).json()["alarms"]}
        for n in range(len(STORED)):
            assert shown[f"kind-{n}"]["message"] == f"stored message {n}"
    zh = c.get("/alarms", headers=ZH).text
    assert f"摄像机“{odd}”已有 9 秒未录到任何内容（自 — 起）：{{0}}%" in zh
    cli = CliRunner().invoke(app, ["alarm", "list", "--data", str(ctx.data.root)])
    assert cli.exit_code == 0 and "storedmessage0" in _flat(cli.output), cli.output


def test_rendering_is_total_and_a_wording_is_checked_where_it_is_made() -> None:
    assert render("a %(x)s b", {"x": "%(y)s {z} 100%"}) == "a %(y)s {z} 100% b"
    assert render("a %(x)s b", {}) is None
    assert render("a %(x)s b", {"x": "1", "y": "2"}) is None
    assert render("a %(x)s %d", {"x": "1"}) is None  # a template gone wrong
    assert render("100% sure", {}) is None
    assert render("plain", {}) == "plain"
    assert said.alarm_message("stored", "no-such-key", {}, "zh") == "stored"
    assert said.alarm_message("stored", None, None, "zh") == "stored"
    assert said.alarm_message("stored", "disk-full", {"x": "1"}, "zh") == "stored"
    assert said.alarm_message("stored", "disk-full", {}, "zh") == "磁盘已满"
    with pytest.raises(ValueError, match="no alarm message"):
        Wording("no-such-key")
    with pytest.raises(ValueError, match="takes"):
        Wording("headroom-low", {"day": "3"})


def test_every_alarm_message_has_a_chinese_translation_with_its_parameters() -> None:
    zh = i18n.translations("zh")
    en = i18n.translations("en")
    for key, msgid in MESSAGES.items():
        chinese = zh.gettext(msgid)
        assert chinese != msgid and re.search(r"[\u4e00-\u9fff]", chinese), key
        assert placeholders(chinese) == placeholders(msgid), key
        assert en.gettext(msgid) == msgid, key
        params = {n: f"<{n}>" for n in placeholders(msgid)}
        for lang in i18n.LANGUAGES:
            text = said.alarm_message("stored", key, params, lang)
            assert text != "stored" and all(v in text for v in params.values()), (lang, text)


def test_0012_keeps_the_alarms_raised_before_it(database_url: str) -> None:
    """An installation at 0011 with an open alarm: after the upgrade it has no key and reads
    as its stored English."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from custodes.adapters.db.migrate import MIGRATIONS, upgrade

    engine = make_engine(database_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0011")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO alarms (kind, message, raised_us) "
                "VALUES ('integrity', 'old English words', 5)"
            )
        )
    upgrade(engine)
    with engine.connect() as conn:
        (old,) = alarms.open_alarms(conn)
    assert (old.message, old.message_key, old.params) == ("old English words", None, None)
    assert said.alarm_message(old.message, old.message_key, old.params, "zh") == old.message
    engine.dispose()


def _recorders_words() -> list[str]:
    """Each reason the recorder stores, as it makes it (a number or name in it made up)."""
    key = "disk-full-camera"
    full = Wording(key, dict.fromkeys(placeholders(MESSAGES[key]), "7"))
    return [
        *{cause for _, cause in stderr._CAUSES},
        stderr.ENDED,
        stderr.explain_exit(["frame= 10", "Conversion failed!"], 1),
        worker.NOT_RUNNING,
        worker.audio_note("pcm_alaw"),
        worker.audio_note(None),
        supervisor.ADDRESS_CHANGED,
        supervisor.THREAD_RESTARTED,
        "stalled: no segment for 18 s, restarting ffmpeg",
        "disk full",
        full.english,
        "no video for 3.5 s inside the stream: it delivered its video slower than real time, "
        "or stalled and caught up (the connection stayed open)",
        *(
            salvage.describe(cause, 1_230_000, made, tail)
            for cause in (salvage.CLOSED, "open")
            for made in (None, 5_000_000)
            for tail in (None, salvage.Tail(Path("/q/cam1/x.mp4.tail"), 12_345))
        ),
    ]


def test_every_reason_the_recorder_gives_is_worded_in_chinese() -> None:
    for text in _recorders_words():
        chinese = said.recorder_reason(text, "zh")
        assert chinese != text and re.search(r"[\u4e00-\u9fff]", chinese), text
        assert said.recorder_reason(text, "en") == text
    # what the recorder's words do not hold is as it was: ffmpeg's own line, a number
    exited = stderr.explain_exit(["frame= 10", "Conversion failed!"], 1)
    assert said.recorder_reason(exited, "zh") == "录像进程以状态 1 退出：Conversion failed!"
    assert said.recorder_reason("某个新的原因 50% {x}", "zh") == "某个新的原因 50% {x}"


def test_a_gap_and_a_last_error_read_in_the_readers_language(
    ctx: Context, client: TestClient
) -> None:
    camera = camera_service.add_camera(
        ctx, CameraSpec(name=CAMERA, url="rtsp://127.0.0.1:9/x", place="大堂")
    ).id
    now = ctx.clock()
    refused = "connection refused: camera or RTSP server not listening"
    with ctx.engine.begin() as conn:
        index.open_gap(conn, camera, now - 50 * S, stderr.ENDED)
        index.set_state(conn, camera, "reconnecting", None, refused)
    camera_health.check_offline(ctx, segment_s=2, watching={camera: now - 60 * S}, now=now)
    c = _as(client, person(ctx, Role.SECURITY_MANAGER))
    window = {"from": iso(now - 100 * S), "to": iso(now)}
    url = f"/api/v1/cameras/{camera}/recordings"
    (gap,) = c.get(url, params=window, headers=ZH).json()["gaps"]
    assert gap["reason"] == "码流已结束：摄像机或网络关闭了连接"
    assert c.get(url, params=window, headers=EN).json()["gaps"][0]["reason"] == stderr.ENDED
    chinese = "连接被拒绝：摄像机或 RTSP 服务器未在监听"
    (cam,) = c.get("/api/v1/status", headers=ZH).json()["cameras"]
    assert cam["last_error"] == chinese
    for path in ("/cameras", f"/cameras/{camera}", "/health"):
        page = c.get(path, headers=ZH)
        assert page.status_code == 200 and chinese in page.text and refused not in page.text
    # the offline alarm names the camera's last error, in words too
    alarm = c.get("/alarms", headers=ZH).text
    assert f"摄像机“{CAMERA}”已有 60 秒未录到任何内容" in alarm and chinese in alarm
    assert refused in c.get("/alarms", headers=EN).text


def _box(kind: bytes, payload: bytes = b"", size: int | None = None) -> bytes:
    return struct.pack(">I4s", 8 + len(payload) if size is None else size, kind) + payload


def test_why_a_file_holds_no_footage_reads_in_chinese(ctx: Context, tmp_path: Path) -> None:
    """A spool file with no footage is quarantined (or removed when provably empty), and
    the footage-cut alarm quotes why: that reason — the scan's finding inside salvage's
    words — read as English in the Chinese alarm list."""
    head = _box(b"ftyp", b"isom") + _box(b"moov", b"\0" * 8)
    files = {
        "short": b"abc",
        "large-header": struct.pack(">I4s", 1, b"mdat") + b"\0\0\0\0",
        "impossible": struct.pack(">I4s", 4, b"free"),
        "cut": _box(b"ftyp", b"\0" * 12, size=100),
        "moof": head + _box(b"moof", b"\0" * 8),
        "no-header": _box(b"free", b"\0" * 8) + b"\0\0",
        "no-fragment": head,
    }
    reasons = []
    for n, (name, content) in enumerate(files.items()):
        spool = tmp_path / "spool" / "cam1" / f"run{n}" / f"{name}.mp4"
        spool.parent.mkdir(parents=True)
        spool.write_bytes(content)
        with pytest.raises(salvage.NoFootage) as caught:
            salvage.salvage(ctx.data, spool, segment_file.scan(spool), salvage.OPEN, None)
        reasons.append(str(caught.value))
    assert any("kept in" in r for r in reasons) and any("removed" in r for r in reasons)
    codes = ["ftyp", "moov", "moof", "mdat", "MP4", "free"]  # the boxes' own names
    for reason in reasons:
        chinese = said.recorder_reason(reason, "zh")
        assert said.recorder_reason(reason, "en") == reason
        shown = chinese.replace(str(ctx.data.quarantine), "")
        for word in [*codes, *(p.name for p in tmp_path.rglob("*.mp4"))]:
            shown = shown.replace(word, "")
        shown = re.sub(r"/[\w./-]+", "", shown)  # the path it is kept in
        assert re.search(r"[\u4e00-\u9fff]", shown), (reason, chinese)
        assert not re.search(r"[A-Za-z]{2,}", shown), (reason, chinese)
    kept = next(r for r in reasons if "kept in" in r)
    camera = camera_service.add_camera(
        ctx, CameraSpec(name=CAMERA, url="rtsp://127.0.0.1:9/x", place="大堂")
    ).id
    with ctx.engine.begin() as conn:
        latest = (alarms.QUARANTINED, {"reason": kept})
        alarms.raise_footage_cut(conn, camera, latest, ctx.clock())
    with ctx.engine.connect() as conn:
        (a,) = [a for a in alarms.open_alarms(conn) if a.kind == alarms.FOOTAGE_CUT]
    text = said.alarm_message(a.message, a.message_key, a.params, "zh")
    assert said.recorder_reason(kept, "zh") in text and "kept in" not in text


def test_the_command_line_lists_an_alarm_by_its_title_at_the_site_s_time(ctx: Context) -> None:
    """`custodes alarm list` named an alarm by its code ("integrity") and its time in UTC
    ISO 8601, in a Chinese locale too: it says its title and the site's wall-clock time."""
    raised = ctx.clock() - 3_600_000_000
    with ctx.engine.begin() as conn:
        assert alarms.raise_alarm(conn, alarms.INTEGRITY, "m", raised)
    wall = datetime.fromtimestamp(raised / 1e6, ZoneInfo(site_timezone(ctx)))
    shown = wall.strftime("%Y-%m-%d %H:%M:%S")
    data = ["--data", str(ctx.data.root)]
    zh = run_cli("zh_CN.UTF-8", "alarm", "list", *data)
    assert zh.returncode == 0, zh.stderr
    assert "完整性校验失败" in zh.stdout and shown in zh.stdout, zh.stdout
    assert iso(raised) not in zh.stdout and "integrity" not in zh.stdout, zh.stdout
    en = run_cli("C.UTF-8", "alarm", "list", *data)
    assert shown in en.stdout and iso(raised) not in en.stdout, en.stdout
