"""Live view: fMP4 over a WebSocket and HLS, one ffmpeg per watched stream shared by both."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from custodes.adapters.db import schema
from custodes.adapters.ffmpeg.fmp4 import (
    FragmentSplitter,
    decode_time,
    first_sample_is_sync,
    video_timescale,
)
from custodes.adapters.live.hub import GOP_FRAGMENTS, LiveStream, Viewer
from custodes.adapters.simulator.clips import ensure_clip
from custodes.adapters.simulator.process import Mount, Simulator
from custodes.domain.camera import CameraSpec
from custodes.domain.roles import Role
from custodes.entrypoints.web.app import create_app
from custodes.services import cameras as svc
from custodes.services import ledger
from custodes.services.context import Context

from .conftest import free_port
from .grant_setup import organisation, person
from .media import nal_units
from .recording import wait_for
from .test_api import PASSWORD, _set_password

pytestmark = pytest.mark.slow


@pytest.fixture
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    clips = tmp_path_factory.getbasetemp() / "live-clips"
    with Simulator([Mount("cam1", ensure_clip(clips, "cam1"))], free_port()) as s:
        yield s


def _client(ctx: Context) -> TestClient:
    _set_password(ctx, PASSWORD)
    return TestClient(create_app(ctx, live_linger_s=0.5))


def _probe(path: Path) -> str:
    """codec,width,height,frames of the file's video, as ffprobe counts them."""
    return subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            "stream=codec_name,width,height,nb_read_frames",
            "-of",
            "csv=p=0",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _ffmpeg_live_pids() -> list[str]:
    """This test process's live ffmpegs: another run on the machine has its own."""
    out = subprocess.run(
        ["pgrep", "-P", str(os.getpid()), "-f", "frag_every_frame"], capture_output=True, text=True
    )
    return out.stdout.split()


def test_live_socket_sends_codec_init_and_keyframe_first_fragments(
    ctx: Context, sim: Simulator, tmp_path: Path
) -> None:
    cam = svc.add_camera(ctx, CameraSpec(name="c", url=sim.url("cam1"), place="p")).id
    with _client(ctx) as client:
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect(f"/api/v1/cameras/{cam}/live") as ws,
        ):
            ws.receive_json()
        assert refused.value.code == 4401
        client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        with (
            client.websocket_connect(f"/api/v1/cameras/{cam}/live") as a,
            client.websocket_connect(
                f"/api/v1/cameras/{cam}/live?stream=sub"  # no sub stream: the main one
            ) as b,
        ):
            started = time.monotonic()
            header = a.receive_json()
            assert header["mime"].startswith('video/mp4; codecs="avc1.64')
            init = a.receive_bytes()
            assert init[4:8] == b"ftyp"
            fragments = [a.receive_bytes() for _ in range(60)]  # ~2.4 s at 25 fps
            elapsed = time.monotonic() - started
            assert b.receive_json() == header
            assert b.receive_bytes() == init
            assert first_sample_is_sync(b.receive_bytes())
        assert first_sample_is_sync(fragments[0])
        assert sum(first_sample_is_sync(f) for f in fragments) >= 1
        assert elapsed < 10
        # the bytes are a playable MP4 of 1080p H.264, one frame per fragment
        out = tmp_path / "live.mp4"
        out.write_bytes(init + b"".join(fragments))
        assert _probe(out) == "h264,1920,1080,60"
        with (
            pytest.raises(WebSocketDisconnect) as unknown,
            client.websocket_connect("/api/v1/cameras/999/live") as ws,
        ):
            ws.receive_json()
        assert unknown.value.code == 4404
        # past the linger (0.5 s): the shared ffmpeg is gone
        wait_for("the shared ffmpeg to stop", lambda: _ffmpeg_live_pids() == [], 2)


def _keyframes(clip: Path) -> list[bytes]:
    """The IDR slices of a raw H.264 clip (Annex B), in order, each its first 1000 bytes."""
    return [n[:1000] for n in nal_units(clip.read_bytes()) if n[0] & 0x1F == 5]


