"""Assemble one MP4 from archived segments by stream copy (the media endpoint's engine).

The concat demuxer reads the segments in order; `inpoint` on the first makes ffmpeg start at
the keyframe at or before the requested start (stream copy cannot start between keyframes),
`outpoint` on the last ends it. The output is fragmented MP4 written to stdout, so a browser
can play it while it downloads. `init_segment` reads the output's ftyp+moov first, so that
the codec strings can go in the response's headers.

Where the output's time 0 lies (`media_origin`): the seek goes to the keyframe at or before
the inpoint, so the output starts up to a GOP before the requested start, and
`-avoid_negative_ts make_zero` moves the earliest packet of any stream (the audio frame at or
before that keyframe, when audio is kept) to 0. ffprobe reads the same list the same way
(same demuxer, same seek), so the first packets' decode times it reports, relative to the
inpoint, say exactly how far before the requested start time 0 lies. Measured on recorded
segments with a 2 s GOP and AAC audio: inpoint 3.3 s gives video from -1.300 s and audio from
-1.305 s; the MP4 muxer then puts the keyframe at 0 and the next frame at 0.045 s, so time t
of the output shows the instant inpoint - 1.305 + t (to within the first frame).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from custodes.adapters.ffmpeg.command import FFMPEG
from custodes.adapters.ffmpeg.fmp4 import FragmentSplitter, audio_codec_string, codec_string
from custodes.adapters.ffmpeg.probe import FFPROBE

# How much of the start ffprobe reads to find each stream's first packet (s of media).
ORIGIN_READ_S = 1.5
# Where the start must not reach before a floor (a grant's start), the media begins at a
# keyframe at least this far after the floor: the audio frame before a keyframe goes out
# with it (an AAC frame: 21 ms at 48 kHz, 128 ms at 8 kHz).
FLOOR_MARGIN_US = 200_000
# Where the media must not go past an end (the range asked for, inside a grant), it stops
# this far before it: the concat demuxer's outpoint ends at the first packet whose decode
# time reaches it, so the packets just before go out whole: an AAC frame sounding past the
# end (21 ms at 48 kHz, 128 ms at 8 kHz) and, with B-frames, a frame shown after it (up to
# four frames of reordering at 25 fps fit).
END_MARGIN_US = 200_000


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
            lines.append(f"inpoint {inpoint_us(pieces, start_us) / 1e6:.6f}")
        if i == len(pieces) - 1 and end_us < p.end_us:
            lines.append(f"outpoint {(end_us - p.start_us) / 1e6:.6f}")
    return "\n".join(lines) + "\n"


def inpoint_us(pieces: list[Piece], start_us: int) -> int:
    """The first piece's inpoint that `concat_list` writes (0: none written)."""
    return max(0, start_us - pieces[0].start_us)


def keyframes_command(path: Path) -> list[str]:
    """ffprobe of one segment file's video packets: their presentation times and flags (no
    decoding: a segment's packets are read in milliseconds)."""
    return [
        FFPROBE,
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-show_entries",
        "packet=pts_time,flags",
        "-of",
        "csv=p=0",
        str(path),
    ]


def keyframe_times_us(probed: str) -> list[int]:
    """The keyframes' times in the file (µs, as an inpoint counts them), sorted, from
    `keyframes_command`'s output."""
    found = []
    for line in probed.splitlines():
        pts, _, flags = line.partition(",")
        if "K" not in flags:
            continue
        try:
            found.append(round(float(pts) * 1e6))
        except ValueError:
            continue  # N/A: a packet without a time
    return sorted(found)


def start_within(first: Piece, keyframes_us: list[int], start_us: int, floor_us: int) -> int | None:
    """The start to give `concat_list` so that nothing before `floor_us` goes out: stream copy
    begins at the keyframe at or before the start, which in a piece begun before the floor may
    lie before it. `start_us` itself when that keyframe is clear of the floor
    (FLOOR_MARGIN_US), else just past the first keyframe that is (the seek lands on it), or
    None when this piece has none: the media then begins with the next piece."""
    at = [first.start_us + k for k in keyframes_us]
    before = [k for k in at if k <= start_us]
    if before and before[-1] - FLOOR_MARGIN_US >= floor_us:
        return start_us
    after = [k for k in at if k - FLOOR_MARGIN_US >= floor_us and k < first.end_us]
    if not after:
        return None
    return max(start_us, after[0] + 1_000)


