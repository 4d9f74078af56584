from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from custodes.adapters import archive
from custodes.adapters.db import schema
from custodes.adapters.ffmpeg import segment_file
from custodes.adapters.ffmpeg.stderr import StreamInfo
from custodes.adapters.journal import Journal
from custodes.domain.camera import CameraSpec
from custodes.domain.timing import RunClock, SegmentTiming
from custodes.services import cameras as svc
from custodes.services import index, salvage
from custodes.services.context import Context
from custodes.services.reconcile import reconcile
from custodes.services.sealing import Sealer, SegmentClosed
from custodes.services.verify import verify

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


def _cut_mid_fragment(path: Path) -> int:
    """Cut a whole segment inside its last fragment, as a write refused by a full disk
    leaves it; returns the bytes left."""
    scan = segment_file.scan(path)
    assert scan.complete and scan.fragments >= 2
    size = path.stat().st_size
    keep = size - 3000  # inside the last mdat (or the mfra after it, and into the mdat)
    with path.open("r+b") as f:
        f.truncate(keep)
    assert not segment_file.scan(path).complete
    return keep


def test_a_segment_written_short_is_sealed_short_and_says_so(ctx: Context) -> None:
    """ffmpeg reported the segment closed, but its last fragment is not whole (its writes
    failed): the whole fragments are sealed with their true duration, the cut bytes kept in
    quarantine, and a note, a ledger entry and the footage-cut alarm say what happened."""
    cam = _camera(ctx)
    run_dir = ctx.data.camera_spool(cam) / "run1"
    (name, a, b), *_ = make_segments(run_dir, count=1, seconds=4)
    spool = run_dir / name
    before = spool.stat().st_size
    _cut_mid_fragment(spool)
    timing = RunClock().place(a, b, T0)
    seq = Sealer(ctx.engine, ctx.data).seal(SegmentClosed(cam, "run1", spool, timing, StreamInfo()))
    s, q = schema.segments, schema.quarantine
    with ctx.engine.connect() as conn:
        row = conn.execute(select(s).where(s.c.seq == seq)).one()
        (tail,) = conn.execute(select(q)).all()
        (entry,) = conn.execute(
            select(schema.ledger).where(schema.ledger.c.action == "segment-salvaged")
        ).all()
        (alarm,) = conn.execute(select(schema.alarms)).all()
    f = ctx.data.archive / row.path
    assert segment_file.scan(f).complete
    assert row.duration_us < timing.duration_us  # not the 4 s ffmpeg claimed
    assert abs(ffprobe_duration(f) - row.duration_us / 1e6) < 0.05
    assert row.end_us == row.start_us + row.duration_us
    assert row.salvaged is not None and "written short" in row.salvaged
    assert tail.segment_path == row.path and Path(tail.path).stat().st_size == tail.bytes
    assert row.bytes + tail.bytes == before - 3000  # nothing dropped: sealed + kept aside
    assert json.loads(entry.details)["seq"] == seq and alarm.kind == "footage-cut"


def test_a_salvage_interrupted_after_the_cut_is_still_said(ctx: Context) -> None:
    """A crash after the file was cut (its tail already in quarantine) but before it was
    sealed: the redo finds it whole, and still seals it as salvaged, measured again."""
    cam = _camera(ctx)
    run_dir = ctx.data.camera_spool(cam) / "run1"
    (name, a, b), *_ = make_segments(run_dir, count=1, seconds=4)
    spool = run_dir / name
    _cut_mid_fragment(spool)
    salvage.salvage(ctx.data, spool, segment_file.scan(spool), salvage.CLOSED, 4_000_000)
    assert segment_file.scan(spool).complete  # cut, then the "crash"
    timing = RunClock().place(a, b, T0)
    Sealer(ctx.engine, ctx.data).seal(SegmentClosed(cam, "run1", spool, timing, StreamInfo()))
    with ctx.engine.connect() as conn:
        row = conn.execute(select(schema.segments)).one()
    assert row.salvaged is not None and row.duration_us < timing.duration_us


