"""bench/sweep: the sweep deleting 10 % of an archive of 100,000 and of 1,000,000 segments
(synthetic rows with real chain links and signed checkpoints, one small file each): the time
per deleted segment should stay flat when the archive grows 10×. Baseline in the same run:
unlinking the same number of equally small files with nothing else (no index, no ledger).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import insert

from custodes.adapters.archive import archive_relpath
from custodes.adapters.db import schema
from custodes.domain.camera import CameraSpec
from custodes.domain.chain import GENESIS, Cadence, segment_link
from custodes.domain.periods import SiteCalendar, days
from custodes.paths import DATABASE_URL_ENV, DataDir
from custodes.rules.jurisdictions import cn_rest_day
from custodes.services import checkpoints
from custodes.services import sweep as sweep_module
from custodes.services.cameras import add_camera
from custodes.services.context import Context
from custodes.services.setup import initialise
from custodes.services.signing import load_signer
from custodes.services.sweep import sweep

from .report import write_section

SIZES = [int(x) for x in os.environ.get("BENCH_SWEEP_SIZES", "100000,1000000").split(",")]
T0 = 1_700_000_000_000_000
SEG_US = 6_000_000
CADENCE = Cadence()
BODY = b"x" * 64
SITE = SiteCalendar.of("Asia/Shanghai", cn_rest_day)


def main() -> None:
    os.environ.pop(DATABASE_URL_ENV, None)
    rows = []
    for n in SIZES:
        work = Path(tempfile.mkdtemp(prefix="custodes-bench-sweep-"))
        try:
            ctx = initialise(DataDir(work / "data"), "jilin").context
            built = _build(ctx, n)
            expire = n // 10
            # the moment the 10 % oldest have run out their 15-day period, counted as the
            # Civil Code counts (the rest of that site day goes too: a little more than 10 %)
            deadline = SITE.end(T0 + expire * SEG_US, days(15))
            ctx.clock = lambda: deadline  # noqa: B023
            files = _FileTime()
            started = time.perf_counter()
            with files.timing():
                report = sweep(ctx)
            ours = time.perf_counter() - started
            baseline = _baseline(work / "plain", report.segments)
            rows.append((n, built, report.segments, report.batches, ours, files.seconds, baseline))
            ctx.engine.dispose()
        finally:
            shutil.rmtree(work, ignore_errors=True)
    lines = [
        "## Sweep (`bench/sweep.py`)",
        "",
        "One camera, 6-s segments (64-byte files), a signed checkpoint every 100 segments; the "
        "sweep deletes the oldest ~10 % (past the 15-day floor, to the end of its site day) in "
        "checkpoint-interval batches, "
        "each batch in one ledger entry with its digests; SQLite. Baseline: `os.unlink` of as "
        f"many 64-byte files, nothing else. Run {_now()}.",
        "",
        "| archive (segments) | build s | deleted | batches | sweep s | µs per deleted segment "
        "| of which files | of which index + ledger | baseline µs per file | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n, built, deleted, batches, ours, in_files, base in rows:
        per = ours / deleted * 1e6
        per_files = in_files / deleted * 1e6
        per_base = base / deleted * 1e6
        lines.append(
            f"| {n:,} | {built:.0f} | {deleted:,} | {batches:,} | {ours:.1f} | {per:.0f} | "
            f"{per_files:.0f} | {per - per_files:.0f} | {per_base:.0f} | {per / per_base:.1f} |"
        )
    if len(rows) == 2:
        (_, _, d1, _, s1, f1, _), (_, _, d2, _, s2, f2, _) = rows
        growth = (s2 / d2) / (s1 / d1)
        db_growth = ((s2 - f2) / d2) / ((s1 - f1) / d1)
        lines += [
            "",
            f"Time per deleted segment, 10× archive vs 1×: {growth:.2f}× in all, "
            f"{db_growth:.2f}× for the index and ledger work (flat means ≈ 1: the cost follows "
            "what is deleted, not the archive's size). The file part is the filesystem's, and "
            "it grows: the oldest files of a million are likely no longer in the inode cache "
            "(the baseline unlinks files it has just written), and the sweep unlinks between "
            "fsyncs (directories, database commits) where the baseline runs back to back.",
        ]
    write_section("sweep", "\n".join(lines))
    print("\n".join(lines))


class _FileTime:
    """Time spent unlinking files inside the sweep (the rest is index and ledger work)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    @contextlib.contextmanager
    def timing(self) -> Iterator[None]:
        original = sweep_module._unlink

        def timed(root: Path, paths: list[str]) -> None:
            started = time.perf_counter()
            try:
                original(root, paths)
            finally:
                self.seconds += time.perf_counter() - started

        sweep_module._unlink = timed
        try:
            yield
        finally:
            sweep_module._unlink = original


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def _build(ctx: Context, n: int) -> float:
    started = time.perf_counter()
    cam = add_camera(ctx, CameraSpec(name="bench", url="rtsp://10.0.0.1/s", place="p")).id
    signer = load_signer(ctx.data)
    from custodes.services.signing import register

    with ctx.engine.begin() as conn:
        register(conn, ctx.data, signer, T0)
    digest = hashlib.sha256(BODY).hexdigest()
    prev = GENESIS
    batch: list[dict[str, object]] = []
    cps: list[checkpoints.SignedCheckpoint] = []
    made_dirs: set[Path] = set()
    for seq in range(n):
        start = T0 + seq * SEG_US
        rel = archive_relpath(cam, start, "bench", f"{seq:08d}.mp4")
        path = ctx.data.archive / rel
        if path.parent not in made_dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            made_dirs.add(path.parent)
        path.write_bytes(BODY)
        prev = segment_link(prev, cam, seq, start, start + SEG_US, len(BODY), digest)
        batch.append(
            {
                "camera_id": cam,
                "seq": seq,
                "start_us": start,
                "end_us": start + SEG_US,
                "duration_us": SEG_US,
                "drift_us": 0,
                "bytes": len(BODY),
                "video_codec": "h264",
                "width": 1920,
                "height": 1080,
                "audio_codec": None,
                "path": str(rel),
                "sha256": digest,
                "run_id": "bench",
                "sealed_us": start + SEG_US,
                "link": prev.hex(),
            }
        )
        if seq % CADENCE.segments == CADENCE.segments - 1 or seq == n - 1:
            cps.append(checkpoints.sign(signer, cam, seq, prev.hex(), start + SEG_US))
        if len(batch) >= 20_000:
            _flush(ctx, batch, cps)
    _flush(ctx, batch, cps)
    with ctx.engine.begin() as conn:
        conn.execute(
            insert(schema.spans).values(
                camera_id=cam,
                start_us=T0,
                end_us=T0 + n * SEG_US,
                segments=n,
                bytes=n * len(BODY),
            )
        )
    return time.perf_counter() - started


def _flush(
    ctx: Context, batch: list[dict[str, object]], cps: list[checkpoints.SignedCheckpoint]
) -> None:
    with ctx.engine.begin() as conn:
        if batch:
            conn.execute(insert(schema.segments), batch)
        for cp in cps:
            checkpoints.insert_row(conn, cp)
    for cp in cps:
        checkpoints.append_to_file(ctx.data, cp)
    batch.clear()
    cps.clear()


def _baseline(folder: Path, count: int) -> float:
    folder.mkdir()
    for i in range(count):
        (folder / f"{i:08d}").write_bytes(BODY)
    started = time.perf_counter()
    for i in range(count):
        os.unlink(folder / f"{i:08d}")
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
