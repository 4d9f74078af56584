"""A full disk: recording stops with a gap, a fault and an alarm, nothing stored is lost, and
recording resumes by itself once space is freed. The disk is a small tmpfs the test mounts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from custodes.adapters.db import schema
from custodes.adapters.diskspace import (
    DEFAULT_RESERVE_BYTES,
    RESERVE_ENV,
    reserve_warning,
    usage,
)
from custodes.adapters.simulator.clips import ensure_clip
from custodes.adapters.simulator.process import Mount, Simulator
from custodes.paths import DATABASE_URL_ENV, DataDir
from custodes.recorder.worker import DISK_FULL
from custodes.services.context import Context, open_context
from custodes.services.setup import initialise
from custodes.services.status import system_status

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
            ).scalar_one_or_none()
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


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "custodes.entrypoints.cli", *args]


def test_a_reserve_below_the_minimum_is_refused(ctx: Context, tmp_path: Path) -> None:
    """CUSTODES_DISK_RESERVE_MB=0 would let the disk fill while segments are written: the
    recorder refuses to start and says why (a small one is warned about)."""
    env = dict(os.environ, **{DATABASE_URL_ENV: ctx.data.database_url(), RESERVE_ENV: "0"})
    res = subprocess.run(
        _cli("serve", "--data", str(ctx.data.root), "--http-port", "0"),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2, res.stderr
    assert "below the minimum" in res.stderr and RESERVE_ENV in res.stderr
    assert reserve_warning(8 * 2**20) is not None and reserve_warning(DEFAULT_RESERVE_BYTES) is None


def test_the_default_reserve_on_a_small_disk_never_starts_ffmpeg(
    small_disk: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A 48 MB volume is below the default reserve of 512 MB from the start: the camera is
    'disk full' with its gap and alarm, and nothing is written into a disk that would cut
    it short."""
    monkeypatch.setenv(DATABASE_URL_ENV, database_url)
    monkeypatch.delenv(RESERVE_ENV, raising=False)
    ctx = initialise(DataDir(small_disk / "data"), "jilin").context
    clips = tmp_path_factory.getbasetemp() / "disk-clips"
    try:
        with Simulator([Mount("cam1", ensure_clip(clips, "cam1"))], free_port()) as sim:
            (cam,) = add_cameras(ctx, sim, ["cam1"])
            with recording(ctx, segment_seconds=1):
                wait_for("the disk-full fault", lambda: _state(ctx, cam) == DISK_FULL, 30)
                assert "disk-full" in _open_alarms(ctx)
                time.sleep(3)
                assert list(ctx.data.spool.rglob("*.mp4")) == []
        assert count_segments(ctx, cam) == 0
        system = system_status(ctx)
        assert system.disk is not None and system.disk.full
    finally:
        ctx.engine.dispose()


def _log_lines(ctx_root: Path) -> int:
    logs = ctx_root / "logs"
    return sum(len(p.read_bytes().splitlines()) for p in logs.glob("*.log"))


def _status_json(root: Path, env: dict[str, str]) -> dict[str, Any]:
    res = subprocess.run(
        _cli("status", "--json", "--data", str(root)),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    found: dict[str, Any] = json.loads(res.stdout)
    return found


def test_a_real_enospc_with_the_database_on_the_full_disk(
    small_disk: Path,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The default installation: SQLite in the data directory, on the disk that fills."""
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    _enospc(small_disk, None, tmp_path, tmp_path_factory)


def test_a_real_enospc_with_the_database_elsewhere(
    small_disk: Path,
    database_url: str,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, database_url)
    _enospc(small_disk, database_url, tmp_path, tmp_path_factory)


def _enospc(
    small_disk: Path,
    database_url: str | None,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The disk filled to the last byte while recording (the reserve is 1 MB, and another
    process takes all of it between two looks): no segment is indexed as whole that was not
    written whole; the camera is 'disk full' with an alarm — in `status` even when the
    database on that disk cannot be written; the logs grow by a bounded amount; Ctrl-C stops
    at once; with space back, recording resumes and the archive verifies."""
    root = small_disk / "data"
    env = dict(os.environ, **{RESERVE_ENV: "1"})
    if database_url is not None:
        env[DATABASE_URL_ENV] = database_url
    subprocess.run(
        _cli("init", "--data", str(root), "--jurisdiction", "jilin"), env=env, check=True
    )
    clips = tmp_path_factory.getbasetemp() / "disk-clips"
    log = tmp_path / "serve.log"
    with Simulator([Mount("cam1", ensure_clip(clips, "cam1"))], free_port()) as sim:
        subprocess.run(
            _cli(
                "camera",
                "add",
                "cam1",
                "--url",
                sim.url("cam1"),
                "--place",
                "t",
                "--data",
                str(root),
            ),
            env=env,
            check=True,
        )
        serve = _cli("serve", "--data", str(root), "--http-port", "0", "--segment-seconds", "2")
        proc = subprocess.Popen(serve, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        try:
            wait_for(
                "3 segments",
                lambda: _status_json(root, env)["cameras"][0]["segments"] >= 3,
                60,
            )
            filler = small_disk / "filler"
            filled_us = int(time.time() * 1e6)
            with filler.open("wb") as f:  # every byte left, and then what frees up
                os.posix_fallocate(f.fileno(), 0, usage(small_disk).free)
                deadline = time.monotonic() + 3
                while time.monotonic() < deadline:
                    free = usage(small_disk).free
                    if free:
                        os.posix_fallocate(f.fileno(), f.seek(0, os.SEEK_END), free)
                    time.sleep(0.05)

            def full_in_status() -> bool:
                status = _status_json(root, env)
                return any(a["kind"] == "disk-full" for a in status["alarms"]) and bool(
                    status["disk"]["full"]
                )

            wait_for("disk full in status", full_in_status, 30)
            lines_before = _log_lines(root) + len(log.read_bytes().splitlines())
            time.sleep(20)
            lines_after = _log_lines(root) + len(log.read_bytes().splitlines())
            assert lines_after - lines_before < 60, log.read_text()[-3000:]
            stopping = time.monotonic()
            proc.send_signal(signal.SIGINT)
            assert proc.wait(30) == 0, log.read_text()[-3000:]
            assert time.monotonic() - stopping < 20
        finally:
            if proc.poll() is None:
                proc.kill()
        filler.unlink()
        resumed_us = int(time.time() * 1e6)
        proc = subprocess.Popen(serve, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
        try:
            wait_for(
                "recording to resume",
                lambda: _status_json(root, env)["cameras"][0]["state"] == "recording",
                60,
            )
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(60) == 0, log.read_text()[-3000:]
    ctx = open_context(DataDir(root))
    try:
        assert_archive_agrees(ctx)  # every indexed file whole, with its probed duration
        # a closed gap covers the time the disk was full; its reason is "disk full" when
        # the database could record it (with the database on the full disk it could not,
        # and the restart's gap covers that time)
        noticed_us = filled_us + 10_000_000  # the disk was full by then (status said so)
        gaps = [g for g in gap_rows(ctx, 1) if g.start_us <= noticed_us and g.end_us]
        assert gaps and max(g.end_us for g in gaps) >= resumed_us, gap_rows(ctx, 1)
        if database_url is not None:
            assert any(g.reason == "disk full" for g in gaps), gaps
    finally:
        ctx.engine.dispose()
