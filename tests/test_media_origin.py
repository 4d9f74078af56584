"""Where a recorded range's time 0 lies, and its sound: /media starts at the keyframe at or
before the start asked for (stream copy), and says at which instant its time 0 lies
(`X-Custodes-Media-Start-Us`), measured against the segments ffmpeg recorded (GOP 2 s, AAC
audio: the recorder's segment options) and against what the MP4 it sends holds."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from custodes.adapters.db import schema
from custodes.adapters.ffmpeg.clip import stop_clip
from custodes.adapters.ffmpeg.command import SEGMENT_FORMAT_OPTIONS
from custodes.adapters.ffmpeg.stderr import StreamInfo
from custodes.clock import iso
from custodes.domain.camera import CameraSpec
from custodes.domain.timing import RunClock
from custodes.domain.transport import LOOPBACK_PLAIN
from custodes.entrypoints.web.app import create_app
from custodes.entrypoints.web.deps import CSRF_HEADER
from custodes.entrypoints.web.server import WebServer
from custodes.services import cameras as svc
from custodes.services import ledger
from custodes.services.context import Context
from custodes.services.sealing import Sealer, SegmentClosed

from .conftest import free_port
from .grant_setup import approved_grant
from .recording import wait_for

T0 = 1_795_000_000_000_000
FPS = 25
GOP_S = 2
SEGMENT_S = 4
AUDIO_FRAME_US = 1024 * 1_000_000 // 48_000  # one AAC frame at 48 kHz: 21.3 ms


def _record(run_dir: Path, audio: bool) -> list[tuple[str, float, float]]:
    """Three 4-s segments, a keyframe every 2 s, as the recorder's ffmpeg writes them."""
    run_dir.mkdir(parents=True, exist_ok=True)
    seconds = 3 * SEGMENT_S
    sound = ["-f", "lavfi", "-i", f"sine=frequency=1000:sample_rate=48000:duration={seconds}"]
    res = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size=320x240:rate={FPS}:duration={seconds}",
            *(sound if audio else []),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            str(GOP_S * FPS),
            "-keyint_min",
            str(GOP_S * FPS),
            "-sc_threshold",
            "0",
            "-bf",
            "0",
            *(["-c:a", "aac", "-ac", "1"] if audio else []),
            "-f",
            "segment",
            "-segment_time",
            str(SEGMENT_S),
            "-segment_format",
            "mp4",
            "-segment_format_options",
            SEGMENT_FORMAT_OPTIONS,
            "-reset_timestamps",
            "1",
            "-segment_list",
            "pipe:1",
            "-segment_list_type",
            "csv",
            str(run_dir / "%08d.mp4"),
        ],
        capture_output=True,
        check=True,
        text=True,
    )
    out = []
    for line in res.stdout.splitlines():
        name, a, b = line.split(",")
        out.append((name, float(a), float(b)))
    return out


def _packets(path: Path, stream: str) -> list[dict[str, Any]]:
    res = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            stream,
            "-show_entries",
            "packet=pts_time,flags",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        check=True,
    )
    packets: list[dict[str, Any]] = json.loads(res.stdout)["packets"]
    return packets


def _frames_us(path: Path) -> list[tuple[int, bool]]:
    """The video frames' presentation times in the segment file (µs from its start), and
    whether each is a keyframe."""
    return [(round(float(p["pts_time"]) * 1e6), "K" in p["flags"]) for p in _packets(path, "v:0")]


@pytest.fixture
def officer(ctx: Context) -> Iterator[TestClient]:
    """A client logged in as an officer holding a view grant on cameras 1 and 2."""
    for name in ("Sound", "Silent"):
        svc.add_camera(ctx, CameraSpec(name=name, url="rtsp://h/x", place="p"))
    setup = approved_grant(ctx, camera_ids=[1, 2], start_us=T0, end_us=T0 + 3_600_000_000)
    holder = setup.holders[0]
    with TestClient(create_app(ctx)) as c:
        res = c.post(
            "/api/v1/auth/login", json={"username": holder.username, "password": holder.password}
        )
        assert res.status_code == 200, res.text
        c.headers[CSRF_HEADER] = res.json()["csrf_token"]
        yield c


