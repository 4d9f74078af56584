"""The ledger: hash chain, append-only enforcement, verification findings, signed checkpoints,
PostgreSQL grants, events from the services and the HTTP API, export, the CLI."""

from __future__ import annotations

import csv
import io
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, create_engine, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from custodes.adapters.db import schema
from custodes.adapters.db.grants import GrantError, grant_application_role
from custodes.adapters.simulator.clips import ensure_clip
from custodes.adapters.simulator.process import Mount, Simulator
from custodes.clock import iso
from custodes.domain import ledger as dl
from custodes.domain.camera import CameraSpec
from custodes.entrypoints.cli_ledger import db_app, ledger_app
from custodes.entrypoints.web.app import create_app
from custodes.entrypoints.web.deps import CSRF_HEADER
from custodes.services import auth, ledger
from custodes.services import cameras as svc
from custodes.services.context import Context
from custodes.services.settings import get_setting, set_setting, site_timezone

from .conftest import free_port
from .grant_setup import approved_grant
from .test_api import PASSWORD, T0, _seal_run, _set_password

L = schema.ledger


def _rows(ctx: Context, action: str | None = None) -> list[Any]:
    query = select(L).order_by(L.c.seq)
    if action is not None:
        query = query.where(L.c.action == action)
    with ctx.engine.connect() as conn:
        return list(conn.execute(query))


