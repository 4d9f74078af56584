"""Encode (once, cached) the short clips that the simulated cameras loop.

Every clip is a raw Annex-B elementary stream (``.h264`` / ``.h265``) of ffmpeg's moving
``testsrc2`` picture with the camera name, the word ``SIMULATED`` and a running SMPTE
timecode burned in. The clips are built so that looping them byte-wise in the RTSP server
is seamless:

* a keyframe exactly every 2 s (``-g``/``-keyint_min`` = 2 × fps, no scene-cut keyframes,
  closed GOPs), and the clip length is a whole number of GOPs by default (4 s);
* no B-frames, so PTS == DTS and the server can stamp frame *n* with ``n / fps``;
* SPS/PPS (and VPS for H.265) repeated in-band before every keyframe, so a client joining
  mid-stream (or a recorder cutting segments) can decode from any keyframe;
* about 4 Mbit/s CBR-ish (``-b:v 4M -maxrate 4M -bufsize 4M``), like a real 1080p camera.

Files are written to a temporary name and renamed into place, and an existing non-empty
file is reused, so concurrent callers and interrupted runs never see half-written clips.
The file name contains a hash of every encoding parameter (including the burned-in name),
so changing a parameter produces a new clip rather than silently reusing a stale one.

Only the standard library and the ``ffmpeg`` binary are used.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

Codec = Literal["h264", "h265"]

FFMPEG = "ffmpeg"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
# DejaVu Sans has no CJK glyphs; if one of these (optional) fonts is installed it is used
# for names that contain non-Latin characters, otherwise they render as boxes.
CJK_FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
)

PRESET = "superfast"
"""x264/x265 preset: ~0.6 s per 4 s 1080p H.264 clip here, vs ~0.9 s for ``veryfast``."""

AUDIO_RATE = 8000
"""Sample rate of the G.711 A-law audio track (mono, one byte per sample)."""

AAC_RATE = 48000
"""Sample rate of the AAC-LC audio track (mono): what most cameras that send AAC use."""
AAC_FRAME = 1024
"""Samples per AAC-LC frame; 4 s at 48 kHz is 187.5 of them, so the clip is 8 s long."""

SECOND_HALF_SIZE = (1280, 720)
"""Picture size of the second half of a ``resolution_change`` clip."""

_EXTENSIONS: dict[str, str] = {"h264": "h264", "h265": "h265"}
_MUXERS: dict[str, str] = {"h264": "h264", "h265": "hevc"}
_STDERR_TAIL = 2000


class SimulatorError(RuntimeError):
    """Raised when a simulated camera (clip encoding or RTSP server) cannot be set up."""


def ensure_clip(
    sim_dir: Path,
    name: str,
    *,
    codec: Codec = "h264",
    width: int = 1920,
    height: int = 1080,
    fps: int = 25,
    seconds: int = 4,
    resolution_change: bool = False,
) -> Path:
    """Return the path of a raw elementary-stream clip for camera ``name``, encoding it once.

    With ``resolution_change`` the first half of the clip is ``width``×``height`` and the
    second half 1280x720; each half starts with a keyframe carrying its own parameter sets.
    """
    if codec not in _EXTENSIONS:
        raise SimulatorError(f"unsupported codec {codec!r}; expected 'h264' or 'h265'")
    if width <= 0 or height <= 0 or fps <= 0 or seconds <= 0:
        raise SimulatorError("width, height, fps and seconds must be positive")
    total_frames = seconds * fps
    if resolution_change and total_frames < 2:
        raise SimulatorError("a resolution_change clip needs at least two frames")

    key = f"v1|{name}|{codec}|{width}x{height}|{fps}|{seconds}|{resolution_change}"
    rc = "-rc" if resolution_change else ""
    stem = f"{_slug(name)}-{codec}-{width}x{height}-{fps}fps-{seconds}s{rc}-{_digest(key)}"
    target = sim_dir / f"{stem}.{_EXTENSIONS[codec]}"
    if _usable(target):
        return target

    sim_dir.mkdir(parents=True, exist_ok=True)
    if not resolution_change:
        with _temporary(target) as tmp:
            _encode_video(
                tmp,
                name=name,
                codec=codec,
                width=width,
                height=height,
                fps=fps,
                frames=total_frames,
                first_frame=0,
            )
            os.replace(tmp, target)
        return target

    first = total_frames // 2
    second = total_frames - first
    alt_width, alt_height = SECOND_HALF_SIZE
    with _temporary(target) as tmp, _temporary(target) as part:
        _encode_video(
            tmp,
            name=name,
            codec=codec,
            width=width,
            height=height,
            fps=fps,
            frames=first,
            first_frame=0,
        )
        _encode_video(
            part,
            name=name,
            codec=codec,
            width=alt_width,
            height=alt_height,
            fps=fps,
            frames=second,
            first_frame=first,
        )
        with tmp.open("ab") as out, part.open("rb") as tail:
            while chunk := tail.read(1 << 20):
                out.write(chunk)
        os.replace(tmp, target)
    return target


def ensure_audio(sim_dir: Path, *, seconds: int = 4, frequency: int = 1000) -> Path:
    """Return the path of a raw G.711 A-law file (8 kHz mono) of ``seconds``, encoding it once.

    The tone beeps once a second at twice ``frequency`` so audio/video sync can be checked
    by ear. ``seconds`` should match the video clip's length so both loop in step.
    """
    if seconds <= 0 or frequency <= 0:
        raise SimulatorError("seconds and frequency must be positive")
    target = sim_dir / f"tone-{frequency}hz-{seconds}s.alaw"
    if _usable(target):
        return target
    sim_dir.mkdir(parents=True, exist_ok=True)
    samples = seconds * AUDIO_RATE
    with _temporary(target) as tmp:
        _run_ffmpeg(
            [
                "-f",
                "lavfi",
                "-i",
                f"sine=frequency={frequency}:beep_factor=2:sample_rate={AUDIO_RATE}",
                "-af",
                f"atrim=end_sample={samples}",
                "-ac",
                "1",
                "-ar",
                str(AUDIO_RATE),
                "-c:a",
                "pcm_alaw",
                "-f",
                "alaw",
                str(tmp),
            ],
            what=f"audio tone {target.name}",
        )
        size = tmp.stat().st_size
        if size != samples:
            raise SimulatorError(f"audio tone has {size} samples, expected {samples}")
        os.replace(tmp, target)
    return target


def ensure_aac(sim_dir: Path, *, frequency: int = 1000) -> Path:
    """Return the path of an AAC-LC file (ADTS, 48 kHz mono) of a tone, encoding it once.

    Like ``ensure_audio``'s tone it beeps once a second. It is 375 whole AAC frames (8 s), so
    the RTSP server can loop it byte-wise and stamp frame *n* with ``n × 1024 / 48000``.
    """
    if frequency <= 0:
        raise SimulatorError("frequency must be positive")
    frames = 375
    target = sim_dir / f"tone-{frequency}hz-{frames}frames.aac"
    if _usable(target):
        return target
    sim_dir.mkdir(parents=True, exist_ok=True)
    with _temporary(target) as tmp:
        _run_ffmpeg(
            [
                "-f",
                "lavfi",
                "-i",
                f"sine=frequency={frequency}:beep_factor=2:sample_rate={AAC_RATE}",
                # the encoder's own delay adds a frame: ask for one less to get `frames`
                "-af",
                f"atrim=end_sample={(frames - 1) * AAC_FRAME}",
                "-ac",
                "1",
                "-c:a",
                "aac",
                "-b:a",
                "64k",
                "-f",
                "adts",
                str(tmp),
            ],
            what=f"AAC tone {target.name}",
        )
        os.replace(tmp, target)
    return target


def drawtext_escape(value: str) -> str:
    """Quote ``value`` for use as an option value inside an ffmpeg filtergraph string.

    Two levels of quoting are needed: one for the filter's ``key=value:key=value`` option
    parser and one for the filtergraph parser. Each level wraps the text in single quotes
    (inside which ``\\``, ``:``, ``,``, ``;``, ``[``, ``]``, spaces and non-ASCII characters
    are literal) and spells a single quote as ``'\\''``.
    """
    return _quote(_quote(value))


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def _font_for(text: str) -> Path:
    if any(ord(ch) > 0x2E7F for ch in text):
        for font in CJK_FONTS:
            if font.is_file():
                return font
    return FONT


def _video_filter(name: str, *, height: int, fps: int, first_frame: int) -> str:
    size = max(12, height // 16)
    margin = max(8, height // 36)
    top = max(24, height // 18)  # below testsrc2's own small timestamp in the corner
    line = size + size // 2
    box = f"box=1:boxcolor=black@0.6:boxborderw={max(2, size // 6)}"
    font = drawtext_escape(str(FONT))
    name_font = drawtext_escape(str(_font_for(name)))
    start = first_frame
    timecode = (
        f"{start // (3600 * fps):02d}:{start // (60 * fps) % 60:02d}:"
        f"{start // fps % 60:02d}:{start % fps:02d}"
    )
    common = f"fontcolor=white:fontsize={size}:{box}:x={margin}"
    return ",".join(
        (
            f"drawtext=fontfile={name_font}:expansion=none:text={drawtext_escape(name)}:"
            f"{common}:y={top}",
            f"drawtext=fontfile={font}:expansion=none:text='SIMULATED':"
            f"fontcolor=yellow:fontsize={size}:{box}:x={margin}:y={top + line}",
            f"drawtext=fontfile={font}:timecode={drawtext_escape(timecode)}:timecode_rate={fps}:"
            f"{common}:y={top + 2 * line}",
            "format=yuv420p",
        )
    )


def _encode_video(
    out: Path,
    *,
    name: str,
    codec: Codec,
    width: int,
    height: int,
    fps: int,
    frames: int,
    first_frame: int,
) -> None:
    gop = 2 * fps
    args = [
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={width}x{height}:rate={fps}",
        "-vf",
        _video_filter(name, height=height, fps=fps, first_frame=first_frame),
        "-frames:v",
        str(frames),
        "-an",
        "-pix_fmt",
        "yuv420p",
        "-preset",
        PRESET,
        "-g",
        str(gop),
        "-keyint_min",
        str(gop),
        "-sc_threshold",
        "0",
        "-bf",
        "0",
        "-b:v",
        "4M",
        "-maxrate",
        "4M",
        "-bufsize",
        "4M",
    ]
    if codec == "h264":
        args += ["-c:v", "libx264", "-profile:v", "high"]
    else:
        x265 = "repeat-headers=1:scenecut=0:open-gop=0:bframes=0:log-level=error"
        args += ["-c:v", "libx265", "-x265-params", x265]
    args += ["-f", _MUXERS[codec], str(out)]
    _run_ffmpeg(args, what=f"{codec} clip for camera {name!r}")
    if not _usable(out):
        raise SimulatorError(f"ffmpeg produced no output for camera {name!r}")


def _run_ffmpeg(args: list[str], *, what: str) -> None:
    cmd = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
    except OSError as exc:
        raise SimulatorError(f"cannot run {FFMPEG} to encode {what}: {exc}") from exc
    if proc.returncode != 0:
        tail = proc.stderr.strip()[-_STDERR_TAIL:]
        raise SimulatorError(
            f"ffmpeg failed (exit {proc.returncode}) encoding {what}:\n{tail or '(no output)'}"
        )


def _usable(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size > 0
    except OSError:
        return False


_counter = itertools.count()


@contextlib.contextmanager
def _temporary(target: Path) -> Iterator[Path]:
    """Yield a unique temporary path next to ``target``; remove it if still there on exit."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}-{next(_counter)}.tmp")
    try:
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")
    return slug[:40] or "camera"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]
