from __future__ import annotations

from typing import Any

from custodes.adapters.ffmpeg.stderr import explain_exit, parse_stream_info, redact

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


def test_an_input_that_ends_is_said_so_not_ffmpegs_statistics() -> None:
    """An outage ends ffmpeg with status 0 and its statistics as the last line: that is the
    stream ending, not "ffmpeg exited with status 0: video:1528kB …"."""
    tail = [
        "frame=  250 fps= 25 q=-1.0 Lsize=N/A time=00:00:10.00 bitrate=N/A speed=1x",
        "video:1528kB audio:0kB subtitle:0kB other streams:0kB global headers:0kB",
    ]
    reason = explain_exit(tail, 0)
    assert "stream ended" in reason and "video:1528kB" not in reason
    assert explain_exit(tail, 0, stopped=True) == "stopped"


def test_repeated_ffmpeg_lines_are_collapsed_and_capped() -> None:
    from custodes.adapters.log_limit import LineCollapser

    now = [0.0]
    collapse = LineCollapser(per_minute=5, clock=lambda: now[0])
    written: list[str] = []
    for _ in range(4000):  # what a full disk made ffmpeg print
        written += collapse.feed("av_interleaved_write_frame(): No space left on device")
    written += collapse.feed("another line")
    assert written == [
        "av_interleaved_write_frame(): No space left on device",
        "(last line repeated 3999 more times)",
        "another line",
    ]
    for i in range(10):
        written += collapse.feed(f"line {i}")
    assert len(written) == 5  # the minute's budget
    now[0] = 61.0
    assert collapse.feed("later") == ["(8 lines left out of this log in the last minute)", "later"]


def test_a_repeating_failure_is_logged_once_a_minute_with_its_count(caplog: Any) -> None:
    import logging

    from custodes.adapters.log_limit import LogLimiter

    now = [0.0]
    limiter = LogLimiter(logging.getLogger("t"), every_s=60, clock=lambda: now[0])
    with caplog.at_level(logging.ERROR, logger="t"):
        for _ in range(1000):
            limiter.log(logging.ERROR, "seal", "sealing failed: %s", "disk full")
        now[0] = 61
        limiter.log(logging.ERROR, "seal", "sealing failed: %s", "disk full")
    assert [r.getMessage() for r in caplog.records] == [
        "sealing failed: disk full",
        "sealing failed: disk full (and 999 more like it in the last 60 s)",
    ]


def test_credentials_in_ffmpegs_lines_are_redacted() -> None:
    assert redact("Input #0, rtsp, from 'rtsp://admin:s3cret@10.0.0.1:554/h264':") == (
        "Input #0, rtsp, from 'rtsp://***@10.0.0.1:554/h264':"
    )
    line = "rtsp://admin:p%40ss@cam.local/x: Server returned 5XX Server Error reply"
    assert "p%40ss" not in redact(line) and "admin" not in redact(line)
    assert "p%40ss" not in explain_exit([redact(line)], 1)
    assert redact("rtsp://cam.local/x: ok, mail ops@example.com") == (
        "rtsp://cam.local/x: ok, mail ops@example.com"
    )
