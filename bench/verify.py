"""bench/verify: `custodes verify` re-hashing ≥ 2 GB of sealed segments, beside
`openssl dgst -sha256` over the same files in the same run.

The segments are sealed through the real Sealer (index rows, chain links, checkpoints), with
random bytes for content (hashing does not care what the bytes are). Both sides read from the
page cache: each is run twice after a warm-up read and the faster run counts. Targets (issue
4): ≥ 0.9× openssl per core, ≥ 1.6× openssl's one core with both cores.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from custodes.adapters.ffmpeg.stderr import StreamInfo
from custodes.domain.camera import CameraSpec
from custodes.domain.timing import SegmentTiming
from custodes.paths import DATABASE_URL_ENV, DataDir
from custodes.services.cameras import add_camera
from custodes.services.context import Context
from custodes.services.sealing import Sealer, SegmentClosed
from custodes.services.setup import initialise
from custodes.services.verify import verify

from .report import write_section

TOTAL_BYTES = int(float(os.environ.get("BENCH_VERIFY_GB", "2.1")) * 1e9)
SEGMENT_BYTES = 3 * 1024 * 1024  # a 6-s segment of a 4 Mbit/s camera
T0 = 1_795_000_000_000_000
SEG_US = 6_000_000


def main() -> None:
    os.environ.pop(DATABASE_URL_ENV, None)
    work = Path(tempfile.mkdtemp(prefix="custodes-bench-verify-"))
    try:
        ctx = initialise(DataDir(work / "data"), "jilin").context
        cam = add_camera(ctx, CameraSpec(name="bench", url="rtsp://10.0.0.1/s", place="p")).id
        spool = ctx.data.camera_spool(cam) / "run"
        spool.mkdir(parents=True)
        sealer = Sealer(ctx.engine, ctx.data)
        count = TOTAL_BYTES // SEGMENT_BYTES
        block = os.urandom(SEGMENT_BYTES)
        for i in range(count):
            path = spool / f"{i:08d}.mp4"
            # distinct files: a different first 8 bytes each
            path.write_bytes(i.to_bytes(8, "big") + block[8:])
            start = T0 + i * SEG_US
            timing = SegmentTiming(start, start + SEG_US, SEG_US, 0)
            sealer.seal(SegmentClosed(cam, "run", path, timing, StreamInfo()))
        sealer.checkpoint_now(cam)
        files = sorted(str(p) for p in ctx.data.archive.rglob("*.mp4"))
        size = sum(os.path.getsize(f) for f in files)
        _openssl(files)  # warm the page cache

        openssl_1 = min(_openssl(files) for _ in range(2))
        openssl_2 = min(_openssl_parallel(files, 2) for _ in range(2))
        ours_1 = min(_ours(ctx, 1) for _ in range(2))
        ours_2 = min(_ours(ctx, 2) for _ in range(2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    gb = size / 1e9

    def rate(seconds: float) -> str:
        return f"{gb / seconds:.2f}"

    lines = [
        "## Verification speed (`bench/verify.py`)",
        "",
        f"{len(files)} sealed segments of 3 MiB, {gb:.2f} GB, page cache warm; "
        f"{os.cpu_count()} cores; run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "| what | seconds | GB/s | ratio to openssl, one core | target |",
        "|---|---|---|---|---|",
        f"| `openssl dgst -sha256`, one process | {openssl_1:.2f} | {rate(openssl_1)} | 1.00 | |",
        f"| `openssl dgst -sha256`, two processes | {openssl_2:.2f} | {rate(openssl_2)} | "
        f"{openssl_1 / openssl_2:.2f} | |",
        f"| `custodes verify`, 1 worker | {ours_1:.2f} | {rate(ours_1)} | "
        f"{openssl_1 / ours_1:.2f} | ≥ 0.9 |",
        f"| `custodes verify`, 2 workers | {ours_2:.2f} | {rate(ours_2)} | "
        f"{openssl_1 / ours_2:.2f} | ≥ 1.6 |",
        "",
        "`custodes verify` also walks the chain, checks the signed checkpoints against the "
        "database and the checkpoint file, and lists the archive for unindexed files; openssl "
        "only hashes.",
    ]
    write_section("verify", "\n".join(lines))
    print("\n".join(lines))


def _openssl(files: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(["openssl", "dgst", "-sha256", *files], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _openssl_parallel(files: list[str], jobs: int) -> float:
    started = time.perf_counter()
    procs = [
        subprocess.Popen(["openssl", "dgst", "-sha256", *files[i::jobs]], stdout=subprocess.DEVNULL)
        for i in range(jobs)
    ]
    for p in procs:
        p.wait()
    return time.perf_counter() - started


def _ours(ctx: Context, workers: int) -> float:
    started = time.perf_counter()
    report = verify(ctx, workers=workers)
    elapsed = time.perf_counter() - started
    assert not report.failed, report.to_json()
    return elapsed


if __name__ == "__main__":
    main()
