"""bench/recording: CPU of Custodes recording N simulated 1080p streams vs bare ffmpeg.

For N in 16, 32, 64 (BENCH_CAMERAS), for BENCH_SECONDS (default 60) each, on one simulator:
  bare      N × the recorder's own ffmpeg command (`record_command`: RTSP over TCP, stream
            copy, the same segment and fMP4 options), its segment list thrown away
  durable   the same N ffmpegs, each piping its segment list (`-segment_list pipe:1`) into a
            small sh loop that runs `openssl dgst -sha256` and `sync FILE` (an fsync) on every
            closed segment: what hashing and durability cost without any service around them
  custodes  `custodes serve` recording the same N streams (supervisor + ffmpeg + sealer)
Every phase gets the same treatment: start, WARMUP seconds to connect and settle, then the CPU
of the whole process tree (every descendant, and the children each has reaped: the openssl
and sync helpers, an ffmpeg restarted in the window) is read from /proc at the start and end
of the measured window — the steady-state cost of recording. The whole-run CPU including
start-up (getrusage of waited children) is reported beside it; Custodes' CPU is also split
into the service process itself (what the project's Python costs, the steadier figure) and its
ffmpegs (as noisy as the baseline), and the service's CPU per segment sealed. RSS is sampled
once per second. Segments are counted twice: those whose file was last written inside the window
(mtime), the same rule for every phase, and all of them. The simulator's CPU is reported
separately. Run: `make bench`.

BENCH_ROUNDS (default 1) repeats the three phases alternately and reports medians, ratios with
their range. BENCH_SIM_DIR keeps the simulated clips between runs (encoding 64 takes a while).
"""

from __future__ import annotations

import os
import platform
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from custodes.adapters.archive import make_mutable
from custodes.adapters.ffmpeg.command import record_command
from custodes.adapters.simulator.process import Simulator, prepare_cameras
from custodes.domain.camera import CameraSpec
from custodes.paths import DATABASE_URL_ENV, DataDir
from custodes.services.cameras import add_camera
from custodes.services.setup import initialise

from .report import write_section

TICK = os.sysconf("SC_CLK_TCK")
SEGMENT_S = 6.0
WARMUP_S = 10.0
DURABLE = "ffmpeg + sha256 + fsync"
COLUMNS = (
    "streams",
    "bare ffmpeg CPU-s",
    f"{DURABLE} CPU-s (of which openssl + sync)",
    "Custodes CPU-s (of which the service process)",
    "ratio to bare (target ≤ 1.10)",
    f"ratio to {DURABLE}",
    f"whole run incl. start-up CPU-s: bare / {DURABLE} / ours",
    "Custodes service CPU ms per segment",
    "RSS MB per stream: bare / ours",
    f"segments closed in the window: bare / {DURABLE} / ours",
    "segments in all (ours: sealed)",
    "ours: sealed after close, p50 / max ms",
    f"simulator CPU % during bare / {DURABLE} / ours",
)

# One per stream in the durable phase: $1 is the run directory, stdin ffmpeg's segment list
# (`name,media_start,media_end` per closed segment).
WATCHER = """
while IFS=, read -r name start end; do
  f="$1/${name##*/}"
  openssl dgst -sha256 "$f" >>"$1/sha256.txt"
  sync "$f"
done
"""


@dataclass(frozen=True)
class Phase:
    cpu_s: float  # steady state, over the measured window, the whole tree
    part_cpu_s: float  # of which: the watchers and their openssl/sync (durable); the service
    # process itself, without its ffmpegs (ours)
    total_cpu_s: float  # whole run, start-up and shutdown included
    peak_rss_mb: float
    in_window: int  # segments whose file was last written inside the window
    segments: int  # all segments (ours: sealed into the archive)
    seal_delay_ms: tuple[float, float] | None = None  # ours: p50, max of sealed_us - mtime