def _fill(ctx: Context, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        ledger.record_now(
            ctx,
            actor=f"user{i % 3}",
            action=ledger.SETTING_CHANGED,
            object=f"setting:k{i}",
            details={"i": i, "text": '中文, "quoted"\nnew line'},
            time_us=T0 + i * 1_000_000,
        )


def _failures(report: ledger.VerifyReport) -> set[tuple[int | None, str]]:
    return {(f.seq, f.kind) for f in report.findings if f.failure}


def _drop_triggers(ctx: Context, table: str) -> None:
    """What an attacker with the owner's rights (or the file) can do; the app role cannot."""
    with ctx.engine.begin() as conn:
        if ctx.engine.dialect.name == "sqlite":
            conn.execute(text(f"DROP TRIGGER {table}_no_update"))
            conn.execute(text(f"DROP TRIGGER {table}_no_delete"))
        else:
            conn.execute(text(f"DROP TRIGGER {table}_append_only ON {table}"))


# --- the pure part ---------------------------------------------------------------------------


def test_entry_encoding_is_fixed_and_unambiguous() -> None:
    details = dl.canonical_json({"role": "system_admin", "名": "中"})
    assert details == '{"role":"system_admin","名":"中"}'
    # a known answer: the format may never change under the same domain prefix
    assert (
        dl.entry_hash(dl.GENESIS, 1, T0, "admin", "login", "account:admin", details)
        == "dd3dc5b991c62634d15871c657f3a76df34068a29eb86df8fdaddadd29348b3d"
    )
    a = dl.entry_hash(dl.GENESIS, 1, T0, "ab", "c", "o", "{}")
    b = dl.entry_hash(dl.GENESIS, 1, T0, "a", "bc", "o", "{}")
    assert a != b
    with pytest.raises(ValueError):
        dl.canonical_json({"x": float("nan")})


def chain_rows(n: int) -> tuple[list[list[Any]], str]:
    """Entries 1..n as the ledger's rows, linked, and the last one's hash."""
    rows: list[list[Any]] = []
    prev = dl.GENESIS
    for seq in range(1, n + 1):
        h = dl.entry_hash(prev, seq, T0 + seq, "a", "x", "o", "{}")
        rows.append([seq, T0 + seq, "a", "x", "o", "{}", prev, h])
        prev = h
    return rows, prev


def test_walk_names_each_kind_of_damage() -> None:
    rows, prev = chain_rows(5)
    clean = dl.walk(rows, head=(5, prev))
    assert [f.kind for f in clean.findings] == [dl.UNSIGNED_TAIL]
    assert clean.entries == 5 and clean.last_seq == 5
    cp = dl.LedgerCheckpoint(3, rows[2][7], T0, "k", "00")
    assert dl.walk(rows, head=(5, prev), checkpoints=[cp]).findings[0].seq == 4  # tail from 4
    altered = [list(r) for r in rows]
    altered[1][5] = '{"x":1}'
    assert {(f.seq, f.kind) for f in dl.walk(altered, head=(5, prev)).findings} == {
        (2, dl.ALTERED),
        (1, dl.UNSIGNED_TAIL),
    }
    assert {(f.seq, f.kind) for f in dl.walk(rows[:2] + rows[3:], head=(5, prev)).findings} == {
        (3, dl.MISSING),
        (1, dl.UNSIGNED_TAIL),
    }
    assert (4, dl.HEAD_MISMATCH) in {
        (f.seq, f.kind) for f in dl.walk(rows, head=(4, rows[3][7])).findings
    }


# --- appending -------------------------------------------------------------------------------


def test_appends_chain_and_verify_passes(ctx: Context) -> None:
    _fill(ctx, 5)
    with ctx.engine.begin() as conn:
        seqs = ledger.record_many(
            conn,
            [
                ledger.NewEntry("system", ledger.SWEEP_BATCH, f"camera:{i}", T0 + 10**7, {"n": i})
                for i in range(3)
            ],
        )
    assert seqs == [6, 7, 8]
    rows = _rows(ctx)
    prev = dl.GENESIS
    for expected_seq, r in enumerate(rows, start=1):
        assert r.seq == expected_seq and r.prev_hash == prev
        assert r.hash == dl.entry_hash(
            prev, r.seq, r.time_us, r.actor, r.action, r.object, r.details
        )
        prev = r.hash
    assert ledger.current_head(ctx) == (8, prev)
    report = ledger.verify(ctx)
    assert report.ok and report.entries == 8 and report.head_seq == 8
    assert [(f.seq, f.kind) for f in report.findings] == [(1, dl.UNSIGNED_TAIL)]
    assert ledger.checkpoint(ctx) == 8
    assert ledger.checkpoint(ctx) is None  # the head has not moved
    report = ledger.verify(ctx)
    assert report.ok and report.findings == [] and report.checkpoints == 1


def test_an_entry_commits_or_rolls_back_with_its_change(ctx: Context) -> None:
    with pytest.raises(RuntimeError), ctx.engine.begin() as conn:
        ledger.record(conn, actor="a", action=ledger.HOLD_PLACED, object="hold:1", time_us=T0)
        raise RuntimeError("the change failed")
    assert _rows(ctx) == [] and ledger.current_head(ctx) == (0, dl.GENESIS)
    with pytest.raises(ValueError):
        ledger.record_now(ctx, actor="", action=ledger.LOGIN, object="account:x")
    assert ledger.verify(ctx).ok


def test_concurrent_appends_give_a_gap_free_chain(ctx: Context) -> None:
    threads, each = 4, 25
    barrier = threading.Barrier(threads)

    def work(worker: int) -> None:
        barrier.wait()
        for i in range(each):
            ledger.record_now(
                ctx, actor=f"w{worker}", action=ledger.MEDIA_VIEWED, object=f"camera:{i}"
            )

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))
    rows = _rows(ctx)
    assert [r.seq for r in rows] == list(range(1, threads * each + 1))
    assert {r.actor for r in rows} == {f"w{w}" for w in range(threads)}
    report = ledger.verify(ctx)
    assert report.ok, report.findings


# --- append-only -----------------------------------------------------------------------------


@pytest.mark.parametrize("table", ["ledger", "ledger_checkpoints", "checkpoints"])
def test_triggers_refuse_update_and_delete(ctx: Context, table: str) -> None:
    _fill(ctx, 2)
    ledger.checkpoint(ctx)
    cam = svc.add_camera(ctx, CameraSpec(name="C", url="rtsp://h/x", place="p")).id
    with ctx.engine.begin() as conn:  # a segment-chain checkpoint row (SQLite triggers are
        conn.execute(  # per row: an empty table would prove nothing)
            insert(schema.checkpoints).values(
                camera_id=cam, seq=0, link="0" * 64, time_us=T0, key_id="k", signature="00"
            )
        )
    for statement in (f"UPDATE {table} SET seq = seq + 100", f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError, match="append-only"), ctx.engine.begin() as conn:
            conn.execute(text(statement))
    assert len(_rows(ctx)) == 3
    assert ledger.verify(ctx).ok