def test_a_cold_stream_starts_at_the_first_keyframe_the_camera_sends(
    ctx: Context, sim: Simulator, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """ffmpeg reads the camera's first frames to learn the stream, then starts its output.
    With `-fflags nobuffer` it threw what it had read away, the first keyframe with it, so
    the first viewer of a camera waited a whole GOP more for the next one (measured on the
    simulator, GOP 2 s: the first fragment came 2.15 s after ffmpeg started, 0.4 s now). The
    simulated camera starts its first session at its clip's first keyframe, so the first
    fragment carries that keyframe, not the next GOP's."""
    keys = _keyframes(ensure_clip(tmp_path_factory.getbasetemp() / "live-clips", "cam1"))
    assert len(keys) >= 2, "the clip has a second GOP to tell the first from"
    first_key, second_key = keys[:2]
    cam = svc.add_camera(ctx, CameraSpec(name="c", url=sim.url("cam1"), place="p")).id
    with _client(ctx) as client:
        client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        with client.websocket_connect(f"/api/v1/cameras/{cam}/live") as ws:
            ws.receive_json()
            ws.receive_bytes()  # the codec's init segment
            first = ws.receive_bytes()
    assert first_sample_is_sync(first)
    assert second_key not in first
    assert first_key in first


def test_hls_fallback_shares_the_stream_and_plays(
    ctx: Context, sim: Simulator, tmp_path: Path
) -> None:
    cam = svc.add_camera(ctx, CameraSpec(name="c", url=sim.url("cam1"), place="p")).id
    base = f"/api/v1/cameras/{cam}/hls/main"
    _set_password(ctx, PASSWORD)
    # a linger long enough for ffprobe below on a loaded machine; a stream stopped early would
    # be restarted by the next playlist request, not by a segment request
    with TestClient(create_app(ctx, live_linger_s=3.0)) as client:
        client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        with client.websocket_connect(f"/api/v1/cameras/{cam}/live") as ws:
            ws.receive_json()
            res = client.get(f"{base}/index.m3u8")  # waits for three segments
            assert len(_ffmpeg_live_pids()) == 1  # one camera connection for both transports
        assert res.status_code == 200, res.text
        assert res.headers["content-type"] == "application/vnd.apple.mpegurl"
        assert res.headers["cache-control"] == "no-store"
        playlist = res.text
        assert '#EXT-X-MAP:URI="init.mp4"' in playlist
        segments = [line for line in playlist.splitlines() if line.endswith(".m4s")]
        assert len(segments) >= 3
        init = client.get(f"{base}/init.mp4")
        first = client.get(f"{base}/{segments[0]}")
        assert init.status_code == first.status_code == 200
        assert first.headers["content-type"] == "video/iso.segment"
        out = tmp_path / "hls.mp4"
        out.write_bytes(init.content + first.content)
        assert _probe(out) == "h264,1920,1080,50"  # one GOP: 2 s at 25 fps
        assert client.get(f"{base}/secrets.txt").status_code == 404
        assert client.get(f"{base}/seg999999.m4s").status_code == 404
        assert client.get(f"/api/v1/cameras/{cam}/hls/other/index.m3u8").status_code == 422
        assert client.get("/api/v1/cameras/999/hls/main/index.m3u8").status_code == 404
        live = client.app.state.live  # type: ignore[attr-defined]
        (stream,) = live.streams().values()
        assert stream.hls_dir.is_dir()
        # no HLS request and no viewer past the linger (3 s): stopped, cleaned up
        wait_for(
            "the stream to stop and its HLS directory to go",
            lambda: _ffmpeg_live_pids() == [] and not stream.hls_dir.exists(),
            4.5,
        )
        # a segment of a stream that is not running does not start one
        assert client.get(f"{base}/{segments[-1]}").status_code == 404
        assert _ffmpeg_live_pids() == [] and live.streams() == {}


def test_unreachable_camera_closes_with_a_reason(ctx: Context) -> None:
    cam = svc.add_camera(
        ctx, CameraSpec(name="gone", url=f"rtsp://127.0.0.1:{free_port()}/x", place="p")
    ).id
    with _client(ctx) as client:
        client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        with (
            client.websocket_connect(f"/api/v1/cameras/{cam}/live") as ws,
            pytest.raises(WebSocketDisconnect) as closed,
        ):
            ws.receive_json()
    assert closed.value.code == 4503
    assert "refused" in closed.value.reason.lower()
    with _client(ctx) as client:
        client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        res = client.get(f"/api/v1/cameras/{cam}/hls/main/index.m3u8")
    assert res.status_code == 503 and "refused" in res.text.lower()


def test_splitter_handles_arbitrary_chunking(tmp_path: Path) -> None:
    out = tmp_path / "f.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=2",
            "-c:v",
            "libx264",
            "-g",
            "25",
            "-bf",
            "0",
            "-movflags",
            "frag_every_frame+empty_moov+default_base_moof",
            "-f",
            "mp4",
            str(out),
        ],
        check=True,
    )
    data = out.read_bytes()
    splitter = FragmentSplitter()
    fragments = []
    for i in range(0, len(data), 777):
        fragments += splitter.feed(data[i : i + 777])
    assert splitter.init is not None and len(fragments) == 50
    assert [f.keyframe for f in fragments].count(True) == 2
    assert fragments[0].keyframe and fragments[25].keyframe
    scale = video_timescale(splitter.init)
    assert scale is not None
    times = [decode_time(f.data) for f in fragments]
    assert times[0] == 0 and all(t is not None for t in times)
    assert {b - a for a, b in itertools.pairwise(times)} == {scale // 25}  # type: ignore[operator]


def test_hls_directories_of_dead_servers_are_removed(tmp_path: Path) -> None:
    from custodes.adapters.live.hub import HLS_DIR_PREFIX, LiveHub

    dead = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)  # that shell has exited
    orphan = tmp_path / f"{HLS_DIR_PREFIX}{dead_pid}-abc"
    orphan.mkdir()
    (orphan / "seg1.m4s").write_bytes(b"x")
    mine = tmp_path / f"{HLS_DIR_PREFIX}{os.getpid()}-def"
    mine.mkdir()
    other = tmp_path / "unrelated"
    other.mkdir()
    LiveHub(hls_root=tmp_path)
    assert not orphan.exists() and mine.exists() and other.exists()