def _seal(ctx: Context, cam: int, audio: bool) -> list[Any]:
    """Records and seals the three segments; their index rows (start_us, path)."""
    run_dir = ctx.data.camera_spool(cam) / "run1"
    clock = RunClock()
    for name, a, b in _record(run_dir, audio):
        timing = clock.place(a, b, T0 + int(b * 1e6))
        Sealer(ctx.engine, ctx.data).seal(
            SegmentClosed(cam, "run1", run_dir / name, timing, StreamInfo())
        )
    s = schema.segments
    with ctx.engine.connect() as conn:
        return list(conn.execute(select(s).where(s.c.camera_id == cam).order_by(s.c.seq)).all())


def _keyframe_before(ctx: Context, rows: list[Any], at_us: int) -> tuple[int, int]:
    """The true instants of the keyframe at or before `at_us` and of the frame after it: its
    segment's start plus their times in the recorded file, read by ffprobe. (The frame after
    is not always a frame period later: in a run's first segment the MP4 muxer stretches the
    keyframe over the AAC encoder's priming.)"""
    row = next(r for r in rows if r.start_us <= at_us < r.end_us)
    frames = _frames_us(ctx.data.archive / row.path)
    i = max(i for i, (t, key) in enumerate(frames) if key and row.start_us + t <= at_us)
    return int(row.start_us + frames[i][0]), int(row.start_us + frames[i + 1][0])


@pytest.mark.parametrize("audio", [True, False])
def test_media_says_the_instant_at_its_time_0_from_a_start_in_mid_gop(
    officer: TestClient, ctx: Context, tmp_path: Path, audio: bool
) -> None:
    """Asked from 1 s and 1.3 s into a 2-s GOP, the media starts at that GOP's keyframe: the
    header says that keyframe's instant (less one AAC frame at most: make_zero starts the
    MP4 at the audio frame before it), and the MP4's own time t shows the instant header + t
    (its second frame at that frame's true instant)."""
    rows = _seal(ctx, 1, audio=True)
    first = rows[0].start_us
    for into in (1_000_000, 3_300_000, 5_000_000, 4_000_000):  # 4 s: a keyframe itself
        start = first + into
        truth, after = _keyframe_before(ctx, rows, start)
        params = {"start": iso(start), "end": iso(start + 5_000_000)}
        if not audio:
            params["audio"] = "false"
        res = officer.get("/api/v1/cameras/1/media", params=params)
        assert res.status_code == 200, res.text
        origin = int(res.headers["X-Custodes-Media-Start-Us"])
        slack = AUDIO_FRAME_US + 1_000 if audio else 1_000
        assert truth - slack <= origin <= truth + 1_000, (into, origin - truth)
        clip = tmp_path / f"clip-{into}.mp4"
        clip.write_bytes(res.content)
        video = [float(p["pts_time"]) for p in _packets(clip, "v:0")]
        second = origin + round(video[1] * 1e6)
        assert abs(second - after) <= 2_000, (into, second - after)
        codecs = r"avc1\.[0-9A-F]{6},mp4a\.40\.2" if audio else r"avc1\.[0-9A-F]{6}"
        assert re.fullmatch(codecs, res.headers["X-Custodes-Codecs"]), res.headers


def test_media_of_a_camera_without_sound_names_the_video_codec_alone(
    officer: TestClient, ctx: Context, tmp_path: Path
) -> None:
    rows = _seal(ctx, 2, audio=False)
    start = rows[0].start_us + 2_500_000
    res = officer.get(
        "/api/v1/cameras/2/media", params={"start": iso(start), "end": iso(start + 3_000_000)}
    )
    assert res.status_code == 200, res.text
    assert re.fullmatch(r"avc1\.[0-9A-F]{6}", res.headers["X-Custodes-Codecs"]), res.headers
    origin = int(res.headers["X-Custodes-Media-Start-Us"])
    assert abs(origin - _keyframe_before(ctx, rows, start)[0]) <= 1_000


def _holder_of(ctx: Context, start_us: int, end_us: int) -> TestClient:
    setup = approved_grant(ctx, camera_ids=[1], start_us=start_us, end_us=end_us)
    holder = setup.holders[0]
    c = TestClient(create_app(ctx))
    res = c.post(
        "/api/v1/auth/login", json={"username": holder.username, "password": holder.password}
    )
    assert res.status_code == 200, res.text
    c.headers[CSRF_HEADER] = res.json()["csrf_token"]
    return c