@dataclass(frozen=True)
class _Proc:
    ppid: int
    cpu_s: float  # own user + system, plus its reaped children's
    rss_bytes: int


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _snapshot() -> dict[int, _Proc]:
    """Every process: parent, CPU (own + reaped children), RSS — one pass over /proc."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            f = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cpu = sum(int(v) for v in f[11:15]) / TICK  # utime stime cutime cstime
            out[int(entry.name)] = _Proc(int(f[1]), cpu, int(f[21]) * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, IndexError, ValueError):
            continue
    return out


def _descendants(snap: dict[int, _Proc], roots: list[int]) -> set[int]:
    kids: dict[int, list[int]] = {}
    for pid, p in snap.items():
        kids.setdefault(p.ppid, []).append(pid)
    found, todo = set(), [r for r in roots if r in snap]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(kids.get(pid, []))
    return found


def _cpu(snap: dict[int, _Proc], pids: set[int]) -> dict[int, float]:
    return {pid: snap[pid].cpu_s for pid in pids}


def _delta(before: dict[int, float], after: dict[int, float]) -> float:
    # a process that started inside the window counts from zero; one that ended is charged
    # to the parent that reaped it (cutime), unless that parent ended too
    return sum(v - before.get(pid, 0.0) for pid, v in after.items())


@dataclass(frozen=True)
class _Window:
    cpu_s: float
    part_cpu_s: float
    peak_rss_mb: float
    start: float  # wall clock (time.time) of the window
    end: float


def _measure(roots: list[int], part: list[int], seconds: float, *, part_own: bool) -> _Window:
    """CPU of the trees of `roots` over the window; of it, the part of `part` (their trees,
    or with `part_own` those processes alone, with the children they reaped)."""

    def part_pids(snap: dict[int, _Proc]) -> set[int]:
        return {p for p in part if p in snap} if part_own else _descendants(snap, part)

    time.sleep(WARMUP_S)
    snap = _snapshot()
    start = time.time()
    tree, part_tree = _descendants(snap, roots), part_pids(snap)
    before, part_before = _cpu(snap, tree), _cpu(snap, part_tree)
    peak = 0.0
    deadline = time.monotonic() + seconds
    while True:
        time.sleep(max(0.0, min(1.0, deadline - time.monotonic())))
        snap = _snapshot()
        tree = _descendants(snap, roots)
        peak = max(peak, sum(snap[p].rss_bytes for p in tree) / 2**20)
        if time.monotonic() >= deadline:
            break
    end = time.time()
    return _Window(
        _delta(before, _cpu(snap, tree)),
        _delta(part_before, _cpu(snap, part_pids(snap))),
        peak,
        start,
        end,
    )


def _in_window(files: list[Path], w: _Window) -> int:
    return sum(1 for f in files if w.start <= f.stat().st_mtime < w.end)


def _ffmpeg(url: str, run_dir: Path) -> list[str]:
    """The recorder's own command line, options and all (segment list on stdout)."""
    return record_command(url, run_dir, segment_seconds=SEGMENT_S)


