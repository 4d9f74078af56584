"""A full disk: recording stops with a gap, a fault and an alarm, nothing stored is lost, and
recording resumes by itself once space is freed. The disk is a small tmpfs the test mounts."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from custodes.adapters.db import schema
from custodes.adapters.diskspace import RESERVE_ENV, usage
from custodes.adapters.simulator.clips import ensure_clip
from custodes.adapters.simulator.process import Mount, Simulator
from custodes.paths import DATABASE_URL_ENV, DataDir
from custodes.recorder.worker import DISK_FULL
from custodes.services.context import Context
from custodes.services.setup import initialise

from .conftest import free_port
from .recording import (
    add_cameras,
    assert_archive_agrees,
    count_segments,
    gap_rows,
    recording,
    wait_for,
)

pytestmark = pytest.mark.slow
SIZE_MB = 48
RESERVE_MB = 8


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("the full-disk test mounts a tmpfs: CI runs it as root")
        pytest.skip("NOTICE: mounting a tmpfs needs root; full-disk test skipped")
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m", "tmpfs", str(mnt)], check=True
    )
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _state(ctx: Context, cam: int) -> str:
    with ctx.engine.connect() as conn:
        return str(
            conn.execute(
                select(schema.camera_state.c.state).where(schema.camera_state.c.camera_id == cam)
            ).scalar_one()
        )


def _open_alarms(ctx: Context) -> list[str]:
    a = schema.alarms
    with ctx.engine.connect() as conn:
        return [r[0] for r in conn.execute(select(a.c.kind).where(a.c.cleared_us.is_(None)))]


def test_a_full_disk_stops_recording_and_recovers(
    small_disk: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, database_url)
    monkeypatch.setenv(RESERVE_ENV, str(RESERVE_MB))
    ctx = initialise(DataDir(small_disk / "data"), "jilin").context
    clips = tmp_path_factory.getbasetemp() / "disk-clips"
    try:
        with Simulator([Mount("cam1", ensure_clip(clips, "cam1"))], free_port()) as sim:
            (cam,) = add_cameras(ctx, sim, ["cam1"])
            with recording(ctx, segment_seconds=1) as sup:
                wait_for("3 segments", lambda: count_segments(ctx, cam) >= 3, 40)
                filler = small_disk / "filler"
                room = usage(small_disk).free - (RESERVE_MB // 2) * 1024 * 1024
                with filler.open("wb") as f:
                    os.posix_fallocate(f.fileno(), 0, room)
                wait_for("the disk-full fault", lambda: _state(ctx, cam) == DISK_FULL, 30)
                assert "disk-full" in _open_alarms(ctx)
                gaps = gap_rows(ctx, cam)
                assert gaps[-1].reason == "disk full" and gaps[-1].end_us is None
                held = count_segments(ctx, cam)
                assert sup.disk.full()
                filler.unlink()
                wait_for(
                    "recording to resume",
                    lambda: (
                        count_segments(ctx, cam) >= held + 3 and _state(ctx, cam) == "recording"
                    ),
                    40,
                )
                wait_for("the alarm to clear", lambda: "disk-full" not in _open_alarms(ctx), 10)
        gaps = gap_rows(ctx, cam)
        full = [g for g in gaps if g.reason == "disk full"]
        assert len(full) == 1 and full[0].end_us is not None
        assert_archive_agrees(ctx, probe=False)  # every file, digest and checkpoint intact
    finally:
        ctx.engine.dispose()
