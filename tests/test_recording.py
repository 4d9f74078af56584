"""Record real streams from a real RTSP server with real ffmpeg, into a real database."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from custodes.adapters.simulator.clips import ensure_clip
from custodes.adapters.simulator.process import Mount, Simulator
from custodes.recorder.events import StateChanged
from custodes.recorder.worker import StreamWorker, WorkerConfig
from custodes.services import cameras as svc
from custodes.services.context import Context
from custodes.services.status import camera_status

from .conftest import free_port
from .recording import (
    add_cameras,
    assert_archive_agrees,
    assert_contiguous,
    count_segments,
    gap_rows,
    recording,
    segment_rows,
    spool_media,
    wait_for,
)

pytestmark = pytest.mark.slow
SEG = 2.0


@pytest.fixture(scope="session")
def clips(clip_dir: Path) -> Path:
    for name in ("cam1", "cam2"):
        ensure_clip(clip_dir, name)
    return clip_dir


def _mounts(clips: Path, names: list[str]) -> list[Mount]:
    return [Mount(n, ensure_clip(clips, n)) for n in names]


def test_two_cameras_record_contiguous_indexed_segments(ctx: Context, clips: Path) -> None:
    with Simulator(_mounts(clips, ["cam1", "cam2"]), free_port()) as sim:
        ids = add_cameras(ctx, sim, ["cam1", "cam2"])
        with recording(ctx, segment_seconds=SEG):
            wait_for(
                "4 segments per camera", lambda: min(count_segments(ctx, i) for i in ids) >= 4, 40
            )
            status = {s.id: s for s in camera_status(ctx)}
            for i in ids:
                assert status[i].state == "recording"
                age = status[i].newest_age_s
                assert age is not None and age < 3 * SEG
    for i in ids:
        rows = segment_rows(ctx, i)
        assert len(rows) >= 4
        assert_contiguous(rows)
        for r in rows[1:-1]:  # whole segments: one segment length of media each
            assert abs(r.duration_us / 1e6 - SEG) < 0.1
            assert (r.video_codec, r.width, r.height) == ("h264", 1920, 1080)
            assert abs(r.drift_us) < 500_000
    assert_archive_agrees(ctx)
    assert spool_media(ctx) == []  # everything sealed on a clean stop
    assert all(g.reason == "recorder was not running" for i in ids for g in gap_rows(ctx, i))


def test_outage_leaves_a_gap_and_recording_resumes(ctx: Context, clips: Path) -> None:
    port = free_port()
    mounts = _mounts(clips, ["cam1"])
    sim = Simulator(mounts, port)
    sim.start()
    (cam,) = add_cameras(ctx, sim, ["cam1"])
    try:
        with recording(ctx, segment_seconds=SEG):  # the back-off grows to 8 s meanwhile
            wait_for("3 segments", lambda: count_segments(ctx, cam) >= 3, 30)
            sim.stop()
            down_at = time.time()
            time.sleep(10)
            assert camera_status(ctx)[0].state in ("reconnecting", "starting")
            assert camera_status(ctx)[0].open_gap_since is not None
            before = count_segments(ctx, cam)
            sim = Simulator(mounts, port)
            sim.start()
            up_at = time.time()
            wait_for("recording to resume", lambda: count_segments(ctx, cam) >= before + 2, 40)
    finally:
        sim.stop()
    (gap,) = [g for g in gap_rows(ctx, cam) if g.reason != "recorder was not running"]
    assert gap.end_us is not None
    assert gap.start_us / 1e6 <= down_at + 0.5  # starts where recording stopped
    assert gap.end_us / 1e6 >= up_at  # ends after the server came back
    # … and soon after: the worker probes the camera's port while it waits to reconnect,
    # instead of sleeping out a back-off that grew while the camera was away
    assert gap.end_us / 1e6 - up_at < 3.0, gap.end_us / 1e6 - up_at
    assert "ended" in gap.reason or "refused" in gap.reason, gap.reason
    assert gap.end_us - gap.start_us >= 9_500_000
    rows = segment_rows(ctx, cam)
    before_gap = [r for r in rows if r.end_us <= gap.start_us + 1000]
    after_gap = [r for r in rows if r.start_us >= gap.end_us - 1000]
    assert len(before_gap) + len(after_gap) == len(rows)  # no segment inside the gap
    assert_contiguous(before_gap)
    assert_contiguous(after_gap)
    assert_archive_agrees(ctx)
    # recording again: the outage is history (its gap keeps the reason), not a current error
    assert camera_status(ctx)[0].last_error is None


def test_a_changed_address_is_the_gaps_reason(ctx: Context, clips: Path) -> None:
    """Changing a camera's address restarts its worker: the gap says so, not "recorder was
    not running"."""
    with Simulator(_mounts(clips, ["cam1", "cam2"]), free_port()) as sim:
        (cam,) = add_cameras(ctx, sim, ["cam1"])
        with recording(ctx, segment_seconds=SEG) as sup:
            wait_for("2 segments", lambda: count_segments(ctx, cam) >= 2, 40)
            svc.update_camera(ctx, str(cam), {"url": sim.url("cam2")})
            sup.sync_cameras()
            n = count_segments(ctx, cam)
            wait_for(
                "recording from the new address", lambda: count_segments(ctx, cam) >= n + 2, 40
            )
    reasons = [g.reason for g in gap_rows(ctx, cam)]
    assert "the camera's address was changed: reconnecting to it" in reasons, reasons
    assert reasons.count("recorder was not running") == 0  # a new camera: no gap before it


def test_a_camera_that_stays_down_stays_reconnecting(tmp_path: Path) -> None:
    """Each retry of a camera that is down is still "reconnecting": status said "starting"
    during every attempt, so a down camera flickered between the two (and a test sampling it
    under load read the wrong one)."""
    events: list[object] = []
    cfg = WorkerConfig(
        camera_id=1,
        name="down",
        url=f"rtsp://127.0.0.1:{free_port()}/x",  # refused at once
        spool_dir=tmp_path / "spool",
        log_path=tmp_path / "cam.log",
        segment_seconds=1,
        backoff_cap_s=0.2,
    )
    worker = StreamWorker(cfg, events.append, recorded_until_us=None)
    worker.start()
    try:
        wait_for(
            "three failed runs",
            lambda: (
                sum(isinstance(e, StateChanged) and e.state == "reconnecting" for e in events) >= 3
            ),
            30,
        )
    finally:
        worker.stop()
        worker.join(10)
    states = [e.state for e in events if isinstance(e, StateChanged)]
    assert states[0] == "starting" and states[-1] == "stopped", states
    assert set(states[1:-1]) == {"reconnecting"}, states
