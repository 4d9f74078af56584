"""Recorded playback in Chromium with sound, and with the instant the picture shows: camera 1
of this module's installation sends AAC audio (the simulator's `ensure_aac`), camera 2 none.
The sound plays muted until the person unmutes it, and a camera without sound still plays;
the play head shows the instant of the frame shown, not the start asked for (stream copy
starts at the keyframe before it, up to a GOP earlier), on the camera page and in
synchronised playback."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from custodes.adapters.db import schema
from custodes.adapters.simulator.clips import ensure_aac, ensure_clip
from custodes.adapters.simulator.process import Mount
from custodes.paths import DATABASE_URL_ENV

from .browser_env import CAST, PASSWORD, SERVED, _api, _as, _shot, serving
from .recording import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Camera 1 with AAC sound, camera 2 without."""

    def cameras(clips: Path) -> list[Mount]:
        return [
            Mount("cam1", ensure_clip(clips, "cam1"), audio=ensure_aac(clips)),
            Mount("cam2", ensure_clip(clips, "cam2")),
        ]

    with serving(tmp_path_factory, cameras) as base:
        yield base


def _span(server: str, camera: int, seconds: float) -> dict[str, Any]:
    """A recorded span of the camera's last half hour at least `seconds` long (waited for)."""
    found: list[dict[str, Any]] = []
    with _api(server, "admin", PASSWORD) as c:

        def long_enough() -> bool:
            now = datetime.now(UTC)
            params = {"from": (now - timedelta(minutes=29)).isoformat(), "to": now.isoformat()}
            spans = c.get(f"/cameras/{camera}/recordings", params=params).json()["spans"]
            found[:] = [s for s in spans if s["end_us"] - s["start_us"] >= seconds * 1e6][:1]
            return bool(found)

        wait_for(f"{seconds} s recorded in one span of camera {camera}", long_enough, 180, every=1)
    return found[0]


def _iso(us: int) -> str:
    return quote(datetime.fromtimestamp(us / 1e6, UTC).isoformat())


def _segments(camera: int) -> list[Any]:
    """The served installation's index rows of the camera's segments (its own database)."""
    from custodes.services.context import open_context

    ctx = open_context(SERVED[0], migrate=False)
    try:
        s = schema.segments
        with ctx.engine.connect() as conn:
            return list(
                conn.execute(select(s).where(s.c.camera_id == camera).order_by(s.c.seq)).all()
            )
    finally:
        ctx.engine.dispose()


def _keyframe_before(camera: int, at_us: int) -> int:
    """The true instant (µs) of the keyframe at or before `at_us`: its segment's start plus
    the keyframe's time in the recorded file, as ffprobe reads it."""
    row = next(r for r in _segments(camera) if r.start_us <= at_us < r.end_us)
    probe = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts_time,flags",
            "-of",
            "json",
            str(SERVED[0].archive / row.path),
        ],
        capture_output=True,
        check=True,
    )
    keys = [
        round(float(p["pts_time"]) * 1e6)
        for p in json.loads(probe.stdout)["packets"]
        if "K" in p["flags"]
    ]
    return int(row.start_us + max(k for k in keys if row.start_us + k <= at_us))


def _mid_gop(camera: int, span: dict[str, Any]) -> int:
    """An instant 1 s after a keyframe a few seconds into the span: half a GOP late if the
    page counted from the start it asked for."""
    rows = [r for r in _segments(camera) if r.start_us >= span["start_us"] + 3_000_000]
    row = next(r for r in rows if r.end_us <= span["end_us"] - 6_000_000)
    return int(row.start_us + 1_000_000)


_VIDEO = """() => { const v = document.getElementById('playback'); const s =
  document.getElementById('sound'); return { time: v.currentTime, muted: v.muted, audio:
  v.webkitAudioDecodedByteCount, video: v.webkitVideoDecodedByteCount, rate: v.playbackRate,
  text: s.textContent, hidden: s.hidden, disabled: s.disabled }; }"""


def _state(page: Page) -> dict[str, Any]:
    state: dict[str, Any] = page.evaluate(_VIDEO)
    return state


def _media_requests(page: Page) -> list[str]:
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url) if "/media?" in r.url else None)
    return urls


