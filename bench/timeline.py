"""bench/timeline: /recordings over 30 days × 16 cameras, and /media time to first byte.

The index is synthetic (rows only, 6 s segments, one 10-minute outage a day) except the last
minute of camera 1, which is real footage, so /media has files to read. Baselines measured in
the same run: the same timeline merged from the segments table (what the spans table saves),
and bare ffmpeg's time to first byte on the same concat list.
"""

from __future__ import annotations

import itertools
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from argon2 import PasswordHasher
from sqlalchemy import insert, select, text, update

from custodes.adapters.db import schema
from custodes.adapters.ffmpeg.clip import Piece, clip_command, write_concat_list
from custodes.adapters.ffmpeg.stderr import StreamInfo
from custodes.clock import iso, now_us
from custodes.domain.camera import CameraSpec
from custodes.domain.timing import RunClock
from custodes.domain.transport import LOOPBACK_PLAIN
from custodes.entrypoints.web.server import WebServer
from custodes.paths import DATABASE_URL_ENV, DataDir
from custodes.services.cameras import add_camera
from custodes.services.context import Context
from custodes.services.sealing import Sealer, SegmentClosed
from custodes.services.setup import initialise

from . import export as export_bench
from .report import write_section

SEG_US = 6_000_000
DAY_US = 86_400_000_000
OUTAGE_US = 600_000_000


def _populate(ctx: Context, cameras: int, days: int, end_us: int) -> int:
    start = end_us - days * DAY_US
    rows = 0
    for c in range(cameras):
        cam = add_camera(ctx, CameraSpec(name=f"bench{c}", url="rtsp://h/x", place="b")).id
        batch, spans, seq, t = [], [], 0, start
        span_start = t
        while t + SEG_US <= end_us - 120_000_000:
            if (t - start) % DAY_US < SEG_US and t > start:  # one outage a day
                spans.append((span_start, t))
                t += OUTAGE_US
                span_start = t
            batch.append(
                {
                    "camera_id": cam,
                    "seq": seq,
                    "start_us": t,
                    "end_us": t + SEG_US,
                    "duration_us": SEG_US,
                    "drift_us": 0,
                    "bytes": 3_000_000,
                    "video_codec": "h264",
                    "width": 1920,
                    "height": 1080,
                    "audio_codec": None,
                    "path": f"synthetic/{cam}/{seq}.mp4",
                    "sha256": "0" * 64,
                    "link": "0" * 64,  # synthetic: no chain (the bench reads timelines only)
                    "run_id": "synthetic",
                    "sealed_us": t + SEG_US,
                }
            )
            seq += 1
            t += SEG_US
            if len(batch) >= 20_000:
                _flush(ctx, batch)
                rows += len(batch)
                batch = []
        spans.append((span_start, t))
        _flush(ctx, batch)
        rows += len(batch)
        with ctx.engine.begin() as conn:
            conn.execute(
                insert(schema.spans),
                [
                    {
                        "camera_id": cam,
                        "start_us": a,
                        "end_us": b,
                        "segments": (b - a) // SEG_US,
                        "bytes": (b - a) // SEG_US * 3_000_000,
                    }
                    for a, b in spans
                ],
            )
            gaps = [
                {"camera_id": cam, "start_us": b, "end_us": a2, "reason": "synthetic"}
                for (_, b), (a2, _) in itertools.pairwise(spans)
            ]
            if gaps:  # one day has one span: an empty list would insert a row of defaults
                conn.execute(insert(schema.gaps), gaps)
    return rows


def _flush(ctx: Context, batch: list[dict[str, object]]) -> None:
    if batch:
        with ctx.engine.begin() as conn:
            conn.execute(insert(schema.segments), batch)