def _swap(conn: Connection) -> None:
    conn.execute(text("UPDATE ledger SET seq = -3 WHERE seq = 3"))
    conn.execute(text("UPDATE ledger SET seq = 3 WHERE seq = 4"))
    conn.execute(text("UPDATE ledger SET seq = 4 WHERE seq = -3"))


def _rewrite_from_3(conn: Connection) -> None:
    """Change entry 3 and recompute every later hash and the head: only a checkpoint shows."""
    rows = list(conn.execute(select(L).order_by(L.c.seq)))
    prev = rows[1].hash
    for r in rows[2:]:
        details = '{"i":999}' if r.seq == 3 else r.details
        h = dl.entry_hash(prev, r.seq, r.time_us, r.actor, r.action, r.object, details)
        conn.execute(
            update(L).where(L.c.seq == r.seq).values(details=details, prev_hash=prev, hash=h)
        )
        prev = h
    conn.execute(update(schema.ledger_head).values(hash=prev))


def _sql(statement: str) -> Callable[[Connection], None]:
    def run(conn: Connection) -> None:
        conn.execute(text(statement))

    return run


TAMPERING: dict[str, tuple[Callable[[Connection], None], set[tuple[int | None, str]]]] = {
    "details": (_sql("UPDATE ledger SET details = '{\"i\": 99}' WHERE seq = 3"), {(3, dl.ALTERED)}),
    "actor-unsigned": (_sql("UPDATE ledger SET actor = 'x' WHERE seq = 7"), {(7, dl.ALTERED)}),
    "delete": (_sql("DELETE FROM ledger WHERE seq = 3"), {(3, dl.MISSING)}),
    "delete-tail": (_sql("DELETE FROM ledger WHERE seq = 8"), {(8, dl.HEAD_MISMATCH)}),
    "swap": (_swap, {(3, dl.ALTERED), (4, dl.ALTERED), (3, dl.BROKEN_LINK)}),
    "rewrite": (_rewrite_from_3, {(5, dl.CHECKPOINT_MISMATCH)}),
}


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_tampering_is_named(ctx: Context, how: str) -> None:
    _fill(ctx, 5)
    assert ledger.checkpoint(ctx) == 5
    _fill(ctx, 3, start=5)
    assert ledger.verify(ctx).ok
    _drop_triggers(ctx, "ledger")
    tamper, expected = TAMPERING[how]
    with ctx.engine.begin() as conn:
        tamper(conn)
    report = ledger.verify(ctx)
    assert not report.ok
    found = _failures(report)
    if how == "swap":  # later links break too; these are the ones that must be named
        assert expected <= found, found
    else:
        assert found == expected, report.findings


def test_forged_checkpoint_signature_is_named(ctx: Context) -> None:
    _fill(ctx, 3)
    ledger.checkpoint(ctx)
    _drop_triggers(ctx, "ledger_checkpoints")
    with ctx.engine.begin() as conn:
        conn.execute(update(schema.ledger_checkpoints).values(signature="ab" * 64))
    found = _failures(ledger.verify(ctx))
    # the forged row fails its signature; the file still holds the genuine one
    assert found == {(3, dl.BAD_SIGNATURE), (3, dl.CHECKPOINT_FILE)}


def test_checkpoint_file_truncation_is_named(ctx: Context) -> None:
    _fill(ctx, 2)
    ledger.checkpoint(ctx)
    _fill(ctx, 2, start=2)
    ledger.checkpoint(ctx)
    path = ledger.checkpoints_path(ctx.data)
    lines = path.read_text().splitlines(keepends=True)
    assert len(lines) == 2
    assert ledger.verify(ctx).ok
    path.write_text(lines[0])
    assert _failures(ledger.verify(ctx)) == {(4, dl.CHECKPOINT_FILE)}
    path.write_text("")
    assert _failures(ledger.verify(ctx)) == {(2, dl.CHECKPOINT_FILE), (4, dl.CHECKPOINT_FILE)}
    path.write_text(lines[0] + '{"seq": 4, "hash": "not hex"\n' + lines[1])
    assert {f.kind for f in ledger.verify(ctx).findings if f.failure} == {dl.CHECKPOINT_FILE}