@pytest.mark.parametrize(
    ("grant_into", "asked_into", "begins_into"),
    [
        (1_000_000, 1_000_000, 2_000_000),  # the GOP's keyframe (0 s) lies before the grant
        (3_900_000, 3_900_000, 4_000_000),  # none clear of it in the segment: the next one
        (1_000_000, 3_000_000, 2_000_000),  # asked later: the keyframe before is inside
    ],
)
def test_media_at_a_grants_start_sends_nothing_from_before_it(
    officer: TestClient,
    ctx: Context,
    tmp_path: Path,
    grant_into: int,
    asked_into: int,
    begins_into: int,
) -> None:
    """Stream copy starts at the keyframe at or before the start asked for: from a grant's
    start in mid-GOP that was up to a GOP of footage the grant does not cover (a camera's GOP
    can be 10 s). The media now begins at the first keyframe clear of the grant's start, and
    says so; no frame or sound it sends lies before the grant."""
    rows = _seal(ctx, 1, audio=True)
    first = rows[0].start_us
    grant_start = first + grant_into
    with _holder_of(ctx, grant_start, first + 3 * SEGMENT_S * 1_000_000) as c:
        params = {"start": iso(first + asked_into), "end": iso(first + asked_into + 5_000_000)}
        res = c.get("/api/v1/cameras/1/media", params=params)
    assert res.status_code == 200, res.text
    origin = int(res.headers["X-Custodes-Media-Start-Us"])
    assert origin >= grant_start, (origin - grant_start) / 1e6
    truth, _ = _keyframe_before(ctx, rows, first + begins_into + 100_000)  # its file time
    assert truth - AUDIO_FRAME_US - 1_000 <= origin <= truth + 1_000, (origin - truth) / 1e6
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(res.content)
    video = [float(p["pts_time"]) for p in _packets(clip, "v:0")]
    assert video and origin + round(video[0] * 1e6) >= grant_start


def _sent_until_us(path: Path, stream: str) -> list[tuple[float, float]]:
    """Every packet's presentation time and duration (s) in the MP4 sent."""
    res = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            stream,
            "-show_entries",
            "packet=pts_time,duration_time",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        check=True,
    )
    return [
        (float(p["pts_time"]), float(p.get("duration_time", 0)))
        for p in json.loads(res.stdout)["packets"]
    ]


@pytest.mark.parametrize("end_into", [5_010_000, 6_500_000, 8_000_000, 9_990_000])
def test_media_at_a_grants_end_sends_nothing_from_after_it(
    officer: TestClient, ctx: Context, tmp_path: Path, end_into: int
) -> None:
    """The concat demuxer's outpoint stops at the first packet whose decode time reaches it:
    the audio frame begun just before it (21 ms of sound at 48 kHz, 128 ms at 8 kHz) and, with
    B-frames, a frame shown after it went out past a grant's end. No frame the media sends
    shows an instant after the grant, and no sound it sends goes on past it."""
    rows = _seal(ctx, 1, audio=True)
    first = rows[0].start_us
    grant_end = first + end_into
    with _holder_of(ctx, first, grant_end) as c:
        params = {"start": iso(first + 3_000_000), "end": iso(grant_end)}
        res = c.get("/api/v1/cameras/1/media", params=params)
    assert res.status_code == 200, res.text
    origin = int(res.headers["X-Custodes-Media-Start-Us"])
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(res.content)
    video = _sent_until_us(clip, "v:0")
    sound = _sent_until_us(clip, "a:0")
    assert video and sound
    last_frame = origin + round(max(pts for pts, _ in video) * 1e6)
    assert last_frame <= grant_end, (last_frame - grant_end) / 1e6
    heard_until = origin + round(max(pts + d for pts, d in sound) * 1e6)
    assert heard_until <= grant_end, (heard_until - grant_end) / 1e6
    # and it does not stop short by more than the margin: footage the grant covers is shown
    assert last_frame >= grant_end - 300_000, (last_frame - grant_end) / 1e6


def _views(ctx: Context) -> int:
    lg = schema.ledger
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(lg.c.seq).where(lg.c.action == ledger.MEDIA_VIEWED)).all()
    return len(rows)