def test_recorded_sound_plays_muted_until_unmuted_and_not_above_4x(
    server: str, browser: Browser, view_grants: Callable[..., None]
) -> None:
    """Camera 1's recorded AAC is decoded with the picture (one MSE buffer of both codecs),
    muted at first; the labelled button (reached with the keyboard) unmutes it; above 4× it is
    muted and the button says why; back at 1× the sound is as chosen; M mutes it again. In both
    languages."""
    span = _span(server, 1, 14)
    view_grants("viewer-sound", [(span["start_us"], span["end_us"])], cameras=(1,))
    at = span["start_us"] + 2_000_000
    for lang, (unmute, mute, fast) in (
        ("en-US", ("Unmute", "Mute", "Muted above 4×")),
        ("zh-CN", ("取消静音", "静音", "4 倍速以上静音")),
    ):
        page = _as(browser, server, "viewer-sound", locale=lang)
        urls = _media_requests(page)
        assert page.evaluate("() => MediaSource.isTypeSupported('audio/mp4; codecs=\"mp4a.40.2\"')")
        page.goto(f"{server}/cameras/1?at={_iso(at)}")
        page.wait_for_function(
            "() => { const v = document.getElementById('playback');"
            " return v.currentTime > 1 && v.webkitAudioDecodedByteCount > 0; }",
            timeout=60000,
        )
        assert urls and all("audio=false" not in u for u in urls), urls
        state = _state(page)
        assert state["muted"] and not state["hidden"] and not state["disabled"], state
        assert state["text"] == unmute, state
        page.focus("#sound")  # a button: Tab reaches it, Enter presses it
        page.keyboard.press("Enter")
        page.wait_for_function("() => !document.getElementById('playback').muted")
        assert _state(page)["text"] == mute
        _shot(page, f"recorded-sound-{lang}.png")
        page.select_option("#speed", "8")
        page.wait_for_function("() => document.getElementById('playback').muted")
        state = _state(page)
        assert state["disabled"] and state["text"] == fast and state["rate"] == 8, state
        page.select_option("#speed", "1")
        page.wait_for_function("() => !document.getElementById('playback').muted")
        assert _state(page)["text"] == mute
        page.evaluate("() => document.activeElement.blur()")  # M: not while in a field
        page.keyboard.press("m")
        page.wait_for_function("() => document.getElementById('playback').muted")
        assert _state(page)["text"] == unmute
        page.context.close()


def test_a_camera_without_sound_plays_its_video_and_says_it_has_no_sound(
    server: str, browser: Browser, view_grants: Callable[..., None]
) -> None:
    span = _span(server, 2, 10)
    view_grants("viewer-silent", [(span["start_us"], span["end_us"])], cameras=(2,))
    page = _as(browser, server, "viewer-silent")
    page.goto(f"{server}/cameras/2?at={_iso(span['start_us'] + 2_000_000)}")
    page.wait_for_function(
        "() => document.getElementById('playback').currentTime > 1.5", timeout=60000
    )
    first = _state(page)
    page.wait_for_function(
        f"() => document.getElementById('playback').currentTime > {first['time'] + 0.5}",
        timeout=30000,
    )
    state = _state(page)
    assert state["video"] > 0 and state["audio"] == 0, state
    assert state["muted"] and state["disabled"] and state["text"] == "No sound track", state
    page.context.close()


def _views(name: str) -> int:
    """The media-viewed entries of CAST[name]'s account in the served installation's ledger."""
    from custodes.services import ledger
    from custodes.services.context import open_context

    ctx = open_context(SERVED[0], migrate=False)
    try:
        lg = schema.ledger
        with ctx.engine.connect() as conn:
            return len(
                conn.execute(
                    select(lg.c.seq).where(
                        lg.c.action == ledger.MEDIA_VIEWED,
                        lg.c.actor == ledger.account_actor(CAST[name].username),
                    )
                ).all()
            )
    finally:
        ctx.engine.dispose()


def _plays_without_sound(page: Page, server: str, span: dict[str, Any]) -> None:
    page.goto(f"{server}/cameras/1?at={_iso(span['start_us'] + 2_000_000)}")
    page.wait_for_function(
        "() => document.getElementById('playback').currentTime > 1.5", timeout=60000
    )
    state = _state(page)
    assert state["audio"] == 0 and state["text"] == "No sound track", state


