"""Real media for tests: ffmpeg-made fMP4 segments, and ffprobe reads of them."""

from __future__ import annotations

import atexit
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from custodes.adapters.ffmpeg.command import SEGMENT_FORMAT_OPTIONS

Listing = list[tuple[str, float, float]]
# (count, seconds) -> the directory ffmpeg wrote them into, and its segment list
_ENCODED: dict[tuple[int, int], tuple[Path, Listing]] = {}


def make_segments(run_dir: Path, count: int = 3, seconds: int = 2) -> Listing:
    """ffmpeg segments `count` × `seconds` of 320x240 H.264 into run_dir; returns its CSV list.

    The encoding is the same bytes every time (testsrc2 and x264 are deterministic): ffmpeg
    runs once per (count, seconds) in the session, and each call gets its own copies of the
    files it wrote (hundreds of tests seal, edit and delete them)."""
    if (count, seconds) not in _ENCODED:
        encoded = Path(tempfile.mkdtemp(prefix="custodes-segments-"))
        atexit.register(shutil.rmtree, encoded, ignore_errors=True)
        _ENCODED[count, seconds] = (encoded, _encode(encoded, count, seconds))
    encoded, listing = _ENCODED[count, seconds]
    run_dir.mkdir(parents=True, exist_ok=True)
    for name, _, _ in listing:
        shutil.copyfile(encoded / name, run_dir / name)
    return list(listing)


def _encode(run_dir: Path, count: int, seconds: int) -> Listing:
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


def nal_units(raw: bytes) -> list[bytes]:
    """The NAL units of a raw Annex-B H.264/H.265 stream, each as it stands after its start
    code (one that was 4 bytes long leaves a zero on the unit before it)."""
    return [n for n in raw.split(b"\x00\x00\x01") if n]


def ffprobe_duration(path: Path) -> float:
    res = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        capture_output=True,
        check=True,
    )
    return float(json.loads(res.stdout)["format"]["duration"])
