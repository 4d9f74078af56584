"""ffprobe of a file, used off the recording path (reconciliation after a crash)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

FFPROBE = "ffprobe"


@dataclass(frozen=True)
class FileProbe:
    duration_s: float
    video_codec: str | None
    width: int | None
    height: int | None
    audio_codec: str | None


def probe_file(path: Path, timeout_s: float = 30.0) -> FileProbe | None:
    """None when ffprobe cannot read a video stream with a positive duration from the file."""
    try:
        out = subprocess.run(
            [
                FFPROBE,
                "-v",
                "error",
                "-show_entries",
                "format=duration:stream=codec_type,codec_name,width,height",
                "-of",
                "json",
                str(path),
            ],
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    if out.returncode != 0:
        return None
    data = json.loads(out.stdout or b"{}")
    streams = data.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    try:
        duration = float(data.get("format", {}).get("duration", 0))
    except (TypeError, ValueError):
        duration = 0.0
    if video is None or duration <= 0:
        return None
    return FileProbe(
        duration,
        video.get("codec_name"),
        video.get("width"),
        video.get("height"),
        audio.get("codec_name") if audio else None,
    )


def count_video_frames(path: Path, timeout_s: float = 5.0) -> int | None:
    """The number of video frames (packets) in the file, read by ffprobe; None when it cannot
    count them (no file, no video stream, a timeout)."""
    try:
        out = subprocess.run(
            [
                FFPROBE,
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-count_packets",
                "-show_entries",
                "stream=nb_read_packets",
                "-of",
                "json",
                str(path),
            ],
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except (subprocess.TimeoutExpired, OSError):
        return None
    if out.returncode != 0:
        return None
    try:
        streams = json.loads(out.stdout or b"{}").get("streams", [])
        return int(streams[0]["nb_read_packets"])
    except (ValueError, LookupError, TypeError, AttributeError):
        return None
