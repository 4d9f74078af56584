"""Simulated cameras: real clips, a real RTSP server, real ffmpeg/ffprobe clients."""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from custodes.adapters.simulator import clips
from custodes.adapters.simulator.clips import (
    SimulatorError,
    ensure_aac,
    ensure_audio,
    ensure_clip,
)
from custodes.adapters.simulator.process import Mount, Simulator, free_port

RTSP = ["-rtsp_transport", "tcp"]


def _ffprobe(*args: str, timeout: float = 20) -> dict[str, Any]:
    proc = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def _streams(url: str) -> list[dict[str, Any]]:
    data = _ffprobe(
        *RTSP,
        "-show_entries",
        "stream=codec_type,codec_name,profile,width,height,r_frame_rate,sample_rate,channels",
        url,
    )
    streams: list[dict[str, Any]] = data["streams"]
    return streams


def _packets(path: Path, stream: str) -> list[dict[str, Any]]:
    data = _ffprobe("-select_streams", stream, "-show_entries", "packet=pts,pts_time", str(path))
    packets: list[dict[str, Any]] = data["packets"]
    return packets


def _record_cmd(url: str, seconds: float, out: Path) -> list[str]:
    return [
        "ffmpeg",
        "-nostdin",
        "-v",
        "error",
        *RTSP,
        "-i",
        url,
        "-t",
        str(seconds),
        "-c",
        "copy",
        "-y",
        str(out),
    ]


@pytest.fixture(scope="module")
def sim(clip_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    h264 = ensure_clip(clip_dir, "cam1")
    h265 = ensure_clip(clip_dir, "hevc", codec="h265")  # test_bad_input's: encoded once
    audio = ensure_audio(clip_dir)
    mounts = [
        Mount("cam1", h264),
        Mount("cam2", h265, codec="h265"),
        Mount("cam3", h264, audio=audio),
        Mount("cam4", h264, audio=ensure_aac(clip_dir)),
    ]
    log = tmp_path_factory.mktemp("log") / "rtsp.log"
    with Simulator(mounts, free_port(), log_path=log) as simulator:
        yield simulator


def test_clip_is_raw_h264_with_fixed_gop_and_no_b_frames(tmp_path: Path) -> None:
    clip = ensure_clip(tmp_path, "大门 it's a:b,c", seconds=4)
    assert clip.suffix == ".h264"
    assert clip.read_bytes()[:4] == b"\x00\x00\x00\x01"  # Annex-B start code
    mtime = clip.stat().st_mtime_ns
    assert ensure_clip(tmp_path, "大门 it's a:b,c", seconds=4) == clip  # cached
    assert clip.stat().st_mtime_ns == mtime
    data = _ffprobe(
        "-show_entries",
        "stream=codec_name,width,height,has_b_frames:frame=key_frame,pict_type",
        str(clip),
    )
    (stream,) = data["streams"]
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", 1920, 1080)
    assert stream["has_b_frames"] == 0
    frames = data["frames"]
    assert len(frames) == 100
    assert [i for i, f in enumerate(frames) if f["key_frame"] == 1] == [0, 50]
    assert {f["pict_type"] for f in frames} == {"I", "P"}
    assert not list(tmp_path.glob(".*.tmp"))


def test_resolution_change_clip_switches_to_720p_at_a_keyframe(clip_dir: Path) -> None:
    clip = ensure_clip(clip_dir, "resize", resolution_change=True)  # test_bad_input's
    frames = _ffprobe("-show_entries", "frame=width,height,key_frame", str(clip))["frames"]
    sizes = [(f["width"], f["height"]) for f in frames]
    assert sizes == [(1920, 1080)] * 50 + [(1280, 720)] * 50
    assert frames[50]["key_frame"] == 1


def test_ffmpeg_failure_raises_simulator_error_with_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clips, "PRESET", "no-such-preset")
    with pytest.raises(SimulatorError, match=r"(?s)ffmpeg failed.*no-such-preset"):
        ensure_clip(tmp_path, "bad", seconds=1)
    assert list(tmp_path.iterdir()) == []  # neither a clip nor a temporary file is left