def test_files_without_footage_are_removed_and_unreadable_ones_kept(ctx: Context) -> None:
    """What a run that failed to start leaves (nothing, or only an MP4 header) holds no
    footage and goes; anything else that cannot be sealed goes to quarantine, whole."""
    cam = _camera(ctx)
    run_dir = ctx.data.camera_spool(cam) / "20261129T000000beef"
    (name, _, _), *_ = make_segments(run_dir, count=1)
    whole = (run_dir / name).read_bytes()
    header = whole[: _header_end(whole)]
    (run_dir / name).unlink()
    (run_dir / "00000000.mp4").write_bytes(b"")
    (run_dir / "00000001.mp4").write_bytes(header)
    (run_dir / "00000002.mp4").write_bytes(header + b"\x00\x00\x10\x00moof" + b"x" * 100)
    report = reconcile(ctx.engine, ctx.data)
    assert (report.sealed, report.removed) == (0, 2)
    assert report.quarantined == [str(run_dir / "00000002.mp4")]
    with ctx.engine.connect() as conn:
        assert conn.execute(select(schema.segments)).all() == []
        (q,) = conn.execute(select(schema.quarantine)).all()
    assert q.bytes == len(header) + 108 and "no playable fragment" in q.reason


def _header_end(mp4: bytes) -> int:
    """The end of the ftyp and moov boxes."""
    pos = 0
    while pos < len(mp4):
        size = int.from_bytes(mp4[pos : pos + 4], "big")
        if mp4[pos + 4 : pos + 8] not in (b"ftyp", b"moov"):
            return pos
        pos += size
    return pos


def test_a_hole_inside_one_run_is_a_gap_with_its_reason(ctx: Context) -> None:
    """A source slower than real time (or one that stalled and caught up without dropping
    the connection) leaves wall time without video between two segments of one run: the
    timeline shows a hole, and a gap row says why, at once; a new run has gaps of its own."""
    cam = _camera(ctx)
    run_dir = ctx.data.camera_spool(cam) / "run1"
    listed = make_segments(run_dir, count=3)
    sealer = Sealer(ctx.engine, ctx.data)
    t = T0
    for name, a, b in listed:
        duration = round((b - a) * 1e6)
        timing = SegmentTiming(t, t + duration, duration, 0)
        sealer.seal(SegmentClosed(cam, "run1", run_dir / name, timing, StreamInfo()))
        t += duration + 2_500_000  # 2 s of video delivered over 4.5 s
    with ctx.engine.connect() as conn:
        gaps = conn.execute(select(schema.gaps).order_by(schema.gaps.c.start_us)).all()
    assert len(gaps) == 2
    assert all(g.end_us - g.start_us == 2_500_000 for g in gaps)
    assert "no video for 2.5 s inside the stream" in gaps[0].reason


def test_a_segment_cut_at_a_fragment_boundary_is_measured_not_trusted(ctx: Context) -> None:
    """A full disk refusing a write whole leaves whole boxes that end early, without the
    closing mfra: ffmpeg still reports the segment's full duration. It is measured, and
    sealed with what is there and a note; a segment that merely lacks the mfra but holds all
    ffmpeg reported is sealed as it is."""
    cam = _camera(ctx)
    run_dir = ctx.data.camera_spool(cam) / "run1"
    (name, a, b), (name2, a2, b2) = make_segments(run_dir, count=2, seconds=4)
    for n, cut_fragments in ((name, 2), (name2, 0)):
        data = (run_dir / n).read_bytes()
        ends: list[tuple[bytes, int]] = []
        pos = 0
        while pos < len(data):
            size = int.from_bytes(data[pos : pos + 4], "big")
            ends.append((data[pos + 4 : pos + 8], pos + size))
            pos += size
        assert ends[-1][0] == b"mfra"
        keep = [e for k, e in ends if k == b"mdat"][-1 - cut_fragments]
        (run_dir / n).write_bytes(data[:keep])
        scan = segment_file.scan(run_dir / n)
        assert scan.complete and not scan.closed
    clock = RunClock()
    sealer = Sealer(ctx.engine, ctx.data)
    short = sealer.seal(
        SegmentClosed(cam, "run1", run_dir / name, clock.place(a, b, T0), StreamInfo())
    )
    whole = sealer.seal(
        SegmentClosed(
            cam, "run1", run_dir / name2, clock.place(a2, b2, T0 + 4_000_000), StreamInfo()
        )
    )
    s = schema.segments
    with ctx.engine.connect() as conn:
        rows = {r.seq: r for r in conn.execute(select(s))}
    assert rows[short].salvaged is not None and "written short" in rows[short].salvaged
    assert rows[short].duration_us < 3_500_000
    assert (
        abs(ffprobe_duration(ctx.data.archive / rows[short].path) - rows[short].duration_us / 1e6)
        < 0.05
    )
    assert rows[whole].salvaged is None and abs(rows[whole].duration_us - 4_000_000) < 100_000