def test_a_snapshot_is_a_whole_picture_in_the_ledger_and_only_for_those_who_may_watch(
    ctx: Context, sim: Simulator, tmp_path: Path
) -> None:
    cam = svc.add_camera(ctx, CameraSpec(name="c", url=sim.url("cam1"), place="p")).id
    gone = svc.add_camera(
        ctx,
        CameraSpec(name="gone", url=f"rtsp://u:Snap-Secret-1@127.0.0.1:{free_port()}/x", place="p"),
    ).id
    officer = person(ctx, Role.EXTERNAL_OFFICER, organisation(ctx, "PSB", "public-security"))
    with _client(ctx) as client:
        client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        res = client.get(f"/api/v1/cameras/{cam}/snapshot")
        assert res.status_code == 200, res.text
        assert res.headers["content-type"] == "image/jpeg"
        assert res.headers["cache-control"] == "no-store"
        assert res.headers["content-disposition"].startswith(f'attachment; filename="camera-{cam}-')
        picture = tmp_path / "snap.jpg"
        picture.write_bytes(res.content)
        assert _probe(picture).startswith("mjpeg,"), _probe(picture)  # decodes as a JPEG
        failed = client.get(f"/api/v1/cameras/{gone}/snapshot")
        assert failed.status_code == 503 and "refused" in failed.text.lower(), failed.text
        assert "Snap-Secret-1" not in failed.text
    with _client(ctx) as client:
        res = client.post(
            "/api/v1/auth/login", json={"username": officer.username, "password": officer.password}
        )
        assert res.status_code == 200, res.text
        assert client.get(f"/api/v1/cameras/{cam}/snapshot").status_code == 403
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(schema.ledger).where(schema.ledger.c.action == ledger.SNAPSHOT_TAKEN)
        ).all()
    assert len(rows) == 1  # the refused and the failed ones took no picture
    details = json.loads(rows[0].details)
    assert details["sha256"] == hashlib.sha256(picture.read_bytes()).hexdigest()
    assert rows[0].object == f"camera:{cam}" and rows[0].actor.endswith("admin")


def test_a_viewer_joining_a_running_stream_starts_at_once_from_the_current_keyframe(
    tmp_path: Path,
) -> None:
    """The hub keeps the GOP since the newest keyframe: a joiner gets it at once (no wait of up
    to a GOP for the next keyframe), in order, nothing missed or twice; a GOP too long to keep
    leaves the joiner waiting for the next keyframe, as before."""
    stream = LiveStream("1:main", "rtsp://u:p@h/x", tmp_path)
    stream._fan_out(b"p-before", False)  # before any keyframe: nothing to start from
    early = Viewer()
    stream.join(early)
    assert not early.synced and early.queue.empty()
    stream._fan_out(b"key-1", True)
    stream._fan_out(b"p-1", False)
    stream._fan_out(b"p-2", False)
    viewer = Viewer()
    stream.viewers.add(viewer)
    stream.join(viewer)
    stream._fan_out(b"p-3", False)
    got = [viewer.queue.get_nowait() for _ in range(viewer.queue.qsize())]
    assert got == [b"key-1", b"p-1", b"p-2", b"p-3"]
    stream._fan_out(b"key-2", True)  # a new GOP replaces the old one
    for i in range(GOP_FRAGMENTS + 1):
        stream._fan_out(f"p-{i}".encode(), False)
    late = Viewer()
    stream.join(late)
    assert not late.synced and late.queue.empty()  # too long a GOP is not replayed
    stream.viewers.add(late)
    stream._fan_out(b"key-3", True)
    assert late.queue.get_nowait() == b"key-3"
