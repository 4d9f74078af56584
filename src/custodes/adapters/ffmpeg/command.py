"""The ffmpeg command line of one recording run: RTSP over TCP in, stream copy, fMP4 segments."""

from __future__ import annotations

from pathlib import Path

FFMPEG = "ffmpeg"
SEGMENT_PATTERN = "%08d.mp4"
# Fragmented MP4: a fragment at every keyframe, so a segment is playable while it is being
# written and after a crash.
MOVFLAGS = "+frag_keyframe+empty_moov+default_base_moof"
# A fragment at the latest every second as well (cameras with long GOPs, 4-10 s, are common):
# what a kill -9 can lose of an open segment is the fragment being built.
FRAGMENT_US = 1_000_000
# Each fragment goes to the file as soon as it is made (flush_packets): without it the
# segment's writes sit in a 1 MiB buffer, and a low-bitrate segment stays a 28-byte header
# on disk until it closes, so a crash loses all of it.
SEGMENT_FORMAT_OPTIONS = f"movflags={MOVFLAGS}:flush_packets=1:frag_duration={FRAGMENT_US}"


def rtsp_input(io_timeout_s: float) -> list[str]:
    """How every ffmpeg of ours reads a camera: RTSP over TCP, and a socket I/O timeout
    (microseconds) so a silent camera ends the run instead of hanging it."""
    return ["-rtsp_transport", "tcp", "-timeout", str(int(io_timeout_s * 1_000_000))]


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
        *rtsp_input(io_timeout_s),
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
        SEGMENT_FORMAT_OPTIONS,
        "-reset_timestamps",
        "1",
        "-segment_list",
        "pipe:1",
        "-segment_list_type",
        "csv",
        str(run_dir / SEGMENT_PATTERN),
    ]