def test_a_browser_that_cannot_take_the_audio_codec_plays_the_video_alone(
    server: str, browser: Browser, view_grants: Callable[..., None]
) -> None:
    """A browser whose MSE takes no AAC: the request names the audio codecs it takes, the
    server leaves the AAC out, and the video plays without sound — one request, one view in
    the ledger (it asked twice, the second time with `audio=false`: two views for one)."""
    span = _span(server, 1, 10)
    view_grants("viewer-no-aac", [(span["start_us"], span["end_us"])], cameras=(1,))
    page = _as(browser, server, "viewer-no-aac")
    page.add_init_script(
        """(() => { const ok = MediaSource.isTypeSupported.bind(MediaSource);
        MediaSource.isTypeSupported = (t) => !t.includes('mp4a') && ok(t); })();"""
    )
    urls = _media_requests(page)
    _plays_without_sound(page, server, span)
    (url,) = urls
    assert "audio=false" not in url and "audio_codecs=" in url and "mp4a" not in url, url
    assert _views("viewer-no-aac") == 1
    page.context.close()


def test_a_browser_that_refuses_the_codecs_it_was_answered_asks_for_the_video_alone(
    server: str, browser: Browser, view_grants: Callable[..., None]
) -> None:
    """The browser takes AAC beside the baseline H.264 it is probed with, but refuses it beside
    the recording's own video codec: the answer's codecs are refused, and the range is asked
    for again with `audio=false`; the video plays, without sound."""
    span = _span(server, 1, 10)
    view_grants("viewer-picky", [(span["start_us"], span["end_us"])], cameras=(1,))
    page = _as(browser, server, "viewer-picky")
    page.add_init_script(
        """(() => { const ok = MediaSource.isTypeSupported.bind(MediaSource);
        MediaSource.isTypeSupported = (t) => !(t.startsWith('video/') && t.includes('mp4a')
          && !t.includes('avc1.42E01E')) && ok(t); })();"""
    )
    urls = _media_requests(page)
    _plays_without_sound(page, server, span)
    assert len(urls) == 2 and "mp4a.40.2" in urls[0] and "audio=false" in urls[1], urls
    page.context.close()


_PAUSED_HEAD = """() => new Promise((resolve) => {
  const v = document.getElementById('playback');
  const head = document.getElementById('playback-head');
  v.addEventListener('pause', () => setTimeout(() =>
    resolve([Date.parse(head.dateTime), v.currentTime]), 0), { once: true });
  v.pause();
})"""

_TILES = """() => [...document.querySelectorAll('.sync-tile')].map((f) => ({
  start: f.dataset.start ? Number(f.dataset.start) : null,
  time: f.querySelector('video').currentTime }))"""


def test_the_play_head_shows_the_instant_of_the_frame_shown(
    server: str, browser: Browser, view_grants: Callable[..., None], monkeypatch: Any
) -> None:
    """Asked from 1 s into a 2-s GOP, the picture starts at the keyframe: the play head shows
    the keyframe's instant plus the time played (within 0.1 s; counting from the start asked
    for was 1 s late), and synchronised playback puts each tile's time 0 at its keyframe."""
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    one, two = _span(server, 1, 24), _span(server, 2, 24)
    span = {
        "start_us": max(one["start_us"], two["start_us"]),
        "end_us": min(one["end_us"], two["end_us"]),
    }
    assert span["end_us"] - span["start_us"] >= 16_000_000, (one, two)
    at = _mid_gop(1, span)
    truth = {cam: _keyframe_before(cam, at) for cam in (1, 2)}
    assert at - truth[1] >= 900_000, (at, truth)  # mid-GOP (camera 2's keyframes lie elsewhere)
    view_grants("viewer-head", [(span["start_us"], span["end_us"])], cameras=(1, 2))
    for cam in (1, 2):
        page = _as(browser, server, "viewer-head")
        page.goto(f"{server}/cameras/{cam}?at={_iso(at)}")
        page.wait_for_function(
            "() => document.getElementById('playback').currentTime > 0.5", timeout=60000
        )
        shown, time = page.evaluate(_PAUSED_HEAD)
        error = shown - (truth[cam] / 1e3 + time * 1e3)
        assert abs(error) < 100, (cam, error, shown, time, truth[cam], at)
        page.context.close()
    page = _as(browser, server, "viewer-head")
    page.goto(f"{server}/playback?camera=1&camera=2&at={_iso(at)}")
    page.wait_for_function(
        f"() => ({_TILES})().every((t) => t.start !== null && t.time > 1.2)", timeout=60000
    )
    tiles = page.evaluate(_TILES)
    for cam, tile in zip((1, 2), tiles, strict=True):
        assert abs(tile["start"] - truth[cam] / 1e3) < 100, (cam, tile, truth[cam], at)
    page.context.close()