def baseline(urls: list[str], out: Path, seconds: float, *, durable: bool) -> Phase:
    before = _children_cpu()
    procs, watchers = [], []
    for i, url in enumerate(urls):
        d = out / f"b{i}"
        d.mkdir(parents=True)
        p = subprocess.Popen(
            _ffmpeg(url, d),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if durable else subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(p)
        if durable:
            assert p.stdout is not None
            watchers.append(
                subprocess.Popen(["sh", "-c", WATCHER, "watcher", str(d)], stdin=p.stdout)
            )
            p.stdout.close()
    roots = [p.pid for p in procs + watchers]
    w = _measure(roots, [p.pid for p in watchers], seconds, part_own=False)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs + watchers:
        p.wait()
    files = sorted(out.rglob("*.mp4"))
    return Phase(
        w.cpu_s,
        w.part_cpu_s,
        _children_cpu() - before,
        w.peak_rss_mb,
        _in_window(files, w),
        len(files),
    )


def _seal_delays_ms(data: DataDir) -> tuple[float, float] | None:
    """sealed_us of each row minus its file's mtime (when ffmpeg last wrote it)."""
    with closing(sqlite3.connect(data.root / "custodes.db")) as db:
        rows = db.execute("SELECT path, sealed_us FROM segments").fetchall()
    delays = [(sealed / 1e6 - (data.archive / path).stat().st_mtime) * 1e3 for path, sealed in rows]
    return (statistics.median(delays), max(delays)) if delays else None


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
    w = _measure([proc.pid], [proc.pid], seconds, part_own=True)
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    files = sorted(data.archive.rglob("*.mp4"))
    phase = Phase(
        w.cpu_s,
        w.part_cpu_s,
        _children_cpu() - before,
        w.peak_rss_mb,
        _in_window(files, w),
        len(files),
        _seal_delays_ms(data),
    )
    for f in files:  # sealed files may be immutable (chattr +i as root): let rmtree work
        make_mutable(f)
    return phase


def _sim_cpu_pct(pid: int, since: tuple[float, float]) -> tuple[float, tuple[float, float]]:
    """Simulator CPU % since (monotonic, cpu), and the new (monotonic, cpu)."""
    now = (time.monotonic(), _proc_cpu(pid))
    return 100 * (now[1] - since[1]) / (now[0] - since[0]), now


def _round(urls: list[str], work: Path, n: int, sim_pid: int, seconds: float) -> _Round:
    mark = (time.monotonic(), _proc_cpu(sim_pid))
    bare = baseline(urls, work / f"bare-{n}", seconds, durable=False)
    sim_bare, mark = _sim_cpu_pct(sim_pid, mark)
    durable = baseline(urls, work / f"durable-{n}", seconds, durable=True)
    sim_durable, mark = _sim_cpu_pct(sim_pid, mark)
    ours = custodes(urls, work / f"ours-{n}", seconds)
    sim_ours, mark = _sim_cpu_pct(sim_pid, mark)
    for phase in ("bare", "durable", "ours"):
        shutil.rmtree(work / f"{phase}-{n}", ignore_errors=True)
    return _Round(bare, durable, ours, (sim_bare, sim_durable, sim_ours))


@dataclass(frozen=True)
class _Round:
    bare: Phase
    durable: Phase
    ours: Phase
    sim_pct: tuple[float, float, float]


def main() -> None:
    seconds = float(os.environ.get("BENCH_SECONDS", "60"))
    counts = [int(n) for n in os.environ.get("BENCH_CAMERAS", "16,32,64").split(",")]
    # Rounds alternate the phases (bare, durable, ours, bare, …): on this machine one phase
    # of bare ffmpeg moves by ±8 % from one run to the next, so a ratio needs a few.
    rounds = int(os.environ.get("BENCH_ROUNDS", "1"))
    work = Path(tempfile.mkdtemp(prefix="custodes-bench-", dir=os.environ.get("BENCH_DIR")))
    sim_dir = Path(os.environ.get("BENCH_SIM_DIR") or work / "sim")
    rows: list[tuple[int, list[_Round]]] = []
    try:
        mounts = prepare_cameras(sim_dir, max(counts))
        for n in counts:
            port = 18554 + n
            done = []
            with Simulator(mounts[:n], port, log_path=work / f"sim-{n}.log") as sim:
                urls = [sim.url(m.name) for m in mounts[:n]]
                assert sim.pid is not None
                time.sleep(2)
                for _ in range(rounds):
                    r = _round(urls, work, n, sim.pid, seconds)
                    done.append(r)
                    print(
                        f"{n} streams: bare {r.bare.cpu_s:.1f} CPU-s, {DURABLE} "
                        f"{r.durable.cpu_s:.1f}, custodes {r.ours.cpu_s:.1f} "
                        f"(service {r.ours.part_cpu_s:.1f})",
                        flush=True,
                    )
            rows.append((n, done))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = [
        "## Recording (`bench/recording.py`)",
        "",
        f"CPU over {seconds:.0f} s after a {WARMUP_S:.0f} s warm-up; simulated 1080p25 H.264 "
        f"at ~4 Mbit/s, {SEGMENT_S:g} s segments; the recorder's ffmpeg command in every phase; "
        f"{DURABLE}: `openssl dgst -sha256` and `sync FILE` per closed segment; "
        + (
            f"medians of {rounds} rounds of alternating phases, ratios with their range; "
            if rounds > 1
            else ""
        )
        + f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for n, done in rows:
        bare = _median_phase([r.bare for r in done])
        durable = _median_phase([r.durable for r in done])
        ours = _median_phase([r.ours for r in done])
        to_bare = _ratios([(r.ours.cpu_s, r.bare.cpu_s) for r in done])
        to_durable = _ratios([(r.ours.cpu_s, r.durable.cpu_s) for r in done])
        sim_med = [statistics.median(r.sim_pct[i] for r in done) for i in range(3)]
        delay = ours.seal_delay_ms
        lines.append(
            f"| {n} | {bare.cpu_s:.1f} | {durable.cpu_s:.1f} ({durable.part_cpu_s:.1f}) | "
            f"{ours.cpu_s:.1f} ({ours.part_cpu_s:.1f}) | {to_bare} | {to_durable} | "
            f"{bare.total_cpu_s:.1f} / {durable.total_cpu_s:.1f} / {ours.total_cpu_s:.1f} | "
            f"{_per_segment_ms(ours)} | "
            f"{bare.peak_rss_mb / n:.1f} / {ours.peak_rss_mb / n:.1f} | "
            f"{bare.in_window} / {durable.in_window} / {ours.in_window} | "
            f"{bare.segments} / {durable.segments} / {ours.segments} | "
            + (f"{delay[0]:.0f} / {delay[1]:.0f}" if delay else "—")
            + f" | {sim_med[0]:.0f} / {sim_med[1]:.0f} / {sim_med[2]:.0f} |"
        )
    write_section("recording", "\n".join(lines))
    print("\n".join(lines))


def _median_phase(phases: list[Phase]) -> Phase:
    """Each figure the median of the rounds' (the seal delays: p50 median, max of maxima)."""

    def med(get: Callable[[Phase], float]) -> float:
        return float(statistics.median(get(p) for p in phases))

    delays = [p.seal_delay_ms for p in phases if p.seal_delay_ms is not None]
    return Phase(
        med(lambda p: p.cpu_s),
        med(lambda p: p.part_cpu_s),
        med(lambda p: p.total_cpu_s),
        med(lambda p: p.peak_rss_mb),
        round(med(lambda p: p.in_window)),
        round(med(lambda p: p.segments)),
        (statistics.median(d[0] for d in delays), max(d[1] for d in delays)) if delays else None,
    )


def _ratios(pairs: list[tuple[float, float]]) -> str:
    values = sorted(a / b for a, b in pairs if b)
    if not values:
        return "—"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.median(values):.2f} ({values[0]:.2f}–{values[-1]:.2f})"


def _per_segment_ms(ours: Phase) -> str:
    return f"{1000 * ours.part_cpu_s / ours.in_window:.1f}" if ours.in_window else "—"


if __name__ == "__main__":
    main()
