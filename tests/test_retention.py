"""Retention: floors per jurisdiction, refusals in the ledger, holds, and the sweep (an
injectable clock, no sleeps); `verify` passes after every sweep."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from custodes.adapters.db import schema
from custodes.adapters.diskspace import RESERVE_ENV, Usage
from custodes.adapters.ffmpeg.stderr import StreamInfo
from custodes.clock import iso
from custodes.domain.retention import DAY_US, camera_policy
from custodes.domain.timing import RunClock
from custodes.entrypoints.cli import app
from custodes.entrypoints.web.app import create_app
from custodes.entrypoints.web.deps import CSRF_HEADER
from custodes.paths import DATABASE_URL_ENV
from custodes.rules.jurisdictions import known, load
from custodes.services import ledger, retention
from custodes.services.alarms import open_alarms
from custodes.services.capacity import check_and_alarm, plan
from custodes.services.context import Context
from custodes.services.sealing import Sealer, SegmentClosed
from custodes.services.setup import JURISDICTIONS
from custodes.services.sweep import sweep
from custodes.services.verify import verify

from .media import make_segments
from .sealed import CADENCE, SEGMENTS, T0, Archive, seal_archive
from .test_api import PASSWORD, _set_password

JILIN_DAYS = 15


@pytest.fixture
def archive(ctx: Context) -> Archive:
    return seal_archive(ctx)


def _at(ctx: Context, when_us: int) -> list[int]:
    now = [when_us]
    ctx.clock = lambda: now[0]
    return now


def _ledger(ctx: Context, action: str) -> list[dict[str, object]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(schema.ledger).where(schema.ledger.c.action == action).order_by("seq")
        ).all()
    return [dict(r._mapping) for r in rows]


def _verified(ctx: Context) -> None:
    report = verify(ctx, cadence=CADENCE)
    assert not report.failed, report.to_json()


def test_floors_per_jurisdiction() -> None:
    assert set(known()) == set(JURISDICTIONS)
    days = {j: camera_policy(load(j), key_target=False, operator_days=None).days for j in known()}
    assert days == {"jilin": 15, "liaoning": 15, "chongqing": 15, "shenzhen": 30}
    sz = camera_policy(load("shenzhen"), key_target=True, operator_days=None)
    assert (sz.days, sz.article) == (90, "Shenzhen Art. 32")
    jl = camera_policy(load("jilin"), key_target=True, operator_days=None)
    assert jl.days == 15  # no key-target floor in Jilin
    longer = camera_policy(load("jilin"), key_target=False, operator_days=60)
    assert (longer.days, longer.reason) == (60, "operator setting")
    shorter = camera_policy(load("shenzhen"), key_target=False, operator_days=7)
    assert shorter.days == 30  # an operator cannot go below the floor
    assert load("liaoning").important.days == 365


def test_deleting_retained_footage_is_refused_by_api_and_cli(archive: Archive) -> None:
    ctx = archive.ctx
    _at(ctx, T0 + 3 * DAY_US)
    _set_password(ctx, PASSWORD)
    with TestClient(create_app(ctx)) as client:
        res = client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        client.headers[CSRF_HEADER] = res.json()["csrf_token"]
        res = client.delete(
            f"/api/v1/cameras/{archive.cam}/recordings",
            params={"from": iso(T0 - 60_000_000), "to": iso(T0 + 60_000_000)},
        )
        assert res.status_code == 403, res.text
        detail = res.json()["detail"]
        assert "15-day retention" in detail["reason"]
        assert "Jilin Art. 21(2)" in detail["article"] and "Jilin Art. 22(3)" in detail["article"]
    result = CliRunner().invoke(
        app,
        [
            "recordings",
            "delete",
            "gate",
            "--from",
            iso(T0 - 60_000_000),
            "--to",
            iso(T0 + 60_000_000),
            "--data",
            str(ctx.data.root),
        ],
    )
    assert result.exit_code == 1 and "Art. 22(3)" in result.output
    refusals = _ledger(ctx, ledger.DELETION_REFUSED)
    assert refusals[0]["actor"] == "account:admin"
    assert len(refusals) == 2 and str(refusals[1]["actor"]).startswith("cli:")
    assert archive.seqs() == list(range(SEGMENTS))  # nothing went


def test_the_sweep_deletes_exactly_the_expired_unheld_segments(archive: Archive) -> None:
    ctx = archive.ctx
    now = _at(ctx, T0)
    assert sweep(ctx).segments == 0
    # segments 0..6 are past 15 days; checkpoint intervals are [0] [1-4] [5-8] [9-11]
    now[0] = archive.end_us(6) + JILIN_DAYS * DAY_US
    files = {seq: archive.path(seq) for seq in range(SEGMENTS)}
    report = sweep(ctx)
    assert (report.segments, report.batches) == (5, 2)
    assert archive.seqs() == list(range(5, SEGMENTS))
    assert [s for s, p in files.items() if not p.exists()] == [0, 1, 2, 3, 4]
    batches = _ledger(ctx, ledger.SWEEP_BATCH)
    assert [b["object"] for b in batches] == [f"camera:{archive.cam}"] * 2
    assert '"first_seq":1' in str(batches[1]["details"]) and '"last_seq":4' in str(
        batches[1]["details"]
    )
    _verified(ctx)
    with ctx.engine.connect() as conn:
        span = conn.execute(select(schema.spans)).one()
    assert (span.segments, span.start_us) == (SEGMENTS - 5, _start(archive, 5))
    # a case hold over segment 10 keeps its interval [9-11]; the rest goes
    hold = retention.place_hold(
        ctx,
        camera_id=archive.cam,
        start_us=archive.end_us(9) + 1,
        end_us=archive.end_us(10),
        kind="case",
        reason="theft report 2026-114",
        actor="account:alice",
        reference="2026-114",
    )
    now[0] = archive.end_us(SEGMENTS - 1) + 400 * DAY_US
    assert sweep(ctx).segments == 4
    assert archive.seqs() == [9, 10, 11]
    _verified(ctx)
    _refused_while_held(archive)
    # two different accounts release it
    assert retention.release_hold(ctx, hold, actor="account:alice") == "requested"
    with pytest.raises(retention.HoldError, match="second, different account"):
        retention.release_hold(ctx, hold, actor="account:alice")
    assert retention.release_hold(ctx, hold, actor="account:bob") == "released"
    assert sweep(ctx).segments == 3
    assert archive.seqs() == []
    _verified(ctx)
    assert [e["action"] for e in _ledger(ctx, ledger.HOLD_RELEASED)] == ["hold-released"]


def _start(archive: Archive, seq: int) -> int:
    with archive.ctx.engine.connect() as conn:
        return int(
            conn.execute(
                select(schema.segments.c.start_us).where(schema.segments.c.seq == seq)
            ).scalar_one()
        )


def _refused_while_held(archive: Archive) -> None:
    with pytest.raises(retention.RetentionRefused, match="case hold"):
        retention.check_deletion(
            archive.ctx,
            archive.cam,
            _start(archive, 9),
            archive.end_us(11),
            actor="account:mallory",
            via="api",
        )


def test_important_footage_is_kept_a_year(archive: Archive) -> None:
    ctx = archive.ctx
    now = _at(ctx, T0)
    retention.place_hold(
        ctx,
        camera_id=archive.cam,
        start_us=T0 - 60_000_000,
        end_us=archive.end_us(SEGMENTS - 1),
        kind="important",
        reason="evidence of a traffic accident",
        actor="account:alice",
    )
    now[0] = T0 + 300 * DAY_US
    assert sweep(ctx).segments == 0
    now[0] = archive.end_us(SEGMENTS - 1) + 366 * DAY_US
    assert sweep(ctx).segments == SEGMENTS
    _verified(ctx)


def test_operator_retention_and_key_targets_lengthen_it(archive: Archive) -> None:
    ctx = archive.ctx
    with ctx.engine.begin() as conn:
        conn.execute(update(schema.cameras).values(retention_days=20))
    now = _at(ctx, archive.end_us(SEGMENTS - 1) + 16 * DAY_US)
    assert sweep(ctx).segments == 0
    now[0] += 5 * DAY_US
    assert sweep(ctx).segments == SEGMENTS


def test_kill_9_during_a_sweep_batch(archive: Archive) -> None:
    """The sweep process is killed after unlinking two files of a batch; the next sweep
    finishes the batch and index, chain and files agree."""
    ctx = archive.ctx
    when = archive.end_us(4) + JILIN_DAYS * DAY_US
    script = (
        "import sys\n"
        "from custodes.paths import DataDir\n"
        "from custodes.services.context import open_context\n"
        "from custodes.services.sweep import sweep\n"
        f"ctx = open_context(DataDir(__import__('pathlib').Path({str(ctx.data.root)!r})))\n"
        f"ctx.clock = lambda: {when}\n"
        "sweep(ctx)\n"
    )
    env = {
        **os.environ,
        DATABASE_URL_ENV: os.environ[DATABASE_URL_ENV],
        "CUSTODES_CRASH_AT": "sweep-unlinked:2",
    }
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    gone = [seq for seq in archive.seqs() if not archive.path(seq).exists()]
    assert len(gone) == 2  # the batch was cut short: rows still there, two files gone
    _at(ctx, when)
    assert sweep(ctx).segments == 0  # nothing new: the interrupted batch is finished first
    assert archive.seqs() == list(range(5, SEGMENTS))
    _verified(ctx)


def test_capacity_plan_and_its_alarm(archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = archive.ctx
    _at(ctx, archive.end_us(SEGMENTS - 1) + 60_000_000)
    monkeypatch.setenv(RESERVE_ENV, "100")
    reserve = 100 * 1024 * 1024
    stored = sum(archive.path(s).stat().st_size for s in range(SEGMENTS))
    rate = stored / SEGMENTS  # bytes per second: 12 one-second segments
    needed = rate * JILIN_DAYS * 86_400
    roomy = Usage(total=10**13, free=int(needed + reserve + 30 * rate * 86_400))
    result = check_and_alarm(ctx, roomy)
    (cam,) = result.cameras
    assert cam.stored_bytes == stored and cam.retention_days == JILIN_DAYS
    assert cam.bitrate_bps == pytest.approx(rate * 8, rel=0.1)
    assert cam.needed_bytes == pytest.approx(needed, rel=0.1)
    assert result.volume.ok
    assert result.volume.headroom_days == pytest.approx(30, rel=0.1)
    # headroom below a week: warned well before the floor is at risk
    tight = Usage(total=10**13, free=int(needed + reserve + 3 * rate * 86_400))
    warn = check_and_alarm(ctx, tight)
    assert not warn.volume.ok and "days of headroom" in warn.volume.message
    with ctx.engine.connect() as conn:
        assert [a.kind for a in open_alarms(conn)] == ["disk-low"]
    short = Usage(total=10**13, free=int(needed / 2))
    assert "cannot hold the retention floors" in plan(ctx, short).volume.message
    assert check_and_alarm(ctx, roomy).volume.ok
    with ctx.engine.connect() as conn:
        assert open_alarms(conn) == []
    cli = CliRunner().invoke(app, ["retention", "plan", "--json", "--data", str(ctx.data.root)])
    assert cli.exit_code == (0 if plan(ctx).volume.ok else 1), cli.output


def test_the_sweep_and_a_running_sealer_keep_the_span_right(archive: Archive) -> None:
    """The sealer caches the span it grows; the sweep trims that span's head meanwhile."""
    ctx = archive.ctx
    sealer = Sealer(ctx.engine, ctx.data, cadence=CADENCE)
    run_dir = ctx.data.camera_spool(archive.cam) / "run2"
    made = make_segments(run_dir, count=2, seconds=1)
    clock = RunClock()

    def seal(i: int) -> None:
        name, a, b = made[i]
        timing = clock.place(a, b, T0 + SEGMENTS * 1_000_000 + int(b * 1e6))
        sealer.seal(SegmentClosed(archive.cam, "run2", run_dir / name, timing, StreamInfo()))

    seal(0)  # the sealer now holds the span in its cache
    _at(ctx, archive.end_us(6) + JILIN_DAYS * DAY_US)
    assert sweep(ctx).segments == 5
    seal(1)
    with ctx.engine.connect() as conn:
        (span,) = conn.execute(select(schema.spans)).all()
        total = conn.execute(
            select(func.count(), func.sum(schema.segments.c.bytes)).where(
                schema.segments.c.camera_id == archive.cam
            )
        ).one()
    assert (span.segments, span.bytes) == (total[0], total[1]) == (SEGMENTS + 2 - 5, total[1])
    _verified(ctx)
