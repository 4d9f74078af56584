"""Real media for tests: ffmpeg-made fMP4 segments, and ffprobe reads of them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from custodes.adapters.ffmpeg.command import SEGMENT_FORMAT_OPTIONS


def make_segments(
    run_dir: Path, count: int = 3, seconds: int = 2
) -> list[tuple[str, float, float]]:
    """ffmpeg segments `count` × `seconds` of 320x240 H.264 into run_dir; returns its CSV list."""
    run_dir.mkdir(parents=True, exist_ok=True)
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
            f"testsrc2=size=320x240:rate=25:duration={count * seconds}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "25",
            "-bf",
            "0",
            "-f",
            "segment",
            "-segment_time",
            str(seconds),
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
        name, start, end = line.split(",")
        out.append((name, float(start), float(end)))
    return out


def ffprobe_duration(path: Path) -> float:
    res = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        capture_output=True,
        check=True,
    )
    return float(json.loads(res.stdout)["format"]["duration"])