def test_a_checkpoint_a_crash_kept_from_the_file_is_appended_next_time(ctx: Context) -> None:
    _fill(ctx, 2)
    ledger.checkpoint(ctx)
    path = ledger.checkpoints_path(ctx.data)
    path.write_text("")  # as if the process died between the commit and the append
    _fill(ctx, 1, start=2)
    assert ledger.checkpoint(ctx) == 3
    assert [json.loads(line)["seq"] for line in path.read_text().splitlines()] == [2, 3]
    report = ledger.verify(ctx)
    assert report.ok and report.findings == []


# --- PostgreSQL grants -----------------------------------------------------------------------


@pytest.fixture
def app_role(ctx: Context) -> Iterator[str]:
    if ctx.engine.dialect.name != "postgresql":
        yield ""
        return
    role = "custodes_app_" + secrets.token_hex(4)
    with ctx.engine.begin() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
    try:
        yield role
    finally:
        with ctx.engine.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))


def test_application_role_can_append_but_not_rewrite(ctx: Context, app_role: str) -> None:
    if ctx.engine.dialect.name == "sqlite":
        with pytest.raises(GrantError, match="PostgreSQL"):
            grant_application_role(ctx.engine, "anyone")
        return
    with pytest.raises(GrantError, match="does not exist"):
        grant_application_role(ctx.engine, "custodes_nobody_" + secrets.token_hex(4))
    with pytest.raises(GrantError, match="role name"):
        grant_application_role(ctx.engine, "x; DROP TABLE ledger")
    _fill(ctx, 2)
    ledger.checkpoint(ctx)
    grant_application_role(ctx.engine, app_role)
    as_app = create_engine(ctx.engine.url.set(username=app_role))
    try:
        with as_app.begin() as conn:
            assert conn.execute(text("SELECT current_user")).scalar_one() == app_role
            seq = ledger.record(
                conn, actor="app", action=ledger.LOGIN, object="account:app", time_us=T0
            )
            conn.execute(update(schema.cameras).values(site="ok"))  # working tables: writable
        assert seq == 3
        for table in ("ledger", "ledger_checkpoints", "checkpoints"):
            for statement in (
                f"UPDATE {table} SET seq = seq",
                f"DELETE FROM {table}",
                f"TRUNCATE {table}",
                f"DROP TRIGGER {table}_append_only ON {table}",
            ):
                with pytest.raises(DBAPIError) as refused, as_app.begin() as conn:
                    conn.execute(text(statement))
                message = str(refused.value.orig)
                assert "permission denied" in message or "must be owner" in message, message
    finally:
        as_app.dispose()
    report = ledger.verify(ctx)
    assert report.ok and report.entries == 3


# --- events from the services and the HTTP API ----------------------------------------------


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    _set_password(ctx, PASSWORD)
    with TestClient(create_app(ctx)) as c:
        yield c


def _login(client: TestClient, username: str = "admin", password: str = PASSWORD) -> None:
    res = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert res.status_code == 200, res.text
    client.headers[CSRF_HEADER] = res.json()["csrf_token"]


def test_login_failure_and_logout_are_recorded(client: TestClient, ctx: Context) -> None:
    wrong = "a-wrong-password-" + secrets.token_hex(4)
    assert (
        client.post("/api/v1/auth/login", json={"username": "admin", "password": wrong}).status_code
        == 401
    )
    assert (
        client.post("/api/v1/auth/login", json={"username": "ghost", "password": wrong}).status_code
        == 401
    )
    _login(client)
    assert client.post("/api/v1/auth/logout").status_code == 204
    rows = _rows(ctx)
    assert [(r.actor, r.action, r.object) for r in rows] == [
        (auth.UNAUTHENTICATED, ledger.LOGIN_FAILED, "account:admin"),
        (auth.UNAUTHENTICATED, ledger.LOGIN_FAILED, "account:ghost"),
        ("account:admin", ledger.LOGIN, "account:admin"),
        ("account:admin", ledger.LOGOUT, "account:admin"),
    ]
    # the address a failure came from (the throttle's source; the test client's is its name)
    assert json.loads(rows[0].details) == {
        "username": "admin",
        "account_exists": True,
        "source": "testclient",
    }
    assert json.loads(rows[1].details) == {
        "username": "ghost",
        "account_exists": False,
        "source": "testclient",
    }
    assert json.loads(rows[2].details)["session"] == json.loads(rows[3].details)["session"]
    assert all(wrong not in r.details and PASSWORD not in r.details for r in rows)
    assert ledger.verify(ctx).ok


