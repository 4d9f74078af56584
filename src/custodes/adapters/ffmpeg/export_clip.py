"""ffmpeg for exports: the evidence clip made from sealed segments by stream copy, the
re-encoded viewing copy with a visible watermark, and the ffmpeg version the manifest names.

A failed ffmpeg run (or a missing watermark font) raises `ClipError`, its message naming the
file and the last lines of ffmpeg's stderr.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

from custodes.adapters.ffmpeg.command import FFMPEG
from custodes.adapters.ffmpeg.probe import probe_file

FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),  # for Chinese text
)


OnTime = Callable[[int], None]  # µs of output ffmpeg has written so far


class ClipError(RuntimeError):
    """ffmpeg could not make a file of the export; the message says why."""


# The clip -------------------------------------------------------------------------------------


def concat_list(files: list[tuple[Path, int]]) -> str:
    """The ffconcat list of the clip: every file with its media duration from the index (the
    demuxer then need not estimate it), opened with a minimal probe: the MP4 headers carry
    the codec parameters, and decoding frames of every segment to guess them again would
    cost more than the copy itself. The first file's parameters make the output's."""
    lines = ["ffconcat version 1.0"]
    for path, duration_us in files:
        escaped = str(path).replace("'", "'\\''")
        lines += [
            f"file '{escaped}'",
            f"duration {duration_us / 1e6:.6f}",
            "option probesize 32",
            "option analyzeduration 1",
            "option codec_whitelist none",
        ]
    return "\n".join(lines) + "\n"


def clip_command(list_file: Path, out: Path) -> list[str]:
    """Stream copy, no metadata carried over and no version string written (`bitexact`), so
    that the same ffmpeg makes the same bytes from the same segments; moov first."""
    # fmt: off
    return [
        FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error",
        "-f", "concat", "-safe", "0", "-i", str(list_file),
        "-map", "0:v:0", "-map", "0:a?", "-c", "copy",
        "-map_metadata", "-1", "-fflags", "+bitexact", "-avoid_negative_ts", "make_zero",
        "-movflags", "+faststart", "-f", "mp4", str(out),
    ]
    # fmt: on


def make_clip(files: list[tuple[Path, int]], out: Path, on_time: OnTime | None = None) -> None:
    """`out` from `files` (path, media duration in µs), in order, by stream copy; `on_time`
    is told how many µs of the clip are written (run_ffmpeg)."""
    with tempfile.NamedTemporaryFile(
        "w", suffix=".ffconcat", prefix="custodes-export-", encoding="utf-8"
    ) as f:
        f.write(concat_list(files))
        f.flush()
        run_ffmpeg(clip_command(Path(f.name), out), out.name, on_time)


def run_ffmpeg(argv: list[str], what: str, on_time: OnTime | None = None) -> None:
    """Run ffmpeg; on failure raise ClipError naming `what` and the end of its stderr.

    ffmpeg reports how far it has written (`-progress pipe:1`: `out_time_us=` lines) and
    `on_time` is given each new figure, in µs of output; should it raise, ffmpeg is killed
    and the exception goes on (the export is abandoned, its partial directory removed)."""
    argv = [argv[0], "-progress", "pipe:1", "-nostats", *argv[1:]]
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as err:
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=err, text=True, errors="replace"
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                key, _, value = line.strip().partition("=")
                if key == "out_time_us" and on_time is not None and value.isdigit():
                    on_time(int(value))
            code = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        err.seek(0)
        stderr = err.read()
    if code != 0:
        # the minimal probe's "not on whitelist" lines are expected noise, not the error
        lines = [
            line
            for line in stderr.splitlines()
            if "not on whitelist" not in line and "Last message repeated" not in line
        ]
        tail = "; ".join(lines[-5:]) or f"exit status {code}"
        raise ClipError(f"ffmpeg could not make {what}: {tail}")


# The watermarked copy -------------------------------------------------------------------------


def font_size(text: str, width: int, height: int) -> int:
    """Pixels per em so that the longest line fits 92 % of the width (a Latin character is
    about 0.6 em wide, a CJK one 1 em), at most a 18th of the height."""
    ems = max(sum(1.0 if ord(c) >= 0x2E80 else 0.6 for c in line) for line in text.split("\n"))
    return max(8, min(int(width * 0.92 / ems), height // 18))


def pick_font(text: str) -> Path:
    """DejaVu Sans for Latin text; WenQuanYi Zen Hei when the text holds CJK characters."""
    latin, cjk = FONTS
    wants_cjk = any(ord(c) >= 0x2E80 for c in text)
    for font in (cjk, latin) if wants_cjk else (latin, cjk):
        if font.exists():
            return font
    raise ClipError(
        "no font for the watermark: install fonts-dejavu-core (and fonts-wqy-zenhei for Chinese)"
    )


def watermark_command(
    src: Path, out: Path, *, font: Path, text_file: Path, fontsize: int
) -> list[str]:
    """Re-encode `src` (libx264, crf 23) with the text of `text_file` drawn boxed near the
    bottom."""
    draw = (
        f"drawtext=fontfile={_filter_path(font)}:textfile={_filter_path(text_file)}"
        f":expansion=none:fontcolor=white@0.9:fontsize={fontsize}"
        ":line_spacing=4"
        ":box=1:boxcolor=black@0.5:boxborderw=8:x=(w-text_w)/2:y=h-text_h-h/16"
    )
    # fmt: off
    return [
        FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error",
        "-i", str(src), "-map", "0:v:0", "-map", "0:a?", "-vf", draw,
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
        "-c:a", "copy", "-map_metadata", "-1", "-movflags", "+faststart", str(out),
    ]
    # fmt: on


def make_watermarked(src: Path, out: Path, text: str, on_time: OnTime | None = None) -> None:
    """`out`: `src` re-encoded with `text` overlaid, sized to fit the frame; `on_time` as for
    make_clip."""
    font = pick_font(text)
    probe = probe_file(src)
    width, height = (probe.width or 1280, probe.height or 720) if probe else (1280, 720)
    with tempfile.TemporaryDirectory(prefix="custodes-watermark-") as tmp:
        text_file = Path(tmp) / "text.txt"
        text_file.write_text(text, encoding="utf-8")
        argv = watermark_command(
            src, out, font=font, text_file=text_file, fontsize=font_size(text, width, height)
        )
        run_ffmpeg(argv, out.name, on_time)


def _filter_path(path: Path) -> str:
    """A path as a quoted filtergraph option value."""
    return "'" + str(path).replace("\\", "\\\\").replace("'", "\\'").replace(":", "\\:") + "'"


# The version ----------------------------------------------------------------------------------


@cache
def ffmpeg_version() -> str:
    """The installed ffmpeg as `ffmpeg <version>`, or `ffmpeg` when it cannot be told."""
    try:
        res = subprocess.run(
            [FFMPEG, "-version"], capture_output=True, text=True, check=False, timeout=30
        )
        first = res.stdout.splitlines()[0] if res.stdout else ""
    except (OSError, subprocess.TimeoutExpired):
        first = ""
    parts = first.split()
    return f"ffmpeg {parts[2]}" if len(parts) > 2 and parts[1] == "version" else "ffmpeg"
