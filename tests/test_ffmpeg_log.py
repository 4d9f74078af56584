from __future__ import annotations

from custodes.adapters.ffmpeg.stderr import explain_exit, parse_stream_info

HEADER = """Input #0, rtsp, from 'rtsp://127.0.0.1:8554/cam1':
  Metadata:
    title           : Session streamed with GStreamer
  Duration: N/A, start: 0.040000, bitrate: N/A
  Stream #0:0: Video: h264 (High), yuv420p(progressive), 1920x1080, 25 fps, 25 tbr, 90k tbn
  Stream #0:1: Audio: pcm_alaw, 8000 Hz, mono, s16, 64 kb/s
Output #0, segment, to '/x/%08d.mp4':
  Stream #0:0: Video: h264 (High), yuv420p(progressive), 640x480
""".splitlines()


def test_stream_info_comes_from_the_input_only() -> None:
    info = parse_stream_info(HEADER)
    assert (info.video_codec, info.width, info.height, info.audio_codec) == (
        "h264",
        1920,
        1080,
        "pcm_alaw",
    )


def test_exit_reasons_are_plain() -> None:
    assert "credentials" in explain_exit(
        ["[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized"], 1
    )
    assert "refused" in explain_exit(
        ["Connection to tcp://127.0.0.1:1 failed: Connection refused"], 1
    )
    assert "disk full" in explain_exit(["Error writing trailer: No space left on device"], 1)
    assert explain_exit(["something odd"], 3) == "ffmpeg exited with status 3: something odd"
