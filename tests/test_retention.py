"""Retention: floors per jurisdiction, refusals in the ledger, holds, and the sweep (an
injectable clock, no sleeps); `verify` passes after every sweep. Instants are the Civil Code's
(tests/test_periods.py): footage may go from 00:00 site time after the last day of its period."""

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
from custodes.domain.camera import CameraSpec
from custodes.domain.periods import NEVER, Period, SiteCalendar, days, years
from custodes.domain.retention import DAY_US, camera_policy
from custodes.domain.timing import RunClock
from custodes.entrypoints.cli import app
from custodes.entrypoints.web.app import create_app
from custodes.entrypoints.web.deps import CSRF_HEADER
from custodes.paths import DATABASE_URL_ENV
from custodes.rules.jurisdictions import cn_rest_day, known, load
from custodes.services import cameras as svc
from custodes.services import ledger, retention
from custodes.services.alarms import open_alarms
from custodes.services.capacity import check_and_alarm, plan
from custodes.services.context import Context
from custodes.services.sealing import Sealer, SegmentClosed
from custodes.services.settings import set_setting
from custodes.services.setup import JURISDICTIONS
from custodes.services.sweep import sweep
from custodes.services.verify import verify

from .media import make_segments
from .recent import T0 as RECENT
from .sealed import CADENCE, SEGMENTS, T0, Archive, seal_archive
from .test_api import PASSWORD, _set_password
from .test_periods import sh

JILIN_DAYS = 15
SITE = SiteCalendar.of("Asia/Shanghai", cn_rest_day)
# Seven 1-s segments before midnight (Shanghai) on Wed 18 Nov 2026, five after: the
# checkpoint intervals [0] [1-4] end on the 18th, [5-8] and [9-11] on the 19th.
MIDNIGHT = sh(2026, 11, 19)
T0_EVENING = MIDNIGHT - 7_500_000


@pytest.fixture
def archive(ctx: Context) -> Archive:
    return seal_archive(ctx)


@pytest.fixture
def evening(ctx: Context) -> Archive:
    return seal_evening(ctx)


def seal_evening(ctx: Context, name: str = "gate", t0: int = T0_EVENING) -> Archive:
    """tests/sealed.py's archive, received from `t0` on (by default across midnight)."""
    cam = svc.add_camera(ctx, CameraSpec(name=name, url="rtsp://10.0.0.1/s", place="p")).id
    run_dir = ctx.data.camera_spool(cam) / "run1"
    clock = RunClock()
    sealer = Sealer(ctx.engine, ctx.data, cadence=CADENCE)
    for file, a, b in make_segments(run_dir, count=SEGMENTS, seconds=1):
        timing = clock.place(a, b, t0 + int(b * 1e6))
        sealer.seal(SegmentClosed(cam, "run1", run_dir / file, timing, StreamInfo()))
    assert sealer.checkpoint_now(cam) == SEGMENTS - 1
    return Archive(ctx, cam, ctx.data.archive)


def deletable_from(end_us: int, floor: Period = days(JILIN_DAYS)) -> int:
    """The first instant footage ending at end_us may go (Shanghai, China's rest days)."""
    return SITE.end(end_us, floor)


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
    floors = {j: camera_policy(load(j), key_target=False, operator_days=None).days for j in known()}
    assert floors == {"jilin": 15, "liaoning": 16, "chongqing": 16, "shenzhen": 30}
    sz = camera_policy(load("shenzhen"), key_target=True, operator_days=None)
    assert (sz.days, sz.article) == (90, "Shenzhen Art. 32 (draft regulations)")
    jl = camera_policy(load("jilin"), key_target=True, operator_days=None)
    assert jl.days == 15  # no key-target floor in Jilin
    longer = camera_policy(load("jilin"), key_target=False, operator_days=60)
    assert (longer.days, longer.reason) == (60, "operator setting")
    shorter = camera_policy(load("shenzhen"), key_target=False, operator_days=7)
    assert shorter.days == 30  # an operator cannot go below the floor
    assert load("liaoning").important.period == years(1)  # Civil Code Art. 202, not 365 days


