"""One JPEG of what a camera sees now: ffmpeg reads the stream and decodes its first keyframe.

Only keyframes are decoded (`-skip_frame nokey`), so the picture is whole, never the grey
smear of a frame decoded without its reference: it is the newest keyframe, at most one GOP
old. The JPEG is a picture for a person, made at their request; the footage itself is never
re-encoded.
"""

from __future__ import annotations

import subprocess

from custodes.adapters.ffmpeg.command import FFMPEG, rtsp_input
from custodes.adapters.ffmpeg.stderr import redact

JPEG_MAGIC = b"\xff\xd8\xff"
MAX_BYTES = 32 * 2**20  # a 4K JPEG at q 2 is a few MB: more is not a picture


class SnapshotFailed(Exception):
    """The camera gave no picture in time (its reason redacted: no credentials in it)."""


def snapshot_command(url: str, *, io_timeout_s: float) -> list[str]:
    return [
        FFMPEG,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        *rtsp_input(io_timeout_s),
        "-skip_frame",
        "nokey",
        "-i",
        url,
        "-map",
        "0:v:0",
        "-frames:v",
        "1",
        "-q:v",
        "2",
        "-f",
        "image2pipe",
        "-c:v",
        "mjpeg",
        "pipe:1",
    ]


def take_snapshot(url: str, *, timeout_s: float = 10.0) -> bytes:
    """The JPEG, or SnapshotFailed saying why (a camera that does not answer within
    `timeout_s`, a stream with no video, ffmpeg's last error line)."""
    try:
        done = subprocess.run(
            snapshot_command(url, io_timeout_s=timeout_s),
            capture_output=True,
            timeout=timeout_s + 2,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SnapshotFailed(f"no picture within {timeout_s:g} s") from None
    picture = done.stdout
    if done.returncode == 0 and picture.startswith(JPEG_MAGIC) and len(picture) <= MAX_BYTES:
        return picture
    lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
    reason = redact(lines[-1]) if lines else f"ffmpeg exited with {done.returncode}"
    raise SnapshotFailed(reason[:300])