def test_a_file_open_in_a_runs_first_segment_is_placed_by_its_last_write(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed inside a run's first segment (no journal line before it): the file ends at its
    last write, read before the cut touches it. A second crash between its archive link and
    its row changes nothing: the placement went into the journal, the redo seals it at the
    same start and path, and nothing is left unindexed."""
    cam = _camera(ctx)
    run_dir = ctx.data.camera_spool(cam) / "20261129T000000cafe"
    (name, _, _), *_ = make_segments(run_dir, count=1, seconds=4)
    path = run_dir / name
    _cut_mid_fragment(path)
    last_write = T0 - 3_600_000_000
    os.utime(path, ns=(last_write * 1000, last_write * 1000))
    real_index = Sealer._index
    calls = {"n": 0}

    def crash_once(self: Sealer, *args: Any, **kw: Any) -> list[int]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("killed between the archive link and the row")
        return real_index(self, *args, **kw)

    monkeypatch.setattr(Sealer, "_index", crash_once)
    first = reconcile(ctx.engine, ctx.data)
    assert first.failed == [str(path)] and first.sealed == 0
    again = reconcile(ctx.engine, ctx.data)
    assert again.sealed == 1 and again.salvaged == 1
    with ctx.engine.connect() as conn:
        (row,) = conn.execute(select(schema.segments)).all()
    assert row.start_us == last_write - row.duration_us
    assert row.salvaged is not None and "open when recording stopped" in row.salvaged
    on_disk = [p for p in ctx.data.archive.rglob("*.mp4")]
    assert [str(p.relative_to(ctx.data.archive)) for p in on_disk] == [row.path]


def test_a_group_is_sealed_in_one_go_and_a_redo_in_it_falls_back(ctx: Context) -> None:
    """Two cameras' segments sealed together (one sync, one transaction) give the same rows,
    chains and spans as one by one; a group holding a seal redone after a crash is refused
    whole, and sealing its events one by one settles it."""
    cams = [
        svc.add_camera(ctx, CameraSpec(name=n, url="rtsp://h/x", place="p")).id for n in ("A", "B")
    ]
    events = []
    for cam in cams:
        run_dir = ctx.data.camera_spool(cam) / "run1"
        clock = RunClock()
        for i, (name, a, b) in enumerate(make_segments(run_dir, count=3)):
            timing = clock.place(a, b, T0 + (i + 1) * 2_000_000)
            events.append(SegmentClosed(cam, "run1", run_dir / name, timing, StreamInfo()))
    sealer = Sealer(ctx.engine, ctx.data)
    first = sealer.seal_many([(e, "recording") for e in events[:4]])
    assert [seq for _, seq in first] == [0, 1, 2, 0]
    redo = events[3]  # cam B's first again: placed and indexed already
    again = SegmentClosed(redo.camera_id, redo.run_id, redo.spool_file, redo.timing, redo.info)
    rel = archive.archive_relpath(
        redo.camera_id, redo.timing.start_us, "run1", redo.spool_file.name
    )
    os.link(ctx.data.archive / rel, redo.spool_file)  # a crash before the spool name went
    with pytest.raises(IntegrityError):
        sealer.seal_many([(again, None), (events[4], None), (events[5], None)])
    assert [Sealer(ctx.engine, ctx.data).seal(e) for e in (again, events[4], events[5])] == [
        0,
        1,
        2,
    ]
    s = schema.segments
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(s.c.camera_id, s.c.seq).order_by(s.c.camera_id, s.c.seq)).all()
        spans = conn.execute(
            select(schema.spans.c.camera_id, schema.spans.c.segments).order_by(
                schema.spans.c.camera_id
            )
        ).all()
    assert [tuple(r) for r in rows] == [(c, q) for c in cams for q in range(3)]
    assert [tuple(sp) for sp in spans] == [(cams[0], 3), (cams[1], 3)]
    assert not verify(ctx).failed
