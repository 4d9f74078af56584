"""Health and alarms (issue 12): when a camera counts as offline, its alarm raised and cleared
with real ffmpeg and a simulated camera, the health figures, acknowledging with a note."""

from __future__ import annotations

import json
import threading
from itertools import pairwise
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from custodes.adapters.db import schema
from custodes.adapters.simulator.clips import ensure_clip
from custodes.adapters.simulator.process import Mount, Simulator
from custodes.clock import now_us
from custodes.domain.camera import CameraSpec
from custodes.domain.health import Verdict, judge, offline_after_us
from custodes.domain.roles import Role
from custodes.entrypoints.cli import app
from custodes.entrypoints.web.app import create_app
from custodes.entrypoints.web.deps import CSRF_HEADER
from custodes.recorder import supervisor
from custodes.services import alarms, index
from custodes.services import cameras as svc
from custodes.services.camera_health import check_offline
from custodes.services.context import Context
from custodes.services.health import health

from .conftest import free_port
from .grant_setup import organisation, person
from .recording import add_cameras, count_segments, recording, wait_for
from .sealed import seal_archive
from .test_api import PASSWORD, _set_password

SEG = 1.0


def test_a_camera_is_offline_after_two_segment_lengths_of_silence() -> None:
    seg = 2_000_000
    limit = offline_after_us(seg)
    assert limit >= 2 * seg
    j = judge(now_us=10**9, newest_end_us=10**9 - limit, watching_since_us=0, segment_us=seg)
    assert j.verdict is Verdict.ONLINE
    j = judge(now_us=10**9, newest_end_us=10**9 - limit - 1, watching_since_us=0, segment_us=seg)
    assert j.verdict is Verdict.OFFLINE and j.silent_us == limit + 1
    # just started: nothing of this run yet, not offline yet, nor known online
    old = 10**9 - 10 * limit
    j = judge(now_us=10**9, newest_end_us=old, watching_since_us=10**9 - 1, segment_us=seg)
    assert j.verdict is Verdict.UNKNOWN
    j = judge(now_us=10**9, newest_end_us=None, watching_since_us=10**9 - limit - 1, segment_us=seg)
    assert j.verdict is Verdict.OFFLINE and j.silent_since_us == 10**9 - limit - 1


def _ledger(ctx: Context, action: str) -> list[dict[str, object]]:
    L = schema.ledger
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(L.c.actor, L.c.object, L.c.details).where(L.c.action == action)
        ).all()
    return [{"actor": r.actor, "object": r.object, **json.loads(r.details)} for r in rows]


def _offline_alarm_history(ctx: Context) -> list[str]:
    """The camera-offline alarm's raises and clears, in ledger order."""
    L = schema.ledger
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(L.c.action, L.c.details)
            .where(L.c.action.in_(["alarm-raised", "alarm-cleared"]))
            .order_by(L.c.seq)
        ).all()
    return [
        r.action
        for r in rows
        if r.action == "alarm-cleared" or json.loads(r.details).get("kind") == "camera-offline"
    ]


def _offline(ctx: Context) -> list[alarms.Alarm]:
    with ctx.engine.connect() as conn:
        return [a for a in alarms.open_alarms(conn) if a.kind == alarms.CAMERA_OFFLINE]