def test_audio_is_raw_alaw_same_length_as_clip(tmp_path: Path) -> None:
    audio = ensure_audio(tmp_path, seconds=4)
    assert audio.stat().st_size == 4 * 8000  # one byte per sample, 8 kHz mono


def test_stream_is_1080p_h264_at_25fps(sim: Simulator) -> None:
    (video,) = _streams(sim.url("cam1"))
    assert video["codec_name"] == "h264"
    assert (video["width"], video["height"]) == (1920, 1080)
    assert video["r_frame_rate"] == "25/1"


@pytest.mark.slow
def test_recording_runs_in_real_time_with_increasing_timestamps(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "out.mp4"
    started = time.monotonic()
    proc = subprocess.run(
        _record_cmd(sim.url("cam1"), 6, out), capture_output=True, text=True, timeout=20
    )
    wall = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert 5.0 <= wall <= 9.0, f"recording 6 s took {wall:.2f} s of wall time"

    fmt = _ffprobe("-show_entries", "format=duration", str(out))["format"]
    assert abs(float(fmt["duration"]) - 6.0) <= 0.5

    packets = _packets(out, "v")
    pts = [int(p["pts"]) for p in packets]
    assert 140 <= len(pts) <= 160  # 25 fps
    bad = [(a, b) for a, b in itertools.pairwise(pts) if b <= a]
    assert not bad, f"non-increasing PTS: {bad[:5]}"
    times = [float(p["pts_time"]) for p in packets]
    # times[0] is ffmpeg's guess for the first access unit, which arrives without a PTS.
    mean_step = (times[-1] - times[1]) / (len(times) - 2)
    assert mean_step == pytest.approx(0.04, abs=0.002)


@pytest.mark.slow
def test_two_clients_at_once_both_get_video(sim: Simulator, tmp_path: Path) -> None:
    # A client that joins a shared mount mid-GOP gets nothing recordable until the next
    # keyframe (up to 2 s), so record 4 s and expect at least ~2 s of 25 fps video.
    outs = [tmp_path / "a.mkv", tmp_path / "b.mkv"]
    procs = [
        subprocess.Popen(
            _record_cmd(sim.url("cam1"), 4, out),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for out in outs
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
    for out in outs:
        times = [float(p["pts_time"]) for p in _packets(out, "v")]
        assert 45 <= len(times) <= 110, f"{out.name}: {len(times)} video packets"
        # ffmpeg's RTSP demuxer hands over the very first access unit without a PTS and
        # stream copy then gives it (almost) the same time as the second: skip it.
        assert all(b > a for a, b in itertools.pairwise(times[1:]))
        mean_step = (times[-1] - times[1]) / (len(times) - 2)
        assert mean_step == pytest.approx(0.04, abs=0.002)


def test_h265_mount(sim: Simulator) -> None:
    (video,) = _streams(sim.url("cam2"))
    assert video["codec_name"] == "hevc"
    assert (video["width"], video["height"]) == (1920, 1080)
    assert video["r_frame_rate"] == "25/1"


def test_alaw_mount_has_audio_and_video_advancing_together(sim: Simulator, tmp_path: Path) -> None:
    streams = _streams(sim.url("cam3"))
    kinds = {s["codec_type"]: s for s in streams}
    assert set(kinds) == {"video", "audio"}
    assert kinds["video"]["codec_name"] == "h264"
    assert kinds["audio"]["codec_name"] == "pcm_alaw"
    assert kinds["audio"]["sample_rate"] == "8000"
    assert kinds["audio"]["channels"] == 1

    out = tmp_path / "av.mkv"  # mp4 cannot hold pcm_alaw in Debian's ffmpeg 5.1
    proc = subprocess.run(
        _record_cmd(sim.url("cam3"), 4, out), capture_output=True, text=True, timeout=20
    )
    assert proc.returncode == 0, proc.stderr
    video = [float(p["pts_time"]) for p in _packets(out, "v")]
    audio = [float(p["pts_time"]) for p in _packets(out, "a")]
    assert len(audio) >= 150  # 20 ms packets
    assert all(b > a for a, b in itertools.pairwise(audio))
    assert video[-1] == pytest.approx(4.0, abs=0.5)
    assert audio[-1] == pytest.approx(video[-1], abs=0.3)


def test_aac_mount_sends_aac_that_advances_with_the_video(sim: Simulator, tmp_path: Path) -> None:
    """AAC-LC as RFC 3640 (what cameras that send AAC use), which the recorder keeps in MP4."""
    kinds = {s["codec_type"]: s for s in _streams(sim.url("cam4"))}
    assert set(kinds) == {"video", "audio"}
    assert kinds["audio"]["codec_name"] == "aac" and kinds["audio"]["profile"] == "LC"
    assert (kinds["audio"]["sample_rate"], kinds["audio"]["channels"]) == ("48000", 1)
    out = tmp_path / "av.mp4"
    proc = subprocess.run(
        _record_cmd(sim.url("cam4"), 4, out), capture_output=True, text=True, timeout=20
    )
    assert proc.returncode == 0, proc.stderr
    video = [float(p["pts_time"]) for p in _packets(out, "v")]
    audio = [float(p["pts_time"]) for p in _packets(out, "a")]
    assert len(audio) >= 150  # 1024 samples, 21.3 ms, a packet
    assert all(b > a for a, b in itertools.pairwise(audio))
    assert audio[-1] == pytest.approx(video[-1], abs=0.3)


def test_aac_tone_is_whole_frames(tmp_path: Path) -> None:
    tone = ensure_aac(tmp_path)
    assert ensure_aac(tmp_path) == tone  # cached
    data = _ffprobe("-count_frames", "-show_entries", "stream=codec_name,nb_read_frames", str(tone))
    assert data["streams"] == [{"codec_name": "aac", "nb_read_frames": "375"}]


def test_stop_leaves_no_process(tmp_path: Path) -> None:
    clip = ensure_clip(tmp_path, "stop", width=320, height=240, seconds=2)
    port = free_port()
    simulator = Simulator([Mount("one", clip)], port)
    simulator.start()
    pid = simulator.pid
    assert pid is not None
    os.kill(pid, 0)  # running
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    (video,) = _streams(simulator.url("one"))
    assert (video["width"], video["height"]) == (320, 240)

    assert simulator.poll() is None
    simulator.stop()
    assert simulator.pid is None
    assert simulator.poll() == 0  # clean exit on SIGTERM
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # nothing left in its process group either
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_auth_requires_the_right_credentials(tmp_path: Path) -> None:
    clip = ensure_clip(tmp_path, "auth", width=320, height=240, seconds=2)
    with Simulator([Mount("one", clip)], free_port(), auth=("viewer", "s3cret")) as simulator:
        hostpath = simulator.url("one").removeprefix("rtsp://")
        (video,) = _streams(f"rtsp://viewer:s3cret@{hostpath}")
        assert video["codec_name"] == "h264"
        for url in (f"rtsp://viewer:wrong@{hostpath}", f"rtsp://{hostpath}"):
            proc = subprocess.run(
                ["ffprobe", "-v", "error", *RTSP, url],
                capture_output=True,
                text=True,
                timeout=20,
                check=False,
            )
            assert proc.returncode != 0
            assert "401" in proc.stderr


def test_start_failure_raises_with_log_tail(tmp_path: Path) -> None:
    missing = tmp_path / "missing.h264"
    simulator = Simulator([Mount("gone", missing)], free_port())
    with pytest.raises(SimulatorError, match=r"missing\.h264"):
        simulator.start(timeout=10)
    assert simulator.pid is None