def _real_tail(ctx: Context, work: Path, camera_id: int, end_us: int) -> None:
    """60 s of real footage for camera `camera_id` ending 60 s before `end_us`."""
    run_dir = ctx.data.camera_spool(camera_id) / "real"
    run_dir.mkdir(parents=True)
    listing = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=25:duration=60",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "50",
            "-bf",
            "0",
            "-b:v",
            "4M",
            "-f",
            "segment",
            "-segment_time",
            "6",
            "-segment_format",
            "mp4",
            "-segment_format_options",
            "movflags=+frag_keyframe+empty_moov+default_base_moof",
            "-reset_timestamps",
            "1",
            "-segment_list",
            "pipe:1",
            "-segment_list_type",
            "csv",
            str(run_dir / "%08d.mp4"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    clock = RunClock()
    base = end_us - 120_000_000
    for line in listing:
        name, a, b = line.split(",")
        timing = clock.place(float(a), float(b), base + int(float(b) * 1e6))
        Sealer(ctx.engine, ctx.data).seal(
            SegmentClosed(camera_id, "real", run_dir / name, timing, StreamInfo("h264")),
        )


def _naive_timeline(ctx: Context, camera_id: int, a: int, b: int) -> int:
    """Baseline: merge the window's segments into spans in Python."""
    s = schema.segments
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(s.c.start_us, s.c.end_us)
            .where(s.c.camera_id == camera_id, s.c.end_us > a, s.c.start_us < b)
            .order_by(s.c.start_us)
        ).all()
    spans = 0
    last_end = None
    for start, end in rows:
        if last_end is None or start - last_end > 1_000_000:
            spans += 1
        last_end = end
    return spans


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    days = int(os.environ.get("BENCH_DAYS", "30"))
    cameras = int(os.environ.get("BENCH_TIMELINE_CAMERAS", "16"))
    work = Path(tempfile.mkdtemp(prefix="custodes-bench-timeline-"))
    os.environ.pop(DATABASE_URL_ENV, None)
    try:
        data = DataDir(work / "data")
        ctx = initialise(data, "jilin").context
        with ctx.engine.begin() as conn:
            conn.execute(
                update(schema.accounts).values(
                    password_hash=PasswordHasher().hash("bench"), password_one_time=False
                )
            )
        end = now_us() // 1_000_000 * 1_000_000  # whole seconds: iso() writes milliseconds
        t0 = time.perf_counter()
        rows = _populate(ctx, cameras, days, end)
        _real_tail(ctx, work, 1, end)
        with ctx.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
        print(f"index: {rows:,} synthetic rows in {time.perf_counter() - t0:.0f} s", flush=True)
        m_start, m_end = end - 100_000_000, end - 80_000_000
        # recorded footage is played only under a grant: an officer holds one for the range
        _, officer, _ = export_bench._grant(ctx, 1, m_start, m_end)
        with ctx.engine.begin() as conn:
            conn.execute(
                update(schema.accounts)
                .where(schema.accounts.c.username == officer)
                .values(password_hash=PasswordHasher().hash("bench"), password_one_time=False)
            )
        port = 18999
        web = WebServer(ctx, "127.0.0.1", port, LOOPBACK_PLAIN)
        web.start()
        time.sleep(1.5)
        a, b = end - days * DAY_US, end
        ours, naive, ttfb, ffmpeg_ttfb = [], [], [], []
        api = f"http://127.0.0.1:{port}/api/v1"
        with (
            httpx.Client(base_url=api, timeout=30) as client,
            httpx.Client(base_url=api, timeout=30) as viewer,
        ):
            for c, user in ((client, "admin"), (viewer, officer)):
                res = c.post("/auth/login", json={"username": user, "password": "bench"})
                assert res.status_code == 200, res.text
            for i in range(200):
                cam = 1 + i % cameras
                t = time.perf_counter()
                res = client.get(
                    f"/cameras/{cam}/recordings", params={"from": iso(a), "to": iso(b)}
                )
                ours.append((time.perf_counter() - t) * 1000)
                assert res.status_code == 200 and len(res.json()["spans"]) >= days
                if i < 20:  # the baseline reads ~430,000 rows a time: fewer samples
                    t = time.perf_counter()
                    _naive_timeline(ctx, cam, a, b)
                    naive.append((time.perf_counter() - t) * 1000)
            refs = [Piece(p, s, e) for p, s, e in _pieces(ctx, 1, m_start, m_end)]
            for _ in range(30):
                t = time.perf_counter()
                with viewer.stream(
                    "GET", "/cameras/1/media", params={"start": iso(m_start), "end": iso(m_end)}
                ) as res:
                    assert res.status_code == 200, res.read()
                    next(res.iter_raw())
                    ttfb.append((time.perf_counter() - t) * 1000)
                list_file = write_concat_list(refs, m_start, m_end)
                t = time.perf_counter()
                proc = subprocess.Popen(
                    clip_command(list_file), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
                )
                assert proc.stdout is not None
                proc.stdout.read(1)
                ffmpeg_ttfb.append((time.perf_counter() - t) * 1000)
                proc.kill()
                proc.wait()
                list_file.unlink()
        web.stop()
        ctx.engine.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = [
        "## Timeline and media (`bench/timeline.py`)",
        "",
        f"SQLite; {cameras} cameras × {days} days of 6 s segments ({rows:,} index rows, one "
        f"10-minute outage a day); {len(ours)} timeline requests over HTTP (uvicorn, loopback) "
        f"for the whole {days}-day window; {len(ttfb)} media requests of 20 s; run "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "| measure | Custodes | baseline | ratio |",
        "|---|---|---|---|",
        f"| `/recordings` {days} days, p50 / p99 ms (target p99 < 50) | {_p(ours, 50):.1f} / "
        f"{_p(ours, 99):.1f} | merge from segments, no HTTP ({len(naive)} runs): "
        f"{_p(naive, 50):.1f} / {max(naive):.1f} (max) | {_p(ours, 99) / max(naive):.3f} |",
        f"| `/media` time to first byte, p50 / p99 ms (target < 200) | {_p(ttfb, 50):.1f} / "
        f"{_p(ttfb, 99):.1f} | bare ffmpeg on the same concat list: {_p(ffmpeg_ttfb, 50):.1f} / "
        f"{_p(ffmpeg_ttfb, 99):.1f} | {_p(ttfb, 50) / _p(ffmpeg_ttfb, 50):.2f} |",
    ]
    write_section("timeline", "\n".join(lines))
    print("\n".join(lines))


def _pieces(ctx: Context, camera_id: int, a: int, b: int) -> list[tuple[Path, int, int]]:
    from custodes.services.recordings import segments_between

    return [
        (ctx.data.archive / r.path, r.start_us, r.end_us)
        for r in segments_between(ctx, camera_id, a, b)
    ]


if __name__ == "__main__":
    main()