def test_camera_changes_over_http_name_the_account(client: TestClient, ctx: Context) -> None:
    _login(client)
    body = {"name": "Gate", "url": "rtsp://u:s3cret-pw@10.0.0.9/main", "place": "school-gate"}
    cam = client.post("/api/v1/cameras", json=body).json()["id"]
    assert (
        client.patch(
            f"/api/v1/cameras/{cam}", json={"site": "North", "password": "n3w-secret"}
        ).status_code
        == 200
    )
    assert client.patch(f"/api/v1/cameras/{cam}", json={"site": "North"}).status_code == 200
    assert client.post(f"/api/v1/cameras/{cam}/retire").status_code == 200
    assert client.post(f"/api/v1/cameras/{cam}/retire").status_code == 200  # already retired
    events = [r for r in _rows(ctx) if r.object == f"camera:{cam}"]
    assert [(r.actor, r.action) for r in events] == [
        ("account:admin", ledger.CAMERA_ADDED),
        ("account:admin", ledger.CAMERA_CHANGED),  # the second PATCH changed nothing: no entry
        ("account:admin", ledger.CAMERA_RETIRED),
    ]
    added, changed, _ = (json.loads(r.details) for r in events)
    assert added["place"] == "school-gate" and added["credentials"] is True
    assert "username" not in added and "password" not in added
    assert changed == {
        "name": "Gate",
        "fields": ["password", "site"],
        "values": {"site": [None, "North"]},
    }
    assert not any("s3cret" in r.details or "n3w-secret" in r.details for r in _rows(ctx))


def test_service_callers_without_an_account_record_the_system(ctx: Context) -> None:
    cam = svc.add_camera(ctx, CameraSpec(name="C", url="rtsp://h/x", place="p")).id
    svc.update_camera(ctx, str(cam), {"place": "lobby"}, actor="cli:ops")
    (added,) = _rows(ctx, ledger.CAMERA_ADDED)
    (changed,) = _rows(ctx, ledger.CAMERA_CHANGED)
    assert added.actor == ledger.SYSTEM and changed.actor == "cli:ops"
    assert json.loads(changed.details)["values"] == {"place": ["p", "lobby"]}


def test_setting_changes_are_recorded(ctx: Context) -> None:
    assert set_setting(ctx, "timezone", "Asia/Urumqi", actor="admin")
    assert not set_setting(ctx, "timezone", "Asia/Urumqi", actor="admin")
    assert set_setting(ctx, "timezone", "Asia/Shanghai")
    assert get_setting(ctx, "timezone") == "Asia/Shanghai"
    rows = _rows(ctx, ledger.SETTING_CHANGED)
    assert [(r.actor, r.object, json.loads(r.details)) for r in rows] == [
        ("admin", "setting:timezone", {"key": "timezone", "old": None, "new": "Asia/Urumqi"}),
        (
            ledger.SYSTEM,
            "setting:timezone",
            {"key": "timezone", "old": "Asia/Urumqi", "new": "Asia/Shanghai"},
        ),
    ]