@pytest.mark.slow
def test_a_silent_camera_raises_an_offline_alarm_that_clears_when_it_records(
    ctx: Context, clip_dir: Path
) -> None:
    port = free_port()
    mounts = [Mount("gate", ensure_clip(clip_dir, "cam1"))]
    sim = Simulator(mounts, port)
    sim.start()
    (cam,) = add_cameras(ctx, sim, ["gate"])
    stop = threading.Event()
    try:
        with recording(ctx, segment_seconds=SEG) as sup:
            loop = threading.Thread(target=sup.run, args=(stop, 0.3), daemon=True)
            loop.start()
            wait_for("3 segments", lambda: count_segments(ctx, cam) >= 3, 30)
            assert _offline(ctx) == []  # recording: no alarm
            sim.stop()
            wait_for("the offline alarm", lambda: bool(_offline(ctx)), 20)
            (alarm,) = _offline(ctx)
            assert alarm.camera_id == cam
            assert "'gate'" in alarm.message and "recorded nothing" in alarm.message
            assert "password" not in alarm.message  # the reason is redacted
            sim = Simulator(mounts, port)
            sim.start()
            wait_for("the alarm to clear", lambda: not _offline(ctx), 30)
            stop.set()
            loop.join(10)
    finally:
        stop.set()
        sim.stop()
    raised = [e for e in _ledger(ctx, "alarm-raised") if e["kind"] == "camera-offline"]
    cleared = _ledger(ctx, "alarm-cleared")
    assert raised and raised[0]["object"] == f"camera:{cam}", raised
    assert "'gate'" in str(raised[0]["message"])
    assert cleared and cleared[0]["object"] == f"camera:{cam}", cleared
    assert cleared[0]["reason"] == "recording again"
    # Once per silence: raised, cleared, and again only after a clear. (With 1 s segments a
    # loaded machine that seals the next one 4 s late is silent again, and says so.)
    kinds = _offline_alarm_history(ctx)
    assert kinds[:2] == ["alarm-raised", "alarm-cleared"], kinds
    assert all(a != b for a, b in pairwise(kinds)), kinds


def test_raising_an_open_alarm_again_reports_nothing_raised(ctx: Context) -> None:
    """On PostgreSQL psycopg gives rowcount -1 for INSERT … SELECT: it read as "raised"
    every time, so each check would write another ledger entry."""
    with ctx.engine.begin() as conn:
        conn.execute(
            schema.cameras.insert().values(
                name="c", url="rtsp://h/x", place="p", created_us=1, updated_us=1
            )
        )
        assert alarms.raise_alarm(conn, alarms.INTEGRITY, "m", 5)
        assert not alarms.raise_alarm(conn, alarms.INTEGRITY, "m", 6)
        assert alarms.raise_alarm(conn, alarms.CAMERA_OFFLINE, "m", 5, 1)
        assert not alarms.raise_alarm(conn, alarms.CAMERA_OFFLINE, "m", 6, 1)
        assert len(alarms.open_alarms(conn)) == 2


def test_acknowledging_keeps_who_when_and_the_note(ctx: Context) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(
            schema.cameras.insert().values(
                name="gate", url="rtsp://h/x", place="p", created_us=1, updated_us=1
            )
        )
        alarms.raise_footage_cut(conn, 1, "seq 3 open when recording stopped", 10)
        alarms.raise_footage_cut(conn, 1, "seq 3 open when recording stopped", 10)
    (first,) = [a.id for a in alarms.recent_alarms(ctx, since_us=0)]
    _set_password(ctx, PASSWORD)
    with TestClient(create_app(ctx)) as client:
        res = client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        client.headers[CSRF_HEADER] = res.json()["csrf_token"]
        res = client.post(
            f"/api/v1/alarms/{first}/acknowledge", json={"note": "x" * (alarms.NOTE_MAX + 1)}
        )
        assert res.status_code == 422, res.text
        res = client.post(
            f"/api/v1/alarms/{first}/acknowledge", json={"note": "  disk replaced, checked  "}
        )
        assert res.status_code == 200, res.text
    with ctx.engine.begin() as conn:  # footage cut again later: a new alarm
        alarms.raise_footage_cut(conn, 1, "seq 9 quarantined", 20)
    (second,) = [a.id for a in alarms.recent_alarms(ctx, since_us=0) if a.acknowledgeable]
    res = CliRunner().invoke(
        app, ["alarm", "ack", str(second), "--note", "power cut", "--data", str(ctx.data.root)]
    )
    assert res.exit_code == 0, res.output
    shown = {a.id: a for a in alarms.recent_alarms(ctx, since_us=0)}
    assert shown[first].note == "disk replaced, checked"
    assert shown[first].acknowledged_by == "account:admin" and shown[first].camera == "gate"
    assert shown[second].note == "power cut" and str(shown[second].acknowledged_by)[:4] == "cli:"
    assert not any(a.acknowledgeable for a in shown.values())
    notes = {e["object"]: e.get("note") for e in _ledger(ctx, "alarm-acknowledged")}
    assert notes == {f"alarm:{first}": "disk replaced, checked", f"alarm:{second}": "power cut"}
    # the command line lists what ended too, when asked, with who and their note
    data = ["--data", str(ctx.data.root)]
    plain = CliRunner().invoke(app, ["alarm", "list", *data])
    assert plain.exit_code == 0 and "no open alarms" in plain.output, plain.output
    assert "power cut" not in plain.output
    res = CliRunner().invoke(app, ["alarm", "list", "--days", "7", *data])
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "ended in the last 7 day(s): 2" in said, said
    assert "acknowledged by account:admin: disk replaced, checked" in said, said
    assert "power cut" in said and "seq 9 quarantined" in said, said
    listed = json.loads(
        CliRunner().invoke(app, ["alarm", "list", "--days", "7", "--json", *data]).output
    )
    assert {a["id"] for a in listed} == {first, second} and all(a["ended"] for a in listed)
    for absurd in ("-1", "99999", "x"):
        bad = CliRunner().invoke(app, ["alarm", "list", "--days", absurd, *data])
        assert bad.exit_code == 2 and "Traceback" not in bad.output, bad.output