def test_deleting_retained_footage_is_refused_by_api_and_cli(ctx: Context) -> None:
    archive = seal_archive(ctx, t0=RECENT)  # the command line judges on the real clock
    _at(ctx, RECENT + 3 * DAY_US)
    _set_password(ctx, PASSWORD)
    with TestClient(create_app(ctx)) as client:
        res = client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        client.headers[CSRF_HEADER] = res.json()["csrf_token"]
        res = client.delete(
            f"/api/v1/cameras/{archive.cam}/recordings",
            params={"from": iso(RECENT - 60_000_000), "to": iso(RECENT + 60_000_000)},
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
            iso(RECENT - 60_000_000),
            "--to",
            iso(RECENT + 60_000_000),
            "--data",
            str(ctx.data.root),
        ],
    )
    assert result.exit_code == 1 and "Art. 22(3)" in result.output
    refusals = _ledger(ctx, ledger.DELETION_REFUSED)
    assert refusals[0]["actor"] == "account:admin"
    assert len(refusals) == 2 and str(refusals[1]["actor"]).startswith("cli:")
    assert archive.seqs() == list(range(SEGMENTS))  # nothing went


def test_the_sweep_deletes_exactly_the_expired_unheld_segments(evening: Archive) -> None:
    archive = evening
    ctx = archive.ctx
    now = _at(ctx, T0_EVENING)
    assert sweep(ctx).segments == 0
    # segments 0..6 end on the 18th, 7..11 on the 19th; checkpoint intervals are [0] [1-4]
    # [5-8] [9-11]: the 18th's 15 days end at 24:00 on Thu 3 Dec, the 19th's on Fri 4 Dec
    assert archive.end_us(6) < MIDNIGHT <= archive.end_us(7)
    assert deletable_from(archive.end_us(6)) == sh(2026, 12, 4)
    now[0] = sh(2026, 12, 4) - 1
    assert sweep(ctx).segments == 0  # not a microsecond early
    now[0] = sh(2026, 12, 4)
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
    now[0] = deletable_from(archive.end_us(SEGMENTS - 1)) + 400 * DAY_US
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
    """A year by the Civil Code: footage ending on Wed 18 Nov 2026 is held through Thu 18 Nov
    2027 (Art. 202: the corresponding date) and goes at 00:00 on the 19th, site time. In
    Jilin no article requires it: a refusal cites the no-deletion article only."""
    ctx = archive.ctx
    now = _at(ctx, T0)
    hold = retention.place_hold(
        ctx,
        camera_id=archive.cam,
        start_us=T0 - 60_000_000,
        end_us=archive.end_us(SEGMENTS - 1),
        kind="important",
        reason="evidence of a traffic accident",
        actor="account:alice",
    )
    (view,) = retention.list_holds(ctx)
    assert view.id == hold and view.until_us == sh(2027, 11, 19)
    now[0] = T0 + 300 * DAY_US
    assert sweep(ctx).segments == 0
    with pytest.raises(retention.RetentionRefused) as refused:
        retention.check_deletion(
            ctx, archive.cam, T0 - 60_000_000, archive.end_us(3), actor="cli:x", via="cli"
        )
    assert "important hold" in refused.value.refusal.reason
    assert refused.value.refusal.article == "Jilin Art. 22(3)"  # not Liaoning's 14(7)
    now[0] = sh(2027, 11, 19) - 1
    assert sweep(ctx).segments == 0
    now[0] = sh(2027, 11, 19)
    assert sweep(ctx).segments == SEGMENTS
    _verified(ctx)


def test_operator_retention_and_key_targets_lengthen_it(archive: Archive) -> None:
    ctx = archive.ctx
    with ctx.engine.begin() as conn:
        conn.execute(update(schema.cameras).values(retention_days=20))
    twenty = deletable_from(archive.end_us(SEGMENTS - 1), days(20))
    assert twenty == sh(2026, 12, 9)  # 18 Nov + 20 days: Tue 8 Dec, to its 24:00
    now = _at(ctx, deletable_from(archive.end_us(SEGMENTS - 1)))  # past the 15-day floor
    assert sweep(ctx).segments == 0
    now[0] = twenty - 1
    assert sweep(ctx).segments == 0
    now[0] = twenty
    assert sweep(ctx).segments == SEGMENTS


def test_kill_9_during_a_sweep_batch(evening: Archive) -> None:
    """The sweep process is killed after unlinking two files of a batch; the next sweep
    finishes the batch and index, chain and files agree."""
    archive = evening
    ctx = archive.ctx
    when = deletable_from(archive.end_us(4))
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
    # footage is kept to the end of its period as counted (the day it ends not counted, a
    # last day on a rest day moved on): the archive peaks after the longest holiday
    kept = plan(ctx, Usage(total=10**13, free=10**13)).cameras[0].kept_days
    assert JILIN_DAYS + 1 <= kept <= JILIN_DAYS + 15, kept
    needed = rate * kept * 86_400
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


