"""The ffmpeg command line of one recording run: RTSP over TCP in, stream copy, fMP4 segments."""

from __future__ import annotations

from pathlib import Path

FFMPEG = "ffmpeg"
SEGMENT_PATTERN = "%08d.mp4"
# Fragmented MP4: every fragment starts at a keyframe, so a segment is playable while it is
# being written and after a crash, and fragments can be fanned out live.
MOVFLAGS = "+frag_keyframe+empty_moov+default_base_moof"


def record_command(
    url: str,
    run_dir: Path,
    *,
    segment_seconds: float,
    keep_audio: bool = True,
    io_timeout_s: float = 10.0,
) -> list[str]:
    """ffmpeg argv. Closed segments are listed on stdout as `name,media_start,media_end`."""
    audio = ["-map", "0:a?"] if keep_audio else ["-an"]
    return [
        FFMPEG,
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-loglevel",
        "info",
        "-rtsp_transport",
        "tcp",
        # Socket I/O timeout (microseconds): a silent camera ends the run instead of hanging.
        "-timeout",
        str(int(io_timeout_s * 1_000_000)),
        "-fflags",
        "+genpts",
        "-i",
        url,
        "-map",
        "0:v:0",
        *audio,
        "-c",
        "copy",
        "-f",
        "segment",
        "-segment_time",
        f"{segment_seconds:g}",
        "-segment_format",
        "mp4",
        "-segment_format_options",
        f"movflags={MOVFLAGS}",
        "-reset_timestamps",
        "1",
        "-segment_list",
        "pipe:1",
        "-segment_list_type",
        "csv",
        str(run_dir / SEGMENT_PATTERN),
    ]
