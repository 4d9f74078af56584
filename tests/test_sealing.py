from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from sqlalchemy import select

from custodes.adapters import archive
from custodes.adapters.db import schema
from custodes.adapters.ffmpeg.stderr import StreamInfo
from custodes.domain.camera import CameraSpec
from custodes.domain.timing import RunClock
from custodes.recorder.events import SegmentClosed
from custodes.recorder.journal import Journal
from custodes.services import cameras as svc
from custodes.services.context import Context
from custodes.services.reconcile import reconcile
from custodes.services.sealing import seal

from .media import ffprobe_duration, make_segments

T0 = 1_795_000_000_000_000


def _camera(ctx: Context) -> int:
    return svc.add_camera(ctx, CameraSpec(name="C", url="rtsp://h/x", place="p")).id


def _rows(ctx: Context) -> list[tuple[int, str, str, int, int]]:
    s = schema.segments
    with ctx.engine.connect() as conn:
        return [
            (r.seq, r.path, r.sha256, r.start_us, r.end_us)
            for r in conn.execute(select(s).order_by(s.c.seq))
        ]


def test_seal_places_hashes_indexes_and_is_idempotent(ctx: Context) -> None:
    cam = _camera(ctx)
    run_dir = ctx.data.camera_spool(cam) / "run1"
    listed = make_segments(run_dir)
    clock = RunClock()
    events = []
    for i, (name, a, b) in enumerate(listed):
        timing = clock.place(a, b, T0 + (i + 1) * 2_000_000)
        events.append(
            SegmentClosed(cam, "run1", run_dir / name, timing, StreamInfo("h264", 320, 240))
        )
    digests = [hashlib.sha256((run_dir / n).read_bytes()).hexdigest() for n, _, _ in listed]
    for ev in events:
        seal(ctx.engine, ctx.data, ev)
    rows = _rows(ctx)
    assert [r[0] for r in rows] == [0, 1, 2]
    assert [r[2] for r in rows] == digests
    for (_, path, sha, start, end), ev in zip(rows, events, strict=True):
        f = ctx.data.archive / path
        assert f.is_file() and not ev.spool_file.exists()
        assert stat.S_IMODE(f.stat().st_mode) & 0o222 == 0
        assert hashlib.sha256(f.read_bytes()).hexdigest() == sha
        assert path.startswith(f"cam{cam:05d}/")
        assert abs((end - start) / 1e6 - ffprobe_duration(f)) < 0.1
    # contiguous: each segment starts where the previous ended
    assert all(rows[i + 1][3] - rows[i][4] == 0 for i in range(2))


def test_reseal_after_crash_between_link_and_commit(ctx: Context) -> None:
    cam = _camera(ctx)
    run_dir = ctx.data.camera_spool(cam) / "run1"
    (name, a, b), *_ = make_segments(run_dir, count=1)
    ev = SegmentClosed(cam, "run1", run_dir / name, RunClock().place(a, b, T0), StreamInfo())
    rel = archive.archive_relpath(cam, ev.timing.start_us, "run1", name)
    archive.place(ev.spool_file, ctx.data.archive / rel)  # crash here: linked, not indexed
    seal(ctx.engine, ctx.data, ev)
    assert [r[1] for r in _rows(ctx)] == [str(rel)]
    assert not ev.spool_file.exists()


def test_reconcile_seals_journaled_salvages_open_and_quarantines_broken(ctx: Context) -> None:
    cam = _camera(ctx)
    run_dir = ctx.data.camera_spool(cam) / "20261129T000000abcd"
    listed = make_segments(run_dir, count=3)
    journal = Journal(run_dir)
    for i, (name, a, b) in enumerate(listed[:2]):  # the third was open at the crash
        journal.append(name, a, b, T0 + (i + 1) * 2_000_000)
    journal.close()
    broken = run_dir / "00000003.mp4"
    broken.write_bytes(os.urandom(5000))
    report = reconcile(ctx.engine, ctx.data)
    assert report.sealed == 3
    assert report.quarantined == [str(broken)]
    rows = _rows(ctx)
    assert len(rows) == 3
    assert rows[2][3] == rows[1][4]  # the salvaged open segment follows the last journaled one
    assert not run_dir.exists()
    with ctx.engine.connect() as conn:
        (q,) = conn.execute(select(schema.quarantine)).all()
    assert Path(q.path).stat().st_size == 5000 and q.bytes == 5000
    assert "incomplete" in q.reason
    # running it again finds nothing to do
    again = reconcile(ctx.engine, ctx.data)
    assert again.sealed == 0 and again.quarantined == []