def test_media_leaves_out_sound_the_client_cannot_play_in_one_answer(
    officer: TestClient, ctx: Context, tmp_path: Path
) -> None:
    """A browser that cannot play the recorded sound's codec asked for the range twice (the
    second time with audio=false): two views on record for one. Told the codecs it plays,
    /media leaves out sound in any other — one answer, one ledger entry — whose time 0 is
    that of the video alone; sound it plays is kept."""
    rows = _seal(ctx, 1, audio=True)
    start = rows[0].start_us + 3_300_000
    window = {"start": iso(start), "end": iso(start + 4_000_000)}
    before = _views(ctx)
    res = officer.get("/api/v1/cameras/1/media", params={**window, "audio_codecs": "opus,flac"})
    assert res.status_code == 200, res.text
    assert re.fullmatch(r"avc1\.[0-9A-F]{6}", res.headers["X-Custodes-Codecs"]), res.headers
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(res.content)
    assert _packets(clip, "v:0") and not _packets(clip, "a:0")
    assert _views(ctx) == before + 1
    alone = officer.get("/api/v1/cameras/1/media", params={**window, "audio": "false"})
    assert res.headers["X-Custodes-Media-Start-Us"] == alone.headers["X-Custodes-Media-Start-Us"]

    kept = officer.get(
        "/api/v1/cameras/1/media", params={**window, "audio_codecs": "opus,MP4A.40.2"}
    )  # codec strings compared without regard to case (mp4a.6B, fLaC)
    assert re.fullmatch(r"avc1\.[0-9A-F]{6},mp4a\.40\.2", kept.headers["X-Custodes-Codecs"])
    for bad in ("", "mp4a.40.2,", "a b", "x" * 300):
        refused = officer.get("/api/v1/cameras/1/media", params={**window, "audio_codecs": bad})
        assert refused.status_code == 422, (bad, refused.text)


def test_a_viewer_who_leaves_mid_way_leaves_no_concat_list_behind(
    ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recorded player drops a response at every seek. The server (as `serve` runs it)
    then stopped its ffmpeg in a cancelled scope, where the wait raised at once and the
    concat list — the archive paths asked for — stayed behind in the temporary directory,
    one per seek. It goes, and ffmpeg is reaped."""
    lists = tmp_path / "tmp"
    lists.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(lists))  # where the server writes them
    svc.add_camera(ctx, CameraSpec(name="Sound", url="rtsp://h/x", place="p"))
    rows = _seal(ctx, 1, audio=True)
    holder = approved_grant(ctx, camera_ids=[1], start_us=T0, end_us=T0 + 3_600_000_000).holders[0]
    port = free_port()
    server = WebServer(ctx, "127.0.0.1", port, LOOPBACK_PLAIN)
    server.start()
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        with httpx.Client(base_url=base, timeout=30) as c:
            wait_for("the web server", lambda: _up(c), 20, every=0.1)
            res = c.post(
                "/auth/login", json={"username": holder.username, "password": holder.password}
            )
            assert res.status_code == 200, res.text
            params = {"start": iso(rows[0].start_us), "end": iso(rows[-1].end_us)}
            for _ in range(3):
                with c.stream("GET", "/cameras/1/media", params=params) as media:
                    assert media.status_code == 200
                    assert next(media.iter_raw(4096))  # the first bytes, then away
            wait_for("the lists removed", lambda: not list(lists.glob("custodes-clip-*")), 20)
    finally:
        server.stop()


def _up(c: httpx.Client) -> bool:
    try:
        return c.get("/health").status_code == 200
    except httpx.HTTPError:
        return False


def _unread_ffmpeg() -> Any:
    """An ffmpeg writing raw video to a pipe nobody reads, once its pipe and reader are full."""

    async def started() -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(
            "ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi",
            "-i", "testsrc2=size=640x480:rate=25", "-f", "rawvideo", "-",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            stdin=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await asyncio.sleep(1.5)  # 37 frames of 460 KB: far more than both hold
        return proc

    return started


def test_a_clip_stopped_unread_is_reaped() -> None:
    """asyncio's wait() of a killed ffmpeg returns only once its pipe is closed, and a pipe
    whose reader stopped reading is not: /media's kill and wait hung for ever (a client that
    took the sound it cannot play, a viewer gone). `stop_clip` reads what is left first."""

    async def stop() -> None:
        proc = await _unread_ffmpeg()()
        try:
            await asyncio.wait_for(stop_clip(proc), 20)
        finally:
            if proc.returncode is None:
                proc.kill()
                await asyncio.wait_for(proc.communicate(), 20)

    asyncio.run(stop())