def test_the_sweep_and_a_running_sealer_keep_the_span_right(evening: Archive) -> None:
    """The sealer caches the span it grows; the sweep trims that span's head meanwhile."""
    archive = evening
    ctx = archive.ctx
    sealer = Sealer(ctx.engine, ctx.data, cadence=CADENCE)
    run_dir = ctx.data.camera_spool(archive.cam) / "run2"
    made = make_segments(run_dir, count=2, seconds=1)
    clock = RunClock()

    def seal(i: int) -> None:
        name, a, b = made[i]
        timing = clock.place(a, b, T0_EVENING + SEGMENTS * 1_000_000 + int(b * 1e6))
        sealer.seal(SegmentClosed(archive.cam, "run2", run_dir / name, timing, StreamInfo()))

    seal(0)  # the sealer now holds the span in its cache
    _at(ctx, deletable_from(archive.end_us(6)))
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


def test_chongqing_keeps_more_than_15_days(archive: Archive) -> None:
    """Chongqing Art. 11(4): "más de 15 días" — more than 15 (超过 excludes the number, Civil
    Code Art. 1259): footage of 18 Nov is still there at 24:00 on its 15th day."""
    ctx = archive.ctx
    set_setting(ctx, "jurisdiction", "chongqing", actor="cli:test")
    end = archive.end_us(SEGMENTS - 1)
    now = _at(ctx, deletable_from(end))  # 15 days: Thu 3 Dec, to its 24:00
    assert sweep(ctx).segments == 0
    with pytest.raises(retention.RetentionRefused, match="16-day retention") as refused:
        retention.check_deletion(ctx, archive.cam, T0 - 60_000_000, end, actor="cli:x", via="cli")
    assert refused.value.refusal.article == "Chongqing Art. 11(4); Chongqing Art. 12(3)"
    now[0] = deletable_from(end, days(16))
    assert now[0] == sh(2026, 12, 5)
    assert sweep(ctx).segments == SEGMENTS


def test_the_sites_time_zone_decides_the_day(evening: Archive) -> None:
    """The 19th begins at 16:00 UTC in Shanghai; with the site on UTC, every segment of the
    evening archive ends on the 18th (UTC) and goes at 00:00 UTC on 4 Dec, not before."""
    archive = evening
    ctx = archive.ctx
    now = _at(ctx, sh(2026, 12, 4))
    set_setting(ctx, "timezone", "UTC", actor="cli:test")
    assert sweep(ctx).segments == 0  # 4 Dec 00:00 Shanghai is 3 Dec 16:00 UTC
    now[0] = sh(2026, 12, 4, 8) - 1
    assert sweep(ctx).segments == 0
    now[0] = sh(2026, 12, 4, 8)  # 00:00 UTC
    assert sweep(ctx).segments == SEGMENTS


def test_a_missing_jurisdiction_is_an_error_not_jilin(archive: Archive) -> None:
    ctx = archive.ctx
    _at(ctx, deletable_from(archive.end_us(SEGMENTS - 1)) + 400 * DAY_US)
    with ctx.engine.begin() as conn:
        conn.execute(schema.settings.delete().where(schema.settings.c.key == "jurisdiction"))
        with pytest.raises(retention.JurisdictionNotSet, match="custodes init --jurisdiction"):
            retention.jurisdiction(conn)
        assert retention.jurisdiction_id(conn) is None
    with pytest.raises(retention.RetentionRefused, match="no jurisdiction set"):
        retention.check_deletion(
            ctx, archive.cam, T0 - 60_000_000, archive.end_us(3), actor="cli:x", via="cli"
        )
    with pytest.raises(retention.JurisdictionNotSet):
        sweep(ctx)
    assert archive.seqs() == list(range(SEGMENTS))  # nothing deleted on a guess
    shown = CliRunner().invoke(app, ["retention", "show", "--data", str(ctx.data.root)])
    assert shown.exit_code == 2 and "no jurisdiction set" in shown.output
    _set_password(ctx, PASSWORD)
    with TestClient(create_app(ctx)) as client:
        client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        res = client.get(f"/api/v1/cameras/{archive.cam}/retention")
        assert res.status_code == 503 and "no jurisdiction set" in res.json()["detail"]