def end_clear_of(pieces: list[Piece], end_us: int) -> tuple[list[Piece], int]:
    """The pieces and end to give `concat_list` so that nothing after `end_us` goes out:
    the end moved back by END_MARGIN_US, and the pieces that begin at or after it dropped."""
    cut_us = end_us - END_MARGIN_US
    return [p for p in pieces if p.start_us < cut_us], cut_us


async def start_clear_of(
    pieces: list[Piece], start_us: int, floor_us: int
) -> tuple[list[Piece], int] | None:
    """The pieces and start of media that begins no earlier than `floor_us` (a grant's start),
    or None when nothing is left: only a first piece begun before the floor is read."""
    while pieces and pieces[0].start_us < floor_us:
        proc = await asyncio.create_subprocess_exec(
            *keyframes_command(pieces[0].path),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            stdin=asyncio.subprocess.DEVNULL,
        )
        out, _ = await proc.communicate()
        keys = keyframe_times_us(out.decode(errors="replace")) if proc.returncode == 0 else []
        start = start_within(pieces[0], keys, start_us, floor_us)
        if start is not None:
            return pieces, start
        pieces = pieces[1:]  # no keyframe of it clear of the floor: the next piece begins
        start_us = pieces[0].start_us if pieces else start_us
    return (pieces, start_us) if pieces else None


def write_concat_list(pieces: list[Piece], start_us: int, end_us: int) -> Path:
    """A temporary concat list; the caller deletes it when ffmpeg has finished."""
    with tempfile.NamedTemporaryFile(
        "w", suffix=".ffconcat", prefix="custodes-clip-", delete=False, encoding="utf-8"
    ) as f:
        f.write(concat_list(pieces, start_us, end_us))
        return Path(f.name)


def clip_command(list_file: Path, audio: bool = True) -> list[str]:
    """Without `audio` the MP4 holds the video track alone, for a player that cannot take
    the audio codec in its Media Source Extensions buffer (static/recorded-player.js)."""
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
    (to be sent on unchanged) and the RFC 6381 codecs of its video track and, when it has one,
    its audio track (`avc1.640028,mp4a.40.2`), or None when the output ends, or is not MP4,
    before a whole moov, or has no video codec we can name."""
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
    video = codec_string(splitter.init)
    if video is None:
        return bytes(read_so_far), None
    audio = audio_codec_string(splitter.init)
    return bytes(read_so_far), video if audio is None else f"{video},{audio}"


def origin_command(list_file: Path) -> list[str]:
    """ffprobe of the clip's own concat list: the decode time of its first packets."""
    return [
        FFPROBE,
        "-v",
        "error",
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        str(list_file),
        "-read_intervals",
        f"%+{ORIGIN_READ_S:g}",
        "-show_entries",
        "packet=codec_type,dts_time",
        "-of",
        "csv=p=0",
    ]


def origin_us(probed: str, pieces: list[Piece], start_us: int, audio: bool) -> int | None:
    """The instant (µs) at the output's time 0, from `origin_command`'s output: the first
    piece's start, plus the inpoint, plus the earliest packet's decode time (≤ 0 with an
    inpoint: that keyframe, or the audio frame before it), which make_zero moves to 0."""
    kinds = ("video", "audio") if audio else ("video",)
    times = []
    for line in probed.splitlines():
        kind, _, dts = line.partition(",")
        if kind in kinds:
            try:
                times.append(float(dts))
            except ValueError:
                continue  # N/A: a packet without a decode time
    if not times:
        return None
    return pieces[0].start_us + inpoint_us(pieces, start_us) + round(min(times) * 1e6)


async def media_origin(
    list_file: Path, pieces: list[Piece], start_us: int, audio: bool
) -> int | None:
    """`origin_us` of the clip that `clip_command(list_file, audio)` makes; None when ffprobe
    cannot say (the page then counts from the requested start, up to a GOP late)."""
    proc = await asyncio.create_subprocess_exec(
        *origin_command(list_file),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        stdin=asyncio.subprocess.DEVNULL,
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        return None
    return origin_us(out.decode(errors="replace"), pieces, start_us, audio)


async def stop_clip(proc: asyncio.subprocess.Process) -> None:
    """The clip's ffmpeg killed and reaped. What is left in its pipe is read to the end first:
    asyncio's wait() returns only once the pipes are closed too, and a pipe whose reader
    stopped reading (its buffer full, the clip not read on) never is: the wait hung for ever
    (tests/test_media_origin.py)."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    if proc.stdout is not None:
        with contextlib.suppress(OSError, ValueError):
            while await proc.stdout.read(64 * 1024):
                pass
    await proc.wait()