def test_the_health_page_shows_measured_figures(ctx: Context) -> None:
    archive = seal_archive(ctx)  # 1-s segments at 25 fps
    report = health(ctx)
    (cam,) = report.cameras
    assert cam.frame_rate is not None and abs(cam.frame_rate - 25) < 1.5, cam
    with ctx.engine.connect() as conn:
        size, media = conn.execute(
            select(func.sum(schema.segments.c.bytes), func.sum(schema.segments.c.duration_us))
        ).one()
    size, media = int(size), int(media)
    assert cam.stored_bytes == size
    assert cam.bitrate_bps is not None and abs(cam.bitrate_bps - size * 8 / (media / 1e6)) < 1
    (volume,) = report.volumes
    assert volume.free_bytes and volume.total_bytes and volume.free_bytes <= volume.total_bytes
    _set_password(ctx, PASSWORD)
    with TestClient(create_app(ctx)) as client:
        client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        page = client.get("/health", headers={"Accept-Language": "en"})
        assert page.status_code == 200
        assert "gate" in page.text and "fps" in page.text and "Mbit/s" in page.text
        # totality: a huge stored size, a segment whose file is gone, a camera never recorded
        with ctx.engine.begin() as conn:
            conn.execute(update(schema.spans).values(bytes=10**18 * 9))
        archive.path(archive.seqs()[-1]).chmod(0o644)
        archive.path(archive.seqs()[-1]).unlink()
        svc.add_camera(ctx, CameraSpec(name="yard", url="rtsp://10.0.0.2/s", place="p"))
        page = client.get("/health", headers={"Accept-Language": "zh-CN"})
        assert page.status_code == 200, page.text
        assert "健康状况" in page.text and "未测得" in page.text and "PB" in page.text


