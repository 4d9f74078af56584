"""bench/recording: CPU of Custodes recording N simulated 1080p streams vs bare ffmpeg.

For N in 16, 32, 64 (BENCH_CAMERAS), for BENCH_SECONDS (default 60) each:
  baseline  N × `ffmpeg -rtsp_transport tcp -i URL -c copy -f segment` (same segment options)
  custodes  `custodes serve` recording the same N streams (supervisor + ffmpeg + sealer)
CPU seconds come from getrusage(RUSAGE_CHILDREN) around each phase (the service waits for its
ffmpeg children, so their CPU is included); RSS is sampled from /proc once per second.
The simulator's own CPU is reported separately. Run: `make bench`.
"""

from __future__ import annotations

import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from custodes.adapters.ffmpeg.command import MOVFLAGS
from custodes.adapters.simulator.process import Simulator, prepare_cameras
from custodes.domain.camera import CameraSpec
from custodes.paths import DATABASE_URL_ENV, DataDir
from custodes.services.cameras import add_camera
from custodes.services.setup import initialise

from .report import write_section

TICK = os.sysconf("SC_CLK_TCK")
COLUMNS = (
    "streams",
    "bare ffmpeg CPU-s",
    "Custodes CPU-s",
    "ratio (target ≤ 1.10)",
    "Custodes CPU % per stream",
    "Custodes RSS MB per stream",
    "bare ffmpeg RSS MB per stream",
    "segments (bare / ours)",
    "simulator CPU % (during bare / ours)",
)


@dataclass(frozen=True)
class Phase:
    cpu_s: float
    peak_rss_mb: float
    segments: int


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _tree_rss_mb(root: int) -> float:
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(entry.name) != root and int(stat[1]) != root:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1024


def _sample(procs: list[subprocess.Popen[bytes]], seconds: float) -> float:
    peak = 0.0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(1)
        peak = max(peak, sum(_tree_rss_mb(p.pid) for p in procs))
    return peak


def baseline(urls: list[str], out: Path, seconds: float) -> Phase:
    before = _children_cpu()
    procs = []
    for i, url in enumerate(urls):
        d = out / f"b{i}"
        d.mkdir(parents=True)
        procs.append(
            subprocess.Popen(
                [
                    "ffmpeg",
                    "-nostdin",
                    "-hide_banner",
                    "-nostats",
                    "-loglevel",
                    "error",
                    "-rtsp_transport",
                    "tcp",
                    "-i",
                    url,
                    "-map",
                    "0:v:0",
                    "-map",
                    "0:a?",
                    "-c",
                    "copy",
                    "-f",
                    "segment",
                    "-segment_time",
                    "6",
                    "-segment_format",
                    "mp4",
                    "-segment_format_options",
                    f"movflags={MOVFLAGS}",
                    "-reset_timestamps",
                    "1",
                    str(d / "%08d.mp4"),
                ],
                stdin=subprocess.DEVNULL,
            )
        )
    peak = _sample(procs, seconds)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait()
    segments = sum(1 for _ in out.rglob("*.mp4"))
    return Phase(_children_cpu() - before, peak, segments)


def custodes(urls: list[str], root: Path, seconds: float) -> Phase:
    data = DataDir(root / "data")
    env = {k: v for k, v in os.environ.items() if k != DATABASE_URL_ENV}
    os.environ.pop(DATABASE_URL_ENV, None)
    ctx = initialise(data).context
    for i, url in enumerate(urls):
        add_camera(ctx, CameraSpec(name=f"bench{i}", url=url, place="bench"))
    ctx.engine.dispose()
    before = _children_cpu()
    proc = subprocess.Popen(
        [sys.executable, "-m", "custodes.entrypoints.cli", "serve", "--data", str(data.root)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(root / "serve.log").open("wb"),
    )
    peak = _sample([proc], seconds)
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    segments = sum(1 for _ in data.archive.rglob("*.mp4"))
    return Phase(_children_cpu() - before, peak, segments)


def main() -> None:
    seconds = float(os.environ.get("BENCH_SECONDS", "60"))
    counts = [int(n) for n in os.environ.get("BENCH_CAMERAS", "16,32,64").split(",")]
    work = Path(tempfile.mkdtemp(prefix="custodes-bench-", dir=os.environ.get("BENCH_DIR")))
    rows = []
    try:
        mounts = prepare_cameras(work / "sim", max(counts))
        for n in counts:
            port = 18554 + n
            with Simulator(mounts[:n], port, log_path=work / f"sim-{n}.log") as sim:
                urls = [sim.url(m.name) for m in mounts[:n]]
                assert sim.pid is not None
                time.sleep(2)
                sim_before = _proc_cpu(sim.pid)
                base = baseline(urls, work / f"base-{n}", seconds)
                sim_mid = _proc_cpu(sim.pid)
                ours = custodes(urls, work / f"ours-{n}", seconds)
                sim_after = _proc_cpu(sim.pid)
            shutil.rmtree(work / f"base-{n}", ignore_errors=True)
            shutil.rmtree(work / f"ours-{n}", ignore_errors=True)
            rows.append(
                (n, base, ours, (sim_mid - sim_before) / seconds, (sim_after - sim_mid) / seconds)
            )
            print(
                f"{n} streams: baseline {base.cpu_s:.1f} CPU-s, custodes {ours.cpu_s:.1f} CPU-s",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = [
        "## Recording (`bench/recording.py`)",
        "",
        f"{seconds:.0f} s per phase; simulated 1080p25 H.264 at ~4 Mbit/s; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for n, base, ours, sim_b, sim_o in rows:
        ratio = ours.cpu_s / base.cpu_s if base.cpu_s else float("nan")
        lines.append(
            f"| {n} | {base.cpu_s:.1f} | {ours.cpu_s:.1f} | {ratio:.2f} | "
            f"{100 * ours.cpu_s / seconds / n:.2f} | {ours.peak_rss_mb / n:.1f} | "
            f"{base.peak_rss_mb / n:.1f} | {base.segments} / {ours.segments} | "
            f"{100 * sim_b:.0f} / {100 * sim_o:.0f} |"
        )
    write_section("recording", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
