"""bench/playback: recorded playback in the browser, from a click on the timeline to a frame.

Three minutes of real 1080p25 footage (H.264, 4 Mbit/s, a keyframe every 2 s, 6 s segments)
sealed into the index of one camera, an officer holding a grant over it, the camera page
(/cameras/1) in Debian's Chromium (Playwright) at a five-minute zoom. Two measures:

* *start*: a click on the timeline at a recorded time (20 clicks, spread over the footage,
  1× speed); from the click (performance.now() in a capturing listener) to the first frame
  the recorded player (<video id=playback>, Media Source) presents from the new range
  (requestVideoFrameCallback);
* *seek* at 8× and 16×: with playback running at that speed, a click at another time (10
  each); from the click to the first frame from the new range.

Baseline in the same run, same session: a bare `<video src="/api/v1/cameras/1/media?…">` on a
blank page of the same origin, given each range the page asked for (its exact start and end);
from setting `src` to the first frame, and for seeks the same with the video already playing
the previous range at that speed. The clicks release at once (Playwright's default); the time
runs from the release (pointerup), where the page decides to play.
`python -m bench.playback [--no-write]`.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from argon2 import PasswordHasher
from playwright.sync_api import Browser, Page, Request, sync_playwright
from sqlalchemy import update

from custodes.adapters.db import schema
from custodes.adapters.ffmpeg.stderr import StreamInfo
from custodes.clock import now_us
from custodes.domain.camera import CameraSpec
from custodes.domain.timing import RunClock
from custodes.paths import DATABASE_URL_ENV, DataDir
from custodes.services.cameras import add_camera
from custodes.services.context import Context
from custodes.services.sealing import Sealer, SegmentClosed
from custodes.services.setup import initialise

from . import export as export_bench
from .browser import chromium, serve
from .report import write_section

FOOTAGE_S = 180
CLICKS = int(os.environ.get("BENCH_PLAYBACK_CLICKS", "20"))
SEEKS = int(os.environ.get("BENCH_PLAYBACK_SEEKS", "10"))
SPEEDS = tuple(int(s) for s in os.environ.get("BENCH_PLAYBACK_SPEEDS", "8,16").split(","))
RUN_BEFORE_SEEK_S = 1.0  # playback runs this long at speed before the jump
TIMEOUT_MS = 30_000
BARE_TIMEOUT_MS = 10_000  # a bare video that shows nothing this long counts as failed
ZOOM_IN = 7  # the camera page's zoom steps from 24 h: the seventh shows five minutes
# Installed before the page's own scripts: a capturing pointerup listener notes the click's time
# first, and __arm(selector) waits for the first frame the video presents from a new source.
WATCH = """
window.__bench = { gen: 0, clickAt: null, shown: null, rate: null, mediaTime: null };
window.addEventListener("pointerup", (e) => {  // the page plays on the release
  window.__bench.clickAt = performance.now();
  window.__bench.clickOn = e.target.nodeName + (e.target.isConnected ? "" : " (detached)");
}, true);
const fetched = window.fetch;
window.fetch = function (input, init) {
  const p = fetched.call(this, input, init);
  if (String(input).includes("/media?")) {
    const b = window.__bench;
    b.askedAt = performance.now();
    p.then(() => { b.headersAt = performance.now(); }, () => {});
  }
  return p;
};
window.__arm = (selector) => {
  const b = window.__bench;
  const v = document.querySelector(selector);
  const gen = ++b.gen;
  const before = v.currentSrc;
  b.clickAt = null; b.shown = null; b.rate = null; b.mediaTime = null;
  b.askedAt = null; b.headersAt = null;
  const frame = (now, meta) => {
    if (gen !== b.gen) return;
    if (v.currentSrc && v.currentSrc !== before) {
      b.shown = performance.now(); b.rate = v.playbackRate; b.mediaTime = meta.mediaTime;
    } else {
      v.requestVideoFrameCallback(frame);
    }
  };
  v.requestVideoFrameCallback(frame);
};
"""
STATE = """() => { const v = document.querySelector('SEL'); const b = v.buffered;
  return { src: v.currentSrc, ready: v.readyState, paused: v.paused, rate: v.playbackRate,
    t: v.currentTime, buffered: [...Array(b.length).keys()].map((i) => [b.start(i), b.end(i)]),
    error: v.error && v.error.message, bench: window.__bench }; }"""
BLANK = '<!doctype html><video id="bare" muted playsinline autoplay></video>'


@dataclass
class Measure:
    ours: list[float] = field(default_factory=list)  # ms, click to first frame
    base: list[float | None] = field(default_factory=list)  # ms, src to first frame; None: none
    phases: list[tuple[float, float]] = field(default_factory=list)  # ms: fetch, headers


def _footage(ctx: Context, camera_id: int) -> tuple[int, int]:
    """FOOTAGE_S of real footage sealed for `camera_id`, ending 5 s ago: (start, end) µs."""
    run_dir = ctx.data.camera_spool(camera_id) / "real"
    run_dir.mkdir(parents=True)
    listing = subprocess.run(
        [
            *("ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i"),
            f"testsrc2=size=1920x1080:rate=25:duration={FOOTAGE_S}",
            *("-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-bf", "0", "-b:v", "4M"),
            *("-f", "segment", "-segment_time", "6", "-segment_format", "mp4"),
            *("-segment_format_options", "movflags=+frag_keyframe+empty_moov+default_base_moof"),
            *("-reset_timestamps", "1", "-segment_list", "pipe:1", "-segment_list_type", "csv"),
            str(run_dir / "%08d.mp4"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    clock = RunClock()
    base = now_us() // 1_000_000 * 1_000_000 - (FOOTAGE_S + 5) * 1_000_000
    for line in listing:
        name, a, b = line.split(",")
        timing = clock.place(float(a), float(b), base + int(float(b) * 1e6))
        Sealer(ctx.engine, ctx.data).seal(
            SegmentClosed(camera_id, "real", run_dir / name, timing, StreamInfo("h264")),
        )
    return base, base + FOOTAGE_S * 1_000_000


def main() -> None:
    write = "--no-write" not in sys.argv
    work = Path(tempfile.mkdtemp(prefix="custodes-bench-playback-"))
    os.environ.pop(DATABASE_URL_ENV, None)
    results: dict[str, Measure] = {}
    try:
        ctx = initialise(DataDir(work / "data"), "jilin").context
        cam = add_camera(ctx, CameraSpec(name="bench1", url="rtsp://h/x", place="bench")).id
        t0 = time.perf_counter()
        start, end = _footage(ctx, cam)
        print(f"footage: {FOOTAGE_S} s in {time.perf_counter() - t0:.0f} s", flush=True)
        # recorded footage plays only under a grant: an officer holds one over all of it
        _, officer, _ = export_bench._grant(ctx, cam, start - 1_000_000, end + 1_000_000)
        with ctx.engine.begin() as conn:
            conn.execute(
                update(schema.accounts)
                .where(schema.accounts.c.username == officer)
                .values(password_hash=PasswordHasher().hash("bench"), password_one_time=False)
            )
        web, port = serve(ctx)
        with sync_playwright() as pw:
            browser = chromium(pw)
            results = _measure(browser, port, cam, officer)
            browser.close()
        web.stop()
        ctx.engine.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    body = _table(results)
    print(body)
    if write:
        write_section("playback", body)


def _measure(browser: Browser, port: int, cam: int, officer: str) -> dict[str, Measure]:
    origin = f"http://127.0.0.1:{port}"
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    context.route(
        f"{origin}/bench-blank", lambda route: route.fulfill(body=BLANK, content_type="text/html")
    )
    page = context.new_page()
    page.goto(f"{origin}/login")
    page.fill("#username", officer)
    page.fill("#password", "bench")
    page.click("#login-submit")
    page.wait_for_load_state("networkidle")
    context.add_init_script(WATCH)
    page.goto(f"{origin}/cameras/{cam}")
    page.wait_for_selector("#timeline rect.span")
    for _ in range(ZOOM_IN):
        page.click("#zoom-in")
    page.wait_for_function(
        "() => document.querySelectorAll('#timeline text').length > 0"
        " && document.querySelector('#timeline rect.span')"
    )
    time.sleep(1.0)  # the last zoom's spans drawn
    media: list[str] = []

    def asked(request: Request) -> None:
        if "/media?" in request.url:
            media.append(request.url)

    page.on("request", asked)
    results: dict[str, Measure] = {}
    # start: clicks spread over the footage, in an order that jumps about
    fractions = [0.04 + 0.9 * ((i * 7) % CLICKS) / CLICKS for i in range(CLICKS)]
    m = results["start"] = Measure()
    ranges = []
    for f in fractions:
        page.evaluate("() => document.getElementById('playback').pause()")
        ms, url = _click(page, f, media, m.phases)
        m.ours.append(ms)
        ranges.append(url)
        time.sleep(0.3)
    print("start", [round(x) for x in m.ours], flush=True)
    page.evaluate("() => document.getElementById('playback').pause()")
    bare = context.new_page()
    bare.goto(f"{origin}/bench-blank")
    for url in ranges:
        bare.evaluate("() => document.getElementById('bare').pause()")
        m.base.append(_bare(bare, url, 1))
        time.sleep(0.3)
    print("start baseline", m.base, flush=True)
    # seek at speed: jumps between the first 60 % of the footage, so that the range played
    # lasts a few seconds even at 16×
    for speed in SPEEDS:
        m = results[f"seek {speed}"] = Measure()
        page.bring_to_front()
        page.select_option("#speed", str(speed))
        targets = [0.05 + 0.55 * ((i * 3) % (SEEKS + 1)) / SEEKS for i in range(SEEKS + 1)]
        _click(page, targets[0], media, [], speed)
        ranges = []
        for f in targets[1:]:
            time.sleep(RUN_BEFORE_SEEK_S)
            ms, url = _click(page, f, media, m.phases, speed)
            m.ours.append(ms)
            ranges.append(url)
        page.evaluate("() => document.getElementById('playback').pause()")
        print(f"seek {speed}x", [round(x) for x in m.ours], flush=True)
        bare.bring_to_front()
        _bare(bare, ranges[0], speed)
        for url in ranges[1:] + ranges[:1]:
            time.sleep(RUN_BEFORE_SEEK_S)
            m.base.append(_bare(bare, url, speed))
        bare.evaluate("() => document.getElementById('bare').pause()")
        print(f"seek {speed}x baseline", m.base, flush=True)
    context.close()
    return results


def _click(
    page: Page,
    fraction: float,
    media: list[str],
    phases: list[tuple[float, float]],
    speed: int = 1,
) -> tuple[float, str]:
    """Clicks the recorded span at `fraction` of its width: (ms to the first frame, the /media
    address the page asked for, without its `audio=false`); notes in `phases` when, after the
    click, the page's fetch of /media began and its response headers came (ms)."""
    # in one script: the page redraws the timeline (new rects) at every timeupdate
    box = page.evaluate(
        """() => { window.scrollTo(0, 0);
          const b = document.querySelector('#timeline rect.span').getBoundingClientRect();
          return [b.x, b.y, b.width, b.height]; }"""
    )
    x, y, w, h = box
    asked = len(media)
    page.evaluate("() => window.__arm('#playback')")
    page.mouse.click(x + w * fraction, y + h / 2)
    try:
        page.wait_for_function(
            "() => window.__bench.shown !== null", timeout=TIMEOUT_MS, polling=50
        )
    except Exception:
        print("no frame:", page.evaluate(STATE.replace("SEL", "#playback")), flush=True)
        print(page.inner_text("#playback-position"), media[asked:], box, flush=True)
        raise
    b = page.evaluate("() => window.__bench")
    assert b["clickAt"] is not None, "the click was not seen"
    assert b["clickOn"] in ("rect", "line", "svg", "text"), f"clicked on {b['clickOn']}"
    assert b["rate"] == speed, f"played at {b['rate']}×, not {speed}×"
    assert len(media) > asked, "no /media request after the click"
    click = b["clickAt"]
    phases.append((b["askedAt"] - click, b["headersAt"] - click))
    return b["shown"] - click, _plain(media[-1])


