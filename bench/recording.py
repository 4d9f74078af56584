"""bench/recording: CPU of Custodes recording N simulated 1080p streams vs bare ffmpeg.

For N in 16, 32, 64 (BENCH_CAMERAS), for BENCH_SECONDS (default 60) each:
  baseline  N × `ffmpeg -rtsp_transport tcp -i URL -c copy -f segment` (same segment options)
  custodes  `custodes serve` recording the same N streams (supervisor + ffmpeg + sealer)
Both phases get the same treatment: start, WARMUP seconds to connect and settle, then the CPU
of the whole process tree (the service and its ffmpeg children; or the N ffmpegs) is read from
/proc at the start and end of the measured window — the steady-state cost of recording. The
whole-run CPU including start-up (getrusage of waited children) is reported beside it. RSS is
sampled once per second. The simulator's own CPU is reported separately. Run: `make bench`.
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
    "whole run incl. start-up: bare / ours (ratio)",
    "Custodes CPU % per stream",
    "Custodes RSS MB per stream",
    "bare ffmpeg RSS MB per stream",
    "segments (bare / ours)",
    "simulator CPU % (during bare / ours)",
)


WARMUP_S = 10.0


@dataclass(frozen=True)
class Phase:
    cpu_s: float  # steady state, over the measured window
    total_cpu_s: float  # whole run, start-up and shutdown included
    peak_rss_mb: float
    segments: int


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _tree_pids(roots: list[int]) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if int(entry.name) in roots or parent in roots:
            found.append(int(entry.name))
    return found


def _tree_cpu(roots: list[int]) -> dict[int, float]:
    out = {}
    for pid in _tree_pids(roots):
        try:
            out[pid] = _proc_cpu(pid)
        except (OSError, IndexError, ValueError):
            continue
    return out


def _measure(procs: list[subprocess.Popen[bytes]], seconds: float) -> tuple[float, float]:
    """(CPU seconds of the process trees over `seconds` after the warm-up, peak RSS MB)."""
    time.sleep(WARMUP_S)
    roots = [p.pid for p in procs]
    before = _tree_cpu(roots)
    peak = _sample(procs, seconds)
    after = _tree_cpu(roots)
    # a process that started inside the window counts from zero; one that ended is lost
    cpu = sum(v - before.get(pid, 0.0) for pid, v in after.items())
    return cpu, peak


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
    cpu, peak = _measure(procs, seconds)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait()
    segments = sum(1 for _ in out.rglob("*.mp4"))
    return Phase(cpu, _children_cpu() - before, peak, segments)


def custodes(urls: list[str], root: Path, seconds: float) -> Phase:
    data = DataDir(root / "data")
    env = {k: v for k, v in os.environ.items() if k != DATABASE_URL_ENV}
    os.environ.pop(DATABASE_URL_ENV, None)
    ctx = initialise(data, "jilin").context
    for i, url in enumerate(urls):
        add_camera(ctx, CameraSpec(name=f"bench{i}", url=url, place="bench"))
    ctx.engine.dispose()
    before = _children_cpu()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "custodes.entrypoints.cli",
            "serve",
            "--data",
            str(data.root),
            "--http-port",
            "0",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(root / "serve.log").open("wb"),
    )
    cpu, peak = _measure([proc], seconds)
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    segments = sum(1 for _ in data.archive.rglob("*.mp4"))
    return Phase(cpu, _children_cpu() - before, peak, segments)


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
                t0, sim_before = time.monotonic(), _proc_cpu(sim.pid)
                base = baseline(urls, work / f"base-{n}", seconds)
                t1, sim_mid = time.monotonic(), _proc_cpu(sim.pid)
                ours = custodes(urls, work / f"ours-{n}", seconds)
                t2, sim_after = time.monotonic(), _proc_cpu(sim.pid)
            shutil.rmtree(work / f"base-{n}", ignore_errors=True)
            shutil.rmtree(work / f"ours-{n}", ignore_errors=True)
            rows.append(
                (
                    n,
                    base,
                    ours,
                    (sim_mid - sim_before) / (t1 - t0),
                    (sim_after - sim_mid) / (t2 - t1),
                )
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
        f"CPU over {seconds:.0f} s after a {WARMUP_S:.0f} s warm-up; simulated 1080p25 H.264 "
        "at ~4 Mbit/s, 6 s segments; "
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
            f"{base.total_cpu_s:.1f} / {ours.total_cpu_s:.1f} "
            f"({ours.total_cpu_s / base.total_cpu_s:.2f}) | "
            f"{100 * ours.cpu_s / seconds / n:.2f} | {ours.peak_rss_mb / n:.1f} | "
            f"{base.peak_rss_mb / n:.1f} | {base.segments} / {ours.segments} | "
            f"{100 * sim_b:.0f} / {100 * sim_o:.0f} |"
        )
    write_section("recording", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
