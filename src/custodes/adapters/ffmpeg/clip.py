"""Assemble one MP4 from archived segments by stream copy (the media endpoint's engine).

The concat demuxer reads the segments in order; `inpoint` on the first makes ffmpeg start at
the keyframe at or before the requested start (stream copy cannot start between keyframes),
`outpoint` on the last ends it. The output is fragmented MP4 written to stdout, so a browser
can play it while it downloads. `init_segment` reads the output's ftyp+moov first, so that
the codec string can go in the response's headers.
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from custodes.adapters.ffmpeg.command import FFMPEG
from custodes.adapters.ffmpeg.fmp4 import FragmentSplitter, codec_string


@dataclass(frozen=True)
class Piece:
    path: Path
    start_us: int
    end_us: int


def concat_list(pieces: list[Piece], start_us: int, end_us: int) -> str:
    lines = ["ffconcat version 1.0"]
    for i, p in enumerate(pieces):
        escaped = str(p.path).replace("'", "'\\''")
        lines.append(f"file '{escaped}'")
        if i == 0 and start_us > p.start_us:
            lines.append(f"inpoint {(start_us - p.start_us) / 1e6:.6f}")
        if i == len(pieces) - 1 and end_us < p.end_us:
            lines.append(f"outpoint {(end_us - p.start_us) / 1e6:.6f}")
    return "\n".join(lines) + "\n"


def write_concat_list(pieces: list[Piece], start_us: int, end_us: int) -> Path:
    """A temporary concat list; the caller deletes it when ffmpeg has finished."""
    with tempfile.NamedTemporaryFile(
        "w", suffix=".ffconcat", prefix="custodes-clip-", delete=False, encoding="utf-8"
    ) as f:
        f.write(concat_list(pieces, start_us, end_us))
        return Path(f.name)


def clip_command(list_file: Path, audio: bool = True) -> list[str]:
    """Without `audio` the MP4 holds the video track alone: a player that appends it to one
    Media Source Extensions buffer of the video codec (static/recorded-player.js) needs that."""
    return [
        FFMPEG,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        str(list_file),
        "-map",
        "0:v:0",
        *(["-map", "0:a?"] if audio else []),
        "-c",
        "copy",
        "-avoid_negative_ts",
        "make_zero",
        "-movflags",
        "+frag_keyframe+empty_moov+default_base_moof",
        "-f",
        "mp4",
        "pipe:1",
    ]


async def init_segment(read: Callable[[], Awaitable[bytes]]) -> tuple[bytes, str | None]:
    """Reads the start of a fragmented MP4 up to its init segment (ftyp+moov): the bytes read
    (to be sent on unchanged) and the video track's RFC 6381 codec string, or None when the
    output ends, or is not MP4, before a whole moov."""
    read_so_far = bytearray()
    splitter = FragmentSplitter()
    while splitter.init is None:
        chunk = await read()
        if not chunk:
            return bytes(read_so_far), None
        read_so_far += chunk
        try:
            splitter.feed(chunk)
        except ValueError:
            return bytes(read_so_far), None
    return bytes(read_so_far), codec_string(splitter.init)