def test_media_view_is_recorded_before_it_is_served(client: TestClient, ctx: Context) -> None:
    cam = svc.add_camera(ctx, CameraSpec(name="C", url="rtsp://h/x", place="p")).id
    _seal_run(ctx, cam, "run1", T0, 3)
    setup = approved_grant(ctx, camera_ids=[cam], start_us=T0, end_us=T0 + 3_600_000_000)
    officer = setup.holders[0]
    _login(client, officer.username, officer.password)
    start, end = T0 + 500_000, T0 + 3_500_000
    res = client.get(f"/api/v1/cameras/{cam}/media", params={"start": iso(start), "end": iso(end)})
    assert res.status_code == 200 and len(res.content) > 0
    none = client.get(
        f"/api/v1/cameras/{cam}/media",
        params={"start": iso(T0 + 100_000_000), "end": iso(T0 + 101_000_000)},
    )
    assert none.status_code == 404  # nothing shown, nothing recorded
    (viewed,) = _rows(ctx, ledger.MEDIA_VIEWED)
    assert viewed.actor == f"account:{officer.username}" and viewed.object == f"camera:{cam}"
    assert json.loads(viewed.details) == {
        "request": setup.request_id,
        "grant": setup.grant.id,
        "camera": cam,
        "start_us": start,
        "end_us": end,
        "start": iso(start),
        "end": iso(end),
        "segments": 2,
    }


@pytest.mark.slow
def test_live_view_is_recorded_once_per_socket_and_hls_viewing(
    ctx: Context, tmp_path_factory: pytest.TempPathFactory
) -> None:
    clips = tmp_path_factory.getbasetemp() / "live-clips"
    with Simulator([Mount("cam1", ensure_clip(clips, "cam1"))], free_port()) as sim:
        cam = svc.add_camera(ctx, CameraSpec(name="c", url=sim.url("cam1"), place="p")).id
        _set_password(ctx, PASSWORD)
        with TestClient(create_app(ctx, live_linger_s=0.5)) as client:
            _login(client)
            with client.websocket_connect(f"/api/v1/cameras/{cam}/live?stream=sub") as ws:
                ws.receive_json()
                for _ in range(10):
                    ws.receive_bytes()
                base = f"/api/v1/cameras/{cam}/hls/sub"
                for _ in range(3):  # a player polling the playlist
                    assert client.get(f"{base}/index.m3u8").status_code == 200
                assert client.get(f"{base}/init.mp4").status_code == 200
    rows = _rows(ctx, ledger.LIVE_VIEWED)
    assert [(r.actor, r.object, json.loads(r.details)) for r in rows] == [
        ("account:admin", f"camera:{cam}", {"stream": "sub", "transport": "mse"}),
        ("account:admin", f"camera:{cam}", {"stream": "sub", "transport": "hls"}),
    ]


# --- export and the command line -------------------------------------------------------------


def _as_rows(entries: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            int(e["seq"]),
            int(e["time_us"]),
            e["actor"],
            e["action"],
            e["object"],
            e["details"],
            e["prev_hash"],
            e["hash"],
        )
        for e in entries
    ]


def test_export_round_trips_and_verifies_from_the_file_alone(ctx: Context) -> None:
    _fill(ctx, 6)
    ledger.checkpoint(ctx)
    stored = [tuple(r) for r in _rows(ctx)]

    buf = io.StringIO()
    assert ledger.export(ctx, "csv", buf) == 6
    from_csv = _as_rows(list(csv.DictReader(io.StringIO(buf.getvalue()))))
    assert from_csv == stored

    buf = io.StringIO()
    assert ledger.export(ctx, "json", buf) == 6
    doc = json.loads(buf.getvalue())
    assert _as_rows(doc["entries"]) == stored
    assert doc["entries"][0]["time"] == iso(T0)
    (cp,) = (dl.LedgerCheckpoint.from_json(c) for c in doc["checkpoints"])
    assert cp.key_id in doc["public_keys"]
    # an outside verifier needs only the export: the chain and the signed head
    check = dl.walk(_as_rows(doc["entries"]), head=(cp.seq, cp.hash), checkpoints=[cp])
    assert check.findings == []

    buf = io.StringIO()
    assert ledger.export(ctx, "json", buf, since_us=T0 + 2_000_000, until_us=T0 + 4_000_000) == 2
    assert [e["seq"] for e in json.loads(buf.getvalue())["entries"]] == [3, 4]


