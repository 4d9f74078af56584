"""`kill -9` of the service mid-recording: no complete segment lost, index and archive agree."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from custodes.adapters.db import schema
from custodes.adapters.ffmpeg.command import FRAGMENT_US
from custodes.adapters.journal import JOURNAL_NAME
from custodes.adapters.simulator.clips import ensure_clip
from custodes.adapters.simulator.process import Mount, Simulator
from custodes.paths import DATABASE_URL_ENV
from custodes.services.context import Context

from .conftest import free_port
from .recording import (
    add_cameras,
    assert_archive_agrees,
    count_segments,
    gap_rows,
    segment_rows,
    wait_for,
)

pytestmark = pytest.mark.slow


def _serve(ctx: Context, log: Path, segment_seconds: float = 2) -> subprocess.Popen[bytes]:
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
            str(segment_seconds),
        ],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _ffmpeg_children(spool: Path) -> list[int]:
    out = subprocess.run(["pgrep", "-f", f"ffmpeg.*{spool}"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def test_kill_9_loses_no_complete_segment(ctx: Context, tmp_path: Path, clip_dir: Path) -> None:
    with Simulator([Mount("cam1", ensure_clip(clip_dir, "cam1"))], free_port()) as sim:
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


def _kill_9(proc: subprocess.Popen[bytes], spool: Path) -> float:
    killed_at = time.time()
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    wait_for("ffmpeg to die with its parent", lambda: not _ffmpeg_children(spool), 10)
    return killed_at


# What a kill may cost: the fragment being built (frag_duration, or a GOP when shorter) and
# the time ffmpeg's write takes on a loaded machine.
MAY_LOSE_S = FRAGMENT_US / 1e6 + 1.0


def test_kill_9_inside_a_segment_loses_at_most_one_fragment(
    ctx: Context, tmp_path: Path, clip_dir: Path
) -> None:
    """4-s segments (two GOPs of two 1-s fragments), the service killed 1.5 s, 2.5 s and 3.5 s
    after a segment closed — in a GOP's second fragment, in the next GOP's first, in its
    second: each time, the open segment is salvaged after the restart — cut to its whole
    fragments, sealed with its true duration and a note — so the footage before the kill
    reaches to within one fragment of it. Each salvage is in the ledger, the status and an
    alarm."""
    log = tmp_path / "serve.log"
    kills: list[float] = []
    with Simulator([Mount("cam1", ensure_clip(clip_dir, "cam1"))], free_port()) as sim:
        (cam,) = add_cameras(ctx, sim, ["cam1"])
        for offset in (1.5, 2.5, 3.5):
            proc = _serve(ctx, log, segment_seconds=4)
            try:
                # the run's first closed segment (after a kill, the salvage of the segment it
                # cut is sealed first; the first run has none, so one segment is enough)
                n = count_segments(ctx, cam) + (2 if kills else 1)
                wait_for(
                    "a segment of this run",
                    lambda n=n: count_segments(ctx, cam) >= n,  # type: ignore[misc]
                    90,
                )
                time.sleep(offset)
            except BaseException:
                proc.kill()
                raise
            kills.append(_kill_9(proc, ctx.data.spool))
        proc = _serve(ctx, log, segment_seconds=4)  # reconciles the last kill
        try:
            wait_for(
                "recording after the last restart",
                lambda: (
                    len(gap_rows(ctx, cam)) == len(kills)
                    and all(g.end_us is not None for g in gap_rows(ctx, cam))
                ),
                90,
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0, log.read_text()[-3000:]
    rows = segment_rows(ctx, cam)
    for killed_at in kills:
        newest_end = max(r.end_us for r in rows if r.start_us / 1e6 < killed_at) / 1e6
        lost = killed_at - newest_end
        assert lost <= MAY_LOSE_S, (killed_at, newest_end, lost)
        (gap,) = [g for g in gap_rows(ctx, cam) if abs(g.start_us / 1e6 - newest_end) < 0.01]
        assert gap.reason == "recorder was not running" and gap.end_us is not None
    salvaged = [r for r in rows if r.salvaged is not None]
    # one per kill, unless a kill fell between a segment's close and its next fragment (its
    # file then held no footage: removed, nothing to salvage)
    assert 1 <= len(salvaged) <= len(kills), [(r.seq, r.salvaged) for r in salvaged]
    for r in salvaged:
        assert "open when recording stopped" in r.salvaged
    assert_archive_agrees(ctx)  # every file whole, its duration the probed one, verify ok
    with ctx.engine.connect() as conn:
        entries = conn.execute(
            sa.select(schema.ledger.c.details).where(schema.ledger.c.action == "segment-salvaged")
        ).all()
        (alarm,) = conn.execute(
            sa.select(schema.alarms).where(
                schema.alarms.c.kind == "footage-cut", schema.alarms.c.cleared_us.is_(None)
            )
        ).all()
    assert sorted(json.loads(e.details)["seq"] for e in entries) == [r.seq for r in salvaged]
    assert alarm.camera_id == cam and f"{len(salvaged)} segment(s) sealed short" in alarm.message
    status = subprocess.run(
        [
            sys.executable,
            "-m",
            "custodes.entrypoints.cli",
            "status",
            "--json",
            "--data",
            str(ctx.data.root),
        ],
        env=dict(os.environ, **{DATABASE_URL_ENV: ctx.data.database_url()}),
        capture_output=True,
        check=True,
    )
    payload = json.loads(status.stdout)
    assert payload["cameras"][0]["salvaged_24h"] == len(salvaged)
    assert any(a["kind"] == "footage-cut" and a["acknowledgeable"] for a in payload["alarms"])
