"""`kill -9` of the service mid-recording: no complete segment lost, index and archive agree."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from custodes.adapters.journal import JOURNAL_NAME
from custodes.adapters.simulator.clips import ensure_clip
from custodes.adapters.simulator.process import Mount, Simulator
from custodes.paths import DATABASE_URL_ENV
from custodes.services.context import Context

from .conftest import free_port
from .recording import add_cameras, assert_archive_agrees, count_segments, segment_rows, wait_for

pytestmark = pytest.mark.slow


def _serve(ctx: Context, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, **{DATABASE_URL_ENV: ctx.data.database_url()})
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "custodes.entrypoints.cli",
            "serve",
            "--data",
            str(ctx.data.root),
            "--segment-seconds",
            "2",
        ],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _ffmpeg_children(spool: Path) -> list[int]:
    out = subprocess.run(["pgrep", "-f", f"ffmpeg.*{spool}"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def test_kill_9_loses_no_complete_segment(ctx: Context, tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    with Simulator([Mount("cam1", ensure_clip(clips, "cam1"))], free_port()) as sim:
        (cam,) = add_cameras(ctx, sim, ["cam1"])
        proc = _serve(ctx, tmp_path / "serve.log")
        try:
            wait_for("4 sealed segments", lambda: count_segments(ctx, cam) >= 4, 60)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            journaled = sum(
                len(j.read_text().splitlines()) for j in ctx.data.spool.rglob(JOURNAL_NAME)
            )
            indexed_at_kill = count_segments(ctx, cam)
            # the children die with the service: nothing keeps writing into the spool
            wait_for(
                "ffmpeg to die with its parent", lambda: not _ffmpeg_children(ctx.data.spool), 10
            )
            proc = _serve(ctx, tmp_path / "serve.log")
            wait_for(
                "recording to resume after restart",
                lambda: count_segments(ctx, cam) >= max(indexed_at_kill, journaled) + 3,
                60,
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0, (tmp_path / "serve.log").read_text()[-3000:]
    rows = segment_rows(ctx, cam)
    assert [r.seq for r in rows] == list(range(len(rows)))
    # every segment ffmpeg had closed before the kill was sealed after the restart
    assert len(rows) >= journaled
    assert_archive_agrees(ctx)
    assert list(ctx.data.spool.rglob("*.mp4")) == []