def test_a_time_typed_without_a_zone_is_the_site_s(ctx: Context, tmp_path: Path) -> None:
    """`ledger export --since/--until` read a time without a zone as UTC: whoever typed the
    clock on the wall in China got entries eight hours off. It is the site's time, as the
    web's pickers read it."""
    _fill(ctx, 5)
    zone = ZoneInfo(site_timezone(ctx))
    assert datetime.fromtimestamp(T0 / 1e6, zone).utcoffset() != timedelta(0)  # a real test

    def wall(us: int) -> str:
        return datetime.fromtimestamp(us / 1e6, zone).strftime("%Y-%m-%dT%H:%M:%S")

    out = tmp_path / "ledger.csv"
    since, until = wall(T0 + 1_000_000), wall(T0 + 3_000_000)
    args = ["export", "--format", "csv", "--since", since, "--until", until, "--out", str(out)]
    res = CliRunner().invoke(ledger_app, [*args, "--data", str(ctx.data.root)])
    assert res.exit_code == 0, res.output
    assert [r["seq"] for r in csv.DictReader(out.open(encoding="utf-8"))] == ["2", "3"]
    # a stored zone no database knows: such a time is refused (its zone must be typed), and
    # one with a zone still read; never a traceback
    set_setting(ctx, "timezone", "Mars/Olympus_Mons")
    res = CliRunner().invoke(ledger_app, [*args, "--data", str(ctx.data.root)])
    assert res.exit_code == 2 and "--since" in res.output and "zone" in res.output, res.output
    zoned = ["--since", iso(T0 + 1_000_000), "--until", iso(T0 + 3_000_000)]
    res = CliRunner().invoke(
        ledger_app, [*args[:3], *zoned, *args[7:], "--data", str(ctx.data.root)]
    )
    assert res.exit_code == 0, res.output


def test_cli_verify_export_and_grant(ctx: Context, tmp_path: Path) -> None:
    runner = CliRunner()
    data = ["--data", str(ctx.data.root)]
    _fill(ctx, 3)
    res = runner.invoke(ledger_app, ["checkpoint", *data])
    assert res.exit_code == 0 and "signed 3" in res.output
    res = runner.invoke(ledger_app, ["verify", "--json", *data])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["ok"] is True
    (ran,) = _rows(ctx, ledger.VERIFY_RAN)
    assert ran.actor.startswith("cli:")

    out = tmp_path / "ledger.csv"
    res = runner.invoke(
        ledger_app,
        [
            "export",
            "--format",
            "csv",
            "--since",
            iso(T0 + 1_000_000),
            "--until",
            iso(T0 + 10_000_000),
            "--out",
            str(out),
            *data,
        ],
    )
    assert res.exit_code == 0, res.output
    assert [r["seq"] for r in csv.DictReader(out.open(encoding="utf-8"))] == ["2", "3"]
    res = runner.invoke(ledger_app, ["export", "--format", "xml", *data])
    assert res.exit_code == 2 and "--format" in res.output
    res = runner.invoke(ledger_app, ["export", "--since", "yesterday", *data])
    assert res.exit_code == 2 and "--since" in res.output

    _drop_triggers(ctx, "ledger")
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE ledger SET actor = 'nobody' WHERE seq = 2"))
    res = runner.invoke(ledger_app, ["verify", *data])
    assert res.exit_code == 1
    assert "altered" in res.output and "NOT intact" in res.output

    res = runner.invoke(db_app, ["grant-app-role", "custodes_nobody_x", *data])
    assert res.exit_code == 2  # SQLite: not applicable; PostgreSQL: no such role


def test_verification_is_fast_enough_to_run_often(ctx: Context) -> None:
    """Not the benchmark (bench/ledger.py): a guard against a walk that became quadratic."""
    with ctx.engine.begin() as conn:
        ledger.record_many(
            conn,
            [
                ledger.NewEntry("a", ledger.MEDIA_VIEWED, "camera:1", T0 + i, {"i": i})
                for i in range(20_000)
            ],
        )
    started = time.perf_counter()
    report = ledger.verify(ctx)
    assert report.ok and report.entries == 20_000
    assert time.perf_counter() - started < 5