def test_an_unknown_time_zone_deletes_nothing(archive: Archive) -> None:
    ctx = archive.ctx
    _at(ctx, deletable_from(archive.end_us(SEGMENTS - 1)) + 400 * DAY_US)
    set_setting(ctx, "timezone", "Mars/Olympus_Mons", actor="cli:test")
    with pytest.raises(retention.RetentionRefused, match="not a known IANA time zone") as refused:
        retention.check_deletion(
            ctx, archive.cam, T0 - 60_000_000, archive.end_us(3), actor="cli:x", via="cli"
        )
    assert refused.value.refusal.article == "Jilin Art. 22(3)"
    with pytest.raises(retention.UnknownTimeZone):
        sweep(ctx)
    assert archive.seqs() == list(range(SEGMENTS))
    with pytest.raises(retention.HoldError, match="time zone"):
        retention.place_hold(
            ctx,
            camera_id=archive.cam,
            start_us=T0,
            end_us=T0 + 1,
            kind="important",
            reason="r",
            actor="cli:x",
        )


def test_a_draft_says_so_where_its_rule_is_shown(archive: Archive) -> None:
    ctx = archive.ctx
    set_setting(ctx, "jurisdiction", "shenzhen", actor="cli:test")
    shown = CliRunner().invoke(app, ["retention", "show", "--json", "--data", str(ctx.data.root)])
    assert shown.exit_code == 0, shown.output
    assert "Shenzhen Art. 32 (draft regulations)" in shown.output
    _set_password(ctx, PASSWORD)
    with TestClient(create_app(ctx)) as client:
        client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        res = client.get(f"/api/v1/cameras/{archive.cam}/retention")
        assert res.status_code == 200, res.text
        body = res.json()
    assert body["days"] == 30 and body["article"] == "Shenzhen Art. 32 (draft regulations)"
    assert body["no_deletion_article"] == "Shenzhen Art. 30(3) (draft regulations)"


def test_an_important_hold_past_any_calendar_never_ends(archive: Archive) -> None:
    """A hold over a range no calendar date holds the end of is kept for good (NEVER fits the
    column) and the hold list still shows it."""
    ctx = archive.ctx
    _at(ctx, T0)
    far = 2**62
    hold = retention.place_hold(
        ctx,
        camera_id=archive.cam,
        start_us=T0 - 60_000_000,
        end_us=far,
        kind="important",
        reason="kept for good",
        actor="cli:x",
    )
    (view,) = [h for h in retention.list_holds(ctx) if h.id == hold]
    assert view.until_us == NEVER
    listed = CliRunner().invoke(app, ["hold", "list", "--data", str(ctx.data.root)])
    assert listed.exit_code == 0, listed.output
    _set_password(ctx, PASSWORD)
    with TestClient(create_app(ctx)) as client:
        client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        res = client.get("/api/v1/holds")
    assert res.status_code == 200, res.text
    (shown,) = res.json()
    assert shown["until"] == "never" and "µs" in shown["end"]


def test_an_important_hold_stored_with_365_days_keeps_its_full_year(archive: Archive) -> None:
    """Holds placed before periods were counted by the Civil Code stored end + 365 days (here
    18 Nov 2027 19:06 Shanghai): the gate reads them as a year to 24:00 of 18 Nov 2027."""
    ctx = archive.ctx
    end = archive.end_us(SEGMENTS - 1)
    with ctx.engine.begin() as conn:
        conn.execute(
            schema.holds.insert().values(
                kind="important",
                camera_id=archive.cam,
                start_us=T0 - 60_000_000,
                end_us=end,
                reason="placed by an earlier version",
                created_by="account:alice",
                created_us=T0,
                until_us=end + 365 * DAY_US,
            )
        )
    (view,) = retention.list_holds(ctx)
    assert view.until_us == sh(2027, 11, 19)
    now = _at(ctx, end + 365 * DAY_US)
    assert sweep(ctx).segments == 0
    with pytest.raises(retention.RetentionRefused, match="important hold"):
        retention.check_deletion(ctx, archive.cam, T0, end, actor="cli:x", via="cli")
    now[0] = sh(2027, 11, 19)
    assert sweep(ctx).segments == SEGMENTS
