from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from custodes.adapters.ffmpeg.bitstream import inspect_head, sps_size

from .media import nal_units


def _encode(tmp: Path, size: str, args: list[str], fmt: str) -> bytes:
    out = tmp / f"x.{fmt}"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate=25",
            "-t",
            "0.2",
            *args,
            "-f",
            fmt,
            str(out),
        ],
        check=True,
    )
    return out.read_bytes()


@pytest.mark.parametrize(("size", "profile"), [("1920x1080", "high"), ("352x288", "baseline")])
def test_sps_size_of_annexb_h264(tmp_path: Path, size: str, profile: str) -> None:
    raw = _encode(tmp_path, size, ["-c:v", "libx264", "-profile:v", profile], "h264")
    sps = next(n for n in nal_units(raw) if n[0] & 0x1F == 7)
    w, h = (int(v) for v in size.split("x"))
    assert sps_size(sps) == (w, h)


def test_inspect_head_of_fmp4(tmp_path: Path) -> None:
    mp4 = _encode(
        tmp_path, "640x360", ["-c:v", "libx264", "-movflags", "+frag_keyframe+empty_moov"], "mp4"
    )
    info = inspect_head(mp4)
    assert (info.codec, info.width, info.height) == ("h264", 640, 360)
    assert inspect_head(b"not an mp4 at all").codec is None
