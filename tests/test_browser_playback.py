"""The camera page's recorded player in Chromium: under a grant and without one, the
timeline, speeds, keys, and the player without MediaSource."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page

from .browser_env import (
    CAST,
    PASSWORD,
    _advances,
    _api,
    _as,
    _at,
    _login,
    _recorded_span,
    _shot,
    _timeline_window,
    _timeline_x,
    _us,
)

pytestmark = pytest.mark.slow


def _click_recorded(page: Page, server: str) -> None:
    page.goto(f"{server}/cameras/1")
    page.wait_for_selector("#timeline rect.span")
    for _ in range(5):  # zoom to the last five minutes, where the recording is
        page.click("#zoom-in")
    page.wait_for_function("() => document.querySelectorAll('#timeline text').length > 0")
    page.wait_for_selector("#timeline rect.span")
    box = page.eval_on_selector(
        "#timeline rect.span",
        "r => { const b = r.getBoundingClientRect(); return [b.x, b.y, b.width, b.height]; }",
    )
    page.mouse.click(box[0] + box[2] * 0.3, box[1] + box[3] / 2)


def test_playback_without_a_grant_shows_why(server: str, page: Page) -> None:
    """The administrator configures cameras but sees no recorded footage without a grant."""
    _login(page, server)
    page.wait_for_url(_at("/live"))
    _click_recorded(page, server)
    page.wait_for_function(
        "() => document.querySelector('#playback-position').textContent.includes('grant')"
    )
    assert "file an access request" in page.inner_text("#playback-position")
    assert page.eval_on_selector("#playback", "v => v.currentSrc") == ""


def test_next_recording_plays_what_the_grant_covers_and_says_where_that_ends(
    server: str, browser: Browser, view_grants: Callable[[str, list[tuple[int, int]]], None]
) -> None:
    """A grant over part of a recording: "Next recording" plays that part instead of asking
    for the whole span (which no grant covers), and where the grant ends the page says so."""
    span = _recorded_span(server, 14)
    grant = (span["start_us"] + 3_000_000, span["start_us"] + 9_000_000)  # the span goes on
    view_grants("viewer-next", [grant])
    page = _as(browser, server, "viewer-next")
    media: list[str] = []
    checks: list[int] = []
    page.on("request", lambda r: media.append(r.url) if "/media?" in r.url else None)
    page.on("response", lambda r: checks.append(r.status) if "/grants/check" in r.url else None)
    page.goto(f"{server}/cameras/1")
    page.wait_for_selector("#timeline rect.span")
    page.select_option("#speed", "4")
    page.click("#next-recording")  # nothing playing: the first recording in view
    page.wait_for_function(
        "() => document.querySelector('#playback-position').textContent.includes('grant')",
        timeout=60000,
    )
    text = page.inner_text("#playback-position")
    assert "outside every grant" in text, text  # said, not a bare refusal from the server
    assert checks == [200], checks
    (asked,) = media
    query = httpx.URL(asked).params
    start, end = _us(query["start"]), _us(query["end"])
    assert grant[0] <= start < grant[0] + 1000 and grant[1] - 1000 < end <= grant[1], (
        asked,
        grant,
    )
    assert page.eval_on_selector("#playback", "v => v.currentTime") > 1.0  # it played
    _shot(page, "playback-grant-edge.png")
    page.context.close()


def test_dragging_the_timeline_pans_it_and_only_a_click_plays(
    server: str, browser: Browser, view_grants: Callable[[str, list[tuple[int, int]]], None]
) -> None:
    """A press that moves pans the timeline and plays nothing; one that does not move (or
    hardly) plays from where it was."""
    span = _recorded_span(server, 8)
    view_grants("viewer-drag", [(span["start_us"], span["end_us"])])
    page = _as(browser, server, "viewer-drag")
    asked: list[str] = []
    page.on(
        "request",
        lambda r: asked.append(r.url) if "/grants/check" in r.url or "/media?" in r.url else None,
    )
    page.goto(f"{server}/cameras/1")
    page.wait_for_selector("#timeline rect.span")
    for _ in range(8):  # the last minute in view: the recording fills most of it
        page.click("#zoom-in")
    labels = "() => [...document.querySelectorAll('#timeline text')].map(l => l.textContent)"
    page.wait_for_function(  # drawn at that zoom: labels on round times 10 s apart
        f"""() => {{ const t = ({labels})();
          const s = (x) => x.split(':').reduce((a, b) => a * 60 + Number(b), 0);
          return t.length >= 6 && (s(t[1]) - s(t[0]) + 86400) % 86400 === 10
            && s(t[0]) % 10 === 0; }}"""
    )
    page.wait_for_selector("#timeline rect.span")
    # the labels where they are drawn: ticks on round times keep their text when a pan
    # crosses none, and move
    drawn = f"() => ({labels})().map((t, i) => t + '@' + "
    drawn += "document.querySelectorAll('#timeline text')[i].getAttribute('x'))"
    before = page.evaluate(drawn)
    where = "r => { const b = r.getBoundingClientRect(); return [b.x, b.y, b.width, b.height]; }"
    box = page.eval_on_selector("#timeline rect.span", where)
    top = page.eval_on_selector("#timeline", "t => t.getBoundingClientRect().y")
    # pressed above the recording's bar (on the timeline itself, which a redraw keeps), at a
    # recorded instant, and let go 100 px on
    x, y = box[0] + box[2] / 2, top + 4
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 100, y, steps=10)
    page.mouse.up()
    page.wait_for_function(  # the view moved with the pointer (back by ~5 s)
        f"before => JSON.stringify(({drawn})()) !== JSON.stringify(before)", arg=before
    )
    page.wait_for_timeout(1500)  # room for a click handler's requests, had it run
    assert asked == [], asked
    assert page.inner_text("#playback-position") == ""
    assert page.eval_on_selector("#playback", "v => v.currentSrc") == ""
    # a click, even with a pixel or two of movement, plays. Aimed at instants the grant
    # covers: the bar goes on growing past the grant's end while the camera records, so a
    # fraction of it lands outside the grant on a slow run (and is refused, rightly)
    view = _timeline_window(page)
    lo = max(view[0], span["start_us"] / 1e3)
    hi = min(view[1], span["end_us"] / 1e3)
    assert hi - lo > 4000, (view, span)
    box = page.eval_on_selector("#timeline rect.span", where)
    x, y = _timeline_x(page, lo + (hi - lo) * 0.3), box[1] + box[3] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 2, y + 1)
    page.mouse.up()
    _advances(page, "#playback")
    assert any("/media?" in u for u in asked), asked
    # what the player says ("Playing from …") and its play head's time kept the timeline where
    # it was: a press aimed at it lands where it was aimed (it moved down a line, and a press
    # measured before was lost)
    assert page.inner_text("#playback-position") != ""
    assert page.eval_on_selector("#timeline", "t => t.getBoundingClientRect().y") == top
    # while it plays (the timeline redrawn at every timeupdate, the pressed bar replaced), a
    # press held as long as a person holds one still plays from where it is let go
    for held_ms in (150, 400):
        media = sum("/media?" in u for u in asked)
        box = page.eval_on_selector("#timeline rect.span", where)  # the page's layout moves
        x, y = _timeline_x(page, lo + (hi - lo) * 0.6), box[1] + box[3] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        page.wait_for_timeout(held_ms)
        page.mouse.up()
        for _ in range(50):  # the page's requests come in while Playwright waits
            if sum("/media?" in u for u in asked) > media:
                break
            page.wait_for_timeout(200)
        assert sum("/media?" in u for u in asked) > media, (held_ms, asked)
    page.context.close()


_SAMPLE_TIMES = """async ([n, every]) => {
  const v = document.querySelector('#playback');
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push(v.currentTime);
    await new Promise((r) => setTimeout(r, every));
  }
  return out;
}"""


def test_fast_playback_only_moves_forward(
    server: str, browser: Browser, view_grants: Callable[[str, list[tuple[int, int]]], None]
) -> None:
    """At 8× and 16× the recorded player's time only goes forward, on a link slower than the
    footage at 8×: a plain <video src> fell back to near 0 there (the browser asked for the
    clip again, which comes from its start); the player waits instead."""
    span = _recorded_span(server, 30)
    view_grants("viewer-fast", [(span["start_us"], span["end_us"])])
    page = _as(browser, server, "viewer-fast")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    slow = {"offline": False, "latency": 0, "downloadThroughput": 1e6, "uploadThroughput": 1e6}
    cdp.send("Network.emulateNetworkConditions", slow)  # 8 Mbit/s: the clip is ~4.5 (at 8×, 36)
    page.goto(f"{server}/cameras/1")
    page.wait_for_selector("#timeline rect.span")
    page.select_option("#speed", "8")
    page.click("#next-recording")  # the first recording in view, from its start
    page.wait_for_function(
        "() => document.querySelector('#playback').currentTime > 0.5", timeout=30000
    )
    assert page.eval_on_selector("#playback", "v => v.currentSrc").startswith("blob:")  # MSE
    for speed, samples in ((8, 20), (16, 15)):
        page.select_option("#speed", str(speed))
        times = page.evaluate(_SAMPLE_TIMES, [samples, 200])
        back = [(a, b) for a, b in pairwise(times) if b < a - 0.04]
        assert not back, (speed, times)  # never back by more than a frame
        assert times[-1] - times[0] > 3, (speed, times)  # and it plays on
    page.context.close()


def test_keys_and_go_to_a_time_drive_the_recorded_player(
    server: str, browser: Browser, view_grants: Callable[[str, list[tuple[int, int]]], None]
) -> None:
    """ "Go to" plays from a time typed in the site's zone; the keys the help line names play
    and pause, step, and change the speed."""
    span = _recorded_span(server, 25)
    view_grants("viewer-keys", [(span["start_us"], span["end_us"])])
    page = _as(browser, server, "viewer-keys")
    media: list[str] = []
    page.on("request", lambda r: media.append(r.url) if "/media?" in r.url else None)
    page.goto(f"{server}/cameras/1")
    page.wait_for_selector("#timeline rect.span")
    assert "Space" in page.inner_text("#keys")
    zone = ZoneInfo(page.get_attribute("body", "data-timezone") or "UTC")
    target = (span["start_us"] // 1_000_000 + 5) * 1_000_000  # a whole second, as typed
    typed = datetime.fromtimestamp(target / 1e6, zone).strftime("%Y-%m-%dT%H:%M:%S")
    page.fill("#jump-time", typed)
    page.click("#jump button[type=submit]")
    _advances(page, "#playback")
    assert len(media) == 1 and _us(httpx.URL(media[0]).params["start"]) == target, media
    # the timeline moved there: an hour at most in view, the play head in it
    head = page.eval_on_selector("#timeline line.head", "l => Number(l.getAttribute('x1'))")
    width = page.eval_on_selector("#timeline", "t => t.clientWidth")
    assert 0 < head < width, (head, width)
    hours = page.evaluate(
        "() => [...document.querySelectorAll('#timeline text')].map(l => l.textContent)"
    )
    secs = [sum(int(x) * 60**i for i, x in enumerate(reversed(h.split(":")))) for h in hours]
    assert (secs[1] - secs[0]) % 86400 <= 600, hours  # an hour's ticks or finer, not the day's
    video = "#playback"
    page.keyboard.press(" ")
    assert page.eval_on_selector(video, "v => v.paused")
    page.keyboard.press("k")
    assert not page.eval_on_selector(video, "v => v.paused")
    page.keyboard.press("k")
    rates = []
    for key in ("+", "l", "l", "l", "l", "-", "j", "j", "j", "j"):
        page.keyboard.press(key)
        rates.append(page.eval_on_selector(video, "v => v.playbackRate"))
    assert rates == [2, 4, 8, 16, 16, 8, 4, 2, 1, 1], rates
    assert page.input_value("#speed") == "1"
    t0 = page.eval_on_selector(video, "v => v.currentTime")
    moves = []
    for key in ("ArrowRight", "Shift+ArrowRight", "ArrowLeft"):
        page.keyboard.press(key)
        moves.append(page.eval_on_selector(video, "v => v.currentTime") - t0)
    assert [round(m, 1) for m in moves] == [1.0, 11.0, 10.0], moves
    assert len(media) == 1  # all inside the range being played
    _shot(page, "playback-keys.png")
    page.context.close()


def test_recorded_playback_without_mse_plays_the_address_itself(
    server: str, browser: Browser, view_grants: Callable[[str, list[tuple[int, int]]], None]
) -> None:
    """No MediaSource (an older iPhone): the video element is given the /media address."""
    span = _recorded_span(server, 8)
    view_grants("viewer-plain", [(span["start_us"], span["end_us"])])
    page = _as(browser, server, "viewer-plain")
    page.add_init_script("delete window.MediaSource; delete window.ManagedMediaSource;")
    page.goto(f"{server}/cameras/1")
    page.wait_for_selector("#timeline rect.span")
    page.click("#next-recording")
    _advances(page, "#playback")
    src = page.eval_on_selector("#playback", "v => v.currentSrc")
    assert src.startswith(f"{server}/api/v1/cameras/1/media?") and "audio" not in src, src
    page.context.close()


def test_stepping_back_past_what_the_player_dropped_asks_for_it_again(
    server: str, browser: Browser, view_grants: Callable[[str, list[tuple[int, int]]], None]
) -> None:
    """The recorded player drops footage well behind the play head; Shift+← back into it
    asks for the range from there instead of waiting for data that will not come."""
    span = _recorded_span(server, 60)
    view_grants("viewer-back", [(span["start_us"], span["end_us"])])
    page = _as(browser, server, "viewer-back")
    media: list[str] = []
    page.on("request", lambda r: media.append(r.url) if "/media?" in r.url else None)
    page.goto(f"{server}/cameras/1")
    page.wait_for_selector("#timeline rect.span")
    page.select_option("#speed", "16")
    page.click("#next-recording")
    page.wait_for_function(  # played on well past what is kept behind the play head
        """() => { const v = document.querySelector('#playback');
          return v.currentTime > 40 && v.buffered.length && v.buffered.start(0) > 5; }""",
        timeout=90000,  # 16× decodes every frame: slow on a loaded 2-core machine, never wrong
    )
    page.keyboard.press("k")
    held = page.eval_on_selector("#playback", "v => v.buffered.start(0)")
    at = page.eval_on_selector("#playback", "v => v.currentTime")
    for _ in range(int((at - held) // 10) + 3):  # ten seconds back each, to before `held`
        page.keyboard.press("Shift+ArrowLeft")
        page.wait_for_timeout(300)
        if len(media) > 1:
            break
    for _ in range(100):  # the page's events come in while Playwright waits, not in a sleep
        if len(media) > 1:
            break
        page.wait_for_timeout(200)
    assert len(media) == 2, media
    start = _us(httpx.URL(media[1]).params["start"])
    first = _us(httpx.URL(media[0]).params["start"])
    assert start < first + held * 1e6, (start, first, held)  # from footage it had dropped
    page.context.close()


def _spans(server: str, camera: int) -> list[dict[str, Any]]:
    with _api(server, "admin", PASSWORD) as c:
        now = datetime.now(UTC)
        params = {"from": (now - timedelta(minutes=29)).isoformat(), "to": now.isoformat()}
        spans: list[dict[str, Any]] = c.get(f"/cameras/{camera}/recordings", params=params).json()[
            "spans"
        ]
    return spans


_TILES = """() => [...document.querySelectorAll('.sync-tile')].map((f) => {
  const v = f.querySelector('video');
  return { start: f.dataset.start ? Number(f.dataset.start) : null, time: v.currentTime,
    paused: v.paused, rate: v.playbackRate, note: f.querySelector('.sync-note').hidden ? null
    : f.querySelector('.sync-note').textContent };
})"""


def test_two_cameras_play_together_on_one_clock(
    server: str, browser: Browser, view_grants: Callable[..., None]
) -> None:
    """/playback: both cameras play from the instant asked for and stay within half a second
    of each other (the wall-clock instant each video shows); pause and speed act on both; a
    camera no grant of the viewer's covers says why in its tile while the other plays."""
    one = _recorded_span(server, 20)
    other = max(
        _spans(server, 2),
        key=lambda s: min(s["end_us"], one["end_us"]) - max(s["start_us"], one["start_us"]),
    )
    a, b = max(one["start_us"], other["start_us"]), min(one["end_us"], other["end_us"])
    assert b - a >= 12_000_000, (one, other)  # both recorded the same 12 s
    view_grants("viewer-sync", [(a, b)], cameras=(1, 2))
    view_grants("viewer-sync-one", [(a, b)], cameras=(1,))
    at = quote(datetime.fromtimestamp((a + 2_000_000) / 1e6, UTC).isoformat())
    for who, lang, size in (
        ("viewer-sync", "en-US", (1366, 768)),
        ("viewer-sync", "zh-CN", (1920, 1080)),
    ):
        page = _as(browser, server, who, locale=lang, size=size)
        page.goto(f"{server}/playback?camera=1&camera=2&at={at}")
        page.wait_for_function(
            f"() => ({_TILES})().every((t) => t.start !== null && t.time > 1.5)", timeout=40000
        )
        for _ in range(3):
            tiles = page.evaluate(_TILES)
            shown = [t["start"] + t["time"] * 1000 for t in tiles]
            assert abs(shown[0] - shown[1]) < 500, tiles  # one clock
            page.wait_for_timeout(700)
        _shot(page, f"sync-playback-{lang}.png")
        page.click("#sync-play")  # pause: both
        page.wait_for_function(f"() => ({_TILES})().every((t) => t.paused)")
        page.click("#sync-play")
        page.select_option("#sync-speed", "4")
        page.wait_for_function(f"() => ({_TILES})().every((t) => t.rate === 4 && !t.paused)")
        page.context.close()
    page = _as(browser, server, "viewer-sync-one", locale="zh-CN")
    page.goto(f"{server}/playback?camera=1&camera=2&at={at}")
    page.wait_for_function(
        f"() => {{ const [x, y] = ({_TILES})(); return x.time > 1 && y.note !== null; }}",
        timeout=40000,
    )
    note = page.evaluate(_TILES)[1]["note"]
    assert "授权" in note, note  # the grant check's reason, in the viewer's language
    assert page.inner_text("h1") == "同步回放"
    _shot(page, "sync-playback-refused-zh.png")
    page.context.close()


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_playback_alone_takes_the_room_and_leaves_the_timeline_on_the_screen(
    server: str,
    browser: Browser,
    view_grants: Callable[[str, list[tuple[int, int]]], None],
    size: tuple[int, int],
) -> None:
    """An officer with a grant and no live view: the camera page had the player in one of two
    columns and the other empty — half the width for the only video on the page. It takes
    the room now, as far as the timeline below it stays on the screen."""
    span = _recorded_span(server, 4)
    if "viewer-alone" not in CAST:
        view_grants("viewer-alone", [(span["start_us"], span["end_us"])])
    page = _as(browser, server, "viewer-alone", size=size)
    page.goto(f"{server}/cameras/1")
    page.wait_for_selector("#timeline rect.span")
    assert page.query_selector("video.live") is None  # no live view for this role
    box = "e => { const b = e.getBoundingClientRect(); return [b.width, b.bottom]; }"
    main = page.eval_on_selector("main", "m => m.clientWidth")
    player, _ = page.eval_on_selector("#playback", box)
    _, timeline_bottom = page.eval_on_selector("#timeline", box)
    _shot(page, f"playback-alone-{size[0]}x{size[1]}.png")
    assert player > main / 2 + 40, (player, main)  # more than its half of two columns
    assert timeline_bottom <= size[1], (timeline_bottom, size)
    page.context.close()
