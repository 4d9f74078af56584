from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from sqlalchemy import select

from custodes.adapters import archive
from custodes.adapters.db import schema
from custodes.adapters.ffmpeg.stderr import StreamInfo
from custodes.adapters.journal import Journal
from custodes.domain.camera import CameraSpec
from custodes.domain.timing import RunClock, SegmentTiming
from custodes.services import cameras as svc
from custodes.services import index
from custodes.services.context import Context
from custodes.services.reconcile import reconcile
from custodes.services.sealing import Sealer, SegmentClosed

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
        Sealer(ctx.engine, ctx.data).seal(ev)
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
    Sealer(ctx.engine, ctx.data).seal(ev)
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
    assert "no playable fragment" in q.reason
    # running it again finds nothing to do
    again = reconcile(ctx.engine, ctx.data)
    assert again.sealed == 0 and again.quarantined == []


def test_one_sealer_keeps_spans_and_gaps_in_step_with_the_index(ctx: Context) -> None:
    cam = _camera(ctx)
    run_dir = ctx.data.camera_spool(cam) / "run1"
    listed = make_segments(run_dir, count=4)
    sealer = Sealer(ctx.engine, ctx.data)
    clock = RunClock()
    timings = [clock.place(a, b, T0 + (i + 1) * 2_000_000) for i, (_, a, b) in enumerate(listed)]
    for (name, _, _), timing in zip(listed[:2], timings[:2], strict=True):
        sealer.seal(SegmentClosed(cam, "run1", run_dir / name, timing, StreamInfo()))
    with ctx.engine.begin() as conn:
        index.open_gap(conn, cam, timings[1].end_us, "camera lost")
    sealer.gap_opened(cam)
    later = [
        SegmentTiming(t.start_us + 60_000_000, t.end_us + 60_000_000, t.duration_us, 0)
        for t in timings[2:]
    ]
    for (name, _, _), timing in zip(listed[2:], later, strict=True):
        sealer.seal(SegmentClosed(cam, "run1", run_dir / name, timing, StreamInfo()))
    assert [r[0] for r in _rows(ctx)] == [0, 1, 2, 3]
    with ctx.engine.connect() as conn:
        spans = conn.execute(
            select(
                schema.spans.c.start_us, schema.spans.c.end_us, schema.spans.c.segments
            ).order_by(schema.spans.c.start_us)
        ).all()
        (gap,) = conn.execute(select(schema.gaps)).all()
    assert [tuple(s) for s in spans] == [
        (timings[0].start_us, timings[1].end_us, 2),
        (later[0].start_us, later[1].end_us, 2),
    ]
    assert (gap.start_us, gap.end_us) == (timings[1].end_us, later[0].start_us)
    # a fresh sealer (a restart) picks the tail up from the database
    assert (
        Sealer(ctx.engine, ctx.data).seal(
            SegmentClosed(cam, "run1", _extra_segment(ctx, cam), later[1], StreamInfo())
        )
        == 4
    )


def _extra_segment(ctx: Context, cam: int) -> Path:
    run_dir = ctx.data.camera_spool(cam) / "run2"
    (name, _, _), *_ = make_segments(run_dir, count=1)
    return run_dir / name