def _plain(url: str) -> str:
    """The address without the recorded player's `audio=false`: what a bare video is given."""
    parts = urlsplit(url)
    query = "&".join(p for p in parts.query.split("&") if p != "audio=false")
    return urlunsplit(("", "", parts.path, query, ""))


def _bare(page: Page, url: str, speed: int) -> float | None:
    """The baseline: ms from setting the bare video's src to `url` to its first frame, or
    None when none came within BARE_TIMEOUT_MS."""
    shown = page.evaluate(
        """async ([url, speed]) => {
              window.__arm('#bare');
              const v = document.getElementById('bare');
              v.defaultPlaybackRate = speed;
              const t = performance.now();
              v.src = url;
              v.playbackRate = speed;
              v.play().catch(() => {});
              const b = window.__bench;
              while (b.shown === null) {
                if (performance.now() - t > TIMEOUT) return null;
                await new Promise((r) => setTimeout(r, 20));
              }
              if (b.rate !== speed) throw new Error('played at ' + b.rate);
              return b.shown - t;
            }""".replace("TIMEOUT", str(BARE_TIMEOUT_MS)),
        [url, speed],
    )
    return None if shown is None else float(shown)


def _q(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _table(results: dict[str, Measure]) -> str:
    run = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows = []
    for key, m in results.items():
        what = (
            f"start: click on the timeline, 1× ({len(m.ours)} clicks)"
            if key == "start"
            else f"seek at {key.split()[1]}×: click at another time ({len(m.ours)} seeks)"
        )
        shown = [x for x in m.base if x is not None]
        failed = len(m.base) - len(shown)
        bare = f"{_q(shown, 50):.0f} / {_q(shown, 95):.0f}" if shown else "–"
        if failed:
            bare += f" ({failed} of {len(m.base)} showed no frame in {BARE_TIMEOUT_MS // 1000} s)"
        ratio = f"{_q(m.ours, 95) / _q(shown, 95):.2f}" if shown else "–"
        fetch = _q([p[0] for p in m.phases], 50)
        headers = _q([p[1] for p in m.phases], 50)
        target = "1000" if key == "start" else "–"
        rows.append(
            f"| {what} | {_q(m.ours, 50):.0f} / {_q(m.ours, 95):.0f} | {fetch:.0f} / "
            f"{headers:.0f} | {bare} | {ratio} | {target} |"
        )
    return "\n".join(
        [
            "## Recorded playback (`bench/playback.py`)",
            "",
            f"{FOOTAGE_S} s of real 1080p25 footage (H.264 4 Mbit/s, keyframe every 2 s, 6 s "
            "segments) of one camera, played under an officer's grant on the camera page at a "
            "five-minute zoom; Debian Chromium headless at 1920×1080 on this machine's CPU (no "
            "GPU decoding). From the click on the timeline (performance.now() at the event) to "
            "the first frame the recorded player presents from the new range "
            "(requestVideoFrameCallback); a seek is such a click while playback runs at that "
            f"speed ({RUN_BEFORE_SEEK_S:.0f} s after the previous one). Baseline: a bare "
            "`<video src=/api/v1/cameras/1/media?start=…&end=…>` on a blank page of the same "
            "origin and session, given the same ranges (for seeks while playing the previous "
            "one at that speed), from setting `src` to its first frame. "
            f"Run {run}, {os.cpu_count()} CPU(s).",
            "",
            "| measure | camera page p50 / p95 ms | of which: /media fetched / headers at, p50 ms "
            "| bare video p50 / p95 ms | ratio of p95 | target p95 ms |",
            "|---|---|---|---|---|---|",
            *rows,
        ]
    )


if __name__ == "__main__":
    main()
