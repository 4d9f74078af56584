"""bench/live_first_frame: from opening the live page to the first frame shown in every tile.

Sixteen simulated cameras, each with a 1080p25 main stream (4 Mbit/s, a keyframe every 2 s) and
a 640×360 sub stream (one tile plays the main stream, a grid the sub streams), the live page in
Debian's Chromium (Playwright) with 1 and with 16 tiles, each over the live path (fMP4 over a
WebSocket into MSE) and, as the baseline in the same run, the same page over HLS (Chromium's own
player, `?transport=hls`). A load is a fresh tab of a logged-in browser: the time runs from the
start of the navigation (`performance.timeOrigin`) to the moment the last tile presents its
first frame (`requestVideoFrameCallback`).

Two kinds of load, because an operator meets both: *cold*, no viewer on the cameras (the
server's on-demand ffmpeg must connect to each camera and wait for a keyframe), and *warm*,
the page reloaded while the streams run (joining a running stream: its init segment and the
newest keyframe's fragment at once). Cold loads wait out the hub's linger between loads.
`python -m bench.live_first_frame [--no-write]`; BENCH_FIRST_FRAME_LOADS (default 20) loads
per row, BENCH_FIRST_FRAME_COLD (default 5) cold ones.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from argon2 import PasswordHasher
from playwright.sync_api import Browser, BrowserContext, sync_playwright
from sqlalchemy import update

from custodes.adapters.db import schema
from custodes.adapters.simulator.clips import ensure_clip
from custodes.adapters.simulator.process import Mount, Simulator, free_port
from custodes.domain.camera import CameraSpec
from custodes.paths import DATABASE_URL_ENV, DataDir
from custodes.services.cameras import add_camera
from custodes.services.setup import initialise

from .browser import chromium, serve
from .report import write_section

CAMERAS = 16
SUB = (640, 360)  # the sub stream a grid of several tiles plays, as cameras offer one
LOADS = int(os.environ.get("BENCH_FIRST_FRAME_LOADS", "20"))
COLD = int(os.environ.get("BENCH_FIRST_FRAME_COLD", "5"))
LINGER_S = 10.0  # the hub's default: a stream with no viewer stops this long after the last
TIMEOUT_MS = 60_000
# Installed before the page's own scripts: each video notes its first presented frame.
WATCH = """
window.__firstFrames = [];
document.addEventListener("DOMContentLoaded", () => {
  for (const v of document.querySelectorAll("video.live")) {
    v.requestVideoFrameCallback(() => window.__firstFrames.push(performance.now()));
  }
});
"""


def main() -> None:
    write = "--no-write" not in sys.argv
    work = Path(tempfile.mkdtemp(prefix="custodes-bench-first-frame-"))
    os.environ.pop(DATABASE_URL_ENV, None)
    results: dict[tuple[str, int, str], list[float]] = {}
    try:
        ctx = initialise(DataDir(work / "data"), "jilin").context
        with ctx.engine.begin() as conn:
            conn.execute(
                update(schema.accounts).values(
                    password_hash=PasswordHasher().hash("bench"), password_one_time=False
                )
            )
        clip = ensure_clip(work / "clips", "cam")
        sub = ensure_clip(work / "clips", "cam-sub", width=SUB[0], height=SUB[1])
        names = [f"cam{i}" for i in range(1, CAMERAS + 1)]
        mounts = [Mount(n, clip) for n in names] + [Mount(f"{n}-sub", sub) for n in names]
        with Simulator(mounts, free_port()) as sim:
            for n in names:
                spec = CameraSpec(
                    name=n, url=sim.url(n), sub_url=sim.url(f"{n}-sub"), place="bench"
                )
                add_camera(ctx, spec)
            web, port = serve(ctx)
            with sync_playwright() as pw:
                browser = chromium(pw)
                context = _logged_in(browser, port)
                for tiles in (1, CAMERAS):
                    for transport in ("mse", "hls"):
                        cold, warm = _loads(context, port, tiles, transport)
                        results[transport, tiles, "cold"] = cold
                        results[transport, tiles, "warm"] = warm
                        print(transport, tiles, "cold", cold, "warm", warm, flush=True)
                browser.close()
            web.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    body = _table(results)
    print(body)
    if write:
        write_section("first-frame", body)


def _logged_in(browser: Browser, port: int) -> BrowserContext:
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.goto(f"http://127.0.0.1:{port}/login")
    page.fill("#username", "admin")
    page.fill("#password", "bench")
    page.click("#login-submit")
    page.wait_for_url("**/live**")
    page.close()
    context.add_init_script(WATCH)
    return context


def _load(context: BrowserContext, port: int, tiles: int, transport: str) -> float:
    """One load: ms from the navigation's start to the last tile's first frame."""
    page = context.new_page()
    try:
        page.goto(f"http://127.0.0.1:{port}/live?layout={tiles}&transport={transport}")
        page.wait_for_function(
            f"() => window.__firstFrames.length >= {tiles}", timeout=TIMEOUT_MS, polling=50
        )
        shown: list[float] = page.evaluate("() => window.__firstFrames")
        return max(shown[:tiles])
    finally:
        page.close()


def _loads(
    context: BrowserContext, port: int, tiles: int, transport: str
) -> tuple[list[float], list[float]]:
    cold = []
    for _ in range(COLD):
        time.sleep(LINGER_S + 2)  # every stream stopped: the page starts them
        cold.append(_load(context, port, tiles, transport))
    warm = [_load(context, port, tiles, transport) for _ in range(LOADS)]
    return cold, warm


def _q(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _table(results: dict[tuple[str, int, str], list[float]]) -> str:
    run = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows = []
    for tiles in (1, CAMERAS):
        target = 1000 if tiles == 1 else 2000
        for kind in ("warm", "cold"):
            ours, base = results["mse", tiles, kind], results["hls", tiles, kind]
            rows.append(
                f"| {tiles} | {kind} ({len(ours)} loads) | {_q(ours, 50):.0f} / {_q(ours, 95):.0f}"
                f" | {_q(base, 50):.0f} / {_q(base, 95):.0f} | {_q(ours, 95) / _q(base, 95):.2f}"
                f" | {target} |"
            )
    return "\n".join(
        [
            "## First live frame (`bench/live_first_frame.py`)",
            "",
            f"{CAMERAS} simulated cameras, each a 1080p25 main stream (4 Mbit/s, keyframe every "
            f"2 s) and a {SUB[0]}×{SUB[1]} sub stream: one tile plays the main stream, 16 tiles "
            "the sub streams; "
            "Debian Chromium headless at 1920×1080 on this machine's CPU (no GPU decoding); "
            "from the start of the page's navigation to the first frame presented in the last "
            "tile. *Warm*: streams already running (a reload); *cold*: no viewer before, the "
            f"server connects to every camera. Run {run}.",
            "",
            "| tiles | load | live path (MSE) p50 / p95 ms | HLS, same page, p50 / p95 ms "
            "| ratio of p95 | target p95 ms |",
            "|---|---|---|---|---|---|",
            *rows,
        ]
    )


if __name__ == "__main__":
    main()