def test_health_and_alarm_pages_are_for_roles_that_read_status(ctx: Context) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(
            schema.cameras.insert().values(
                name="gate", url="rtsp://h/x", place="p", created_us=1, updated_us=1
            )
        )
        alarms.raise_footage_cut(conn, 1, "seq 3 open when recording stopped", now_us())
    psb = organisation(ctx, "PSB", "public-security")
    people = {
        "officer": person(ctx, Role.EXTERNAL_OFFICER, psb, work_id="J-1"),
        "auditor": person(ctx, Role.AUDITOR),
        "operator": person(ctx, Role.DUTY_OPERATOR),
        "manager": person(ctx, Role.SECURITY_MANAGER),
    }
    with TestClient(create_app(ctx)) as c:
        for who, p in people.items():
            c.cookies.clear()
            res = c.post(
                "/api/v1/auth/login", json={"username": p.username, "password": p.password}
            )
            assert res.status_code == 200
            for path in ("/health", "/alarms"):
                page = c.get(path, headers={"Accept-Language": "en"})
                assert page.status_code == (403 if who == "officer" else 200), (who, path)
            alarm_list = c.get("/alarms", headers={"Accept-Language": "en"}).text
            banner = 'id="alarm-banner"' in c.get("/requests").text
            # the banner, and the form, only for those who can act on the alarm
            assert banner is (who == "manager"), who
            assert ('class="ack-form"' in alarm_list) is (who == "manager"), who
            if who in ("auditor", "operator"):
                assert "seq 3 open when recording stopped" in alarm_list


def test_the_offline_check_raises_once_waits_after_a_restart_and_clears(ctx: Context) -> None:
    t = 1_795_000_000_000_000
    s = 1_000_000
    with ctx.engine.begin() as conn:
        conn.execute(
            schema.cameras.insert().values(
                name="gate", url="rtsp://h/x", place="p", created_us=1, updated_us=1
            )
        )
        conn.execute(
            schema.spans.insert().values(
                camera_id=1, start_us=t - 5 * s, end_us=t, segments=5, bytes=1
            )
        )
        index.set_state(conn, 1, "reconnecting", error="rtsp://admin:hunter2@10.0.0.9/main refused")

    def check(now: int, watching: dict[int, int]) -> list[tuple[int, str]]:
        return check_offline(ctx, segment_s=1.0, watching=watching, now=now)

    assert check(t + 2 * s, {1: t - 10 * s}) == []  # within two segments (+ sealing)
    assert check(t + 10 * s, {1: t - 10 * s}) == [(1, "raised")]
    assert check(t + 11 * s, {1: t - 10 * s}) == []  # raised once
    (alarm,) = _offline(ctx)
    assert "'gate'" in alarm.message and "refused" in alarm.message
    assert "hunter2" not in alarm.message
    # a new recorder run: nothing of it yet, so neither cleared nor raised again
    assert check(t + 21 * s, {1: t + 20 * s}) == []
    assert len(_offline(ctx)) == 1
    with ctx.engine.begin() as conn:
        conn.execute(
            schema.spans.insert().values(
                camera_id=1, start_us=t + 21 * s, end_us=t + 22 * s, segments=1, bytes=1
            )
        )
    assert check(t + 23 * s, {1: t + 20 * s}) == [(1, "cleared")]
    assert check(t + 40 * s, {1: t + 20 * s}) == [(1, "raised")]
    assert check(t + 41 * s, {}) == [(1, "cleared")]  # retired: nothing left to be offline
    reasons = [e["reason"] for e in _ledger(ctx, "alarm-cleared")]
    assert reasons == ["recording again", "no longer recorded"]
    assert len(_ledger(ctx, "alarm-raised")) == 2


class _DeadWorker:
    """A stream worker whose thread has ended at once (no ffmpeg)."""

    def __init__(self, cfg: object, *_: object, **__: object) -> None:
        self.cfg = cfg

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def join(self, _timeout: float | None = None) -> None: ...
    def is_alive(self) -> bool:
        return False


def test_a_worker_that_keeps_ending_does_not_restart_the_offline_count(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(supervisor, "StreamWorker", _DeadWorker)
    svc.add_camera(ctx, CameraSpec(name="gate", url="rtsp://10.0.0.9/main", place="p"))
    sup = supervisor.Supervisor(ctx, segment_seconds=1.0)
    sup.sync_cameras()
    first = dict(sup.watching)
    assert list(first) == [1]
    sup.sync_cameras()  # the thread ended: restarted, still watched since the first start
    assert sup.watching == first
