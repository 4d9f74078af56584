"""What a sealed fMP4 segment really carries: codec and picture size, from its own bytes.

With stream copy, ffmpeg writes the sample description (stsd) once per segment from the
stream's first parameter sets; when a camera changes resolution mid-stream the new SPS only
travels in-band. So the size is read from the first in-band H.264 SPS when there is one, and
from the stsd box otherwise (H.265, or no in-band SPS).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from custodes.adapters.ffmpeg.mp4box import children, find

_VIDEO_ENTRIES = {b"avc1": "h264", b"avc3": "h264", b"hvc1": "hevc", b"hev1": "hevc"}


@dataclass(frozen=True)
class PictureInfo:
    codec: str | None
    width: int | None
    height: int | None


def inspect_head(head: bytes) -> PictureInfo:
    """Codec and size from the first bytes of an fMP4 segment (moov and first fragment)."""
    codec, width, height = None, None, None
    mdat: bytes | None = None
    for kind, a, b in children(head, truncated=True):
        if kind == b"moov":
            codec, width, height = _stsd(head[a:b])
        elif kind == b"mdat" and mdat is None:
            mdat = head[a:b]
    if codec == "h264" and mdat:
        size = _first_sps_size(mdat)
        if size:
            width, height = size
    return PictureInfo(codec, width, height)


def _stsd(moov: bytes) -> tuple[str | None, int | None, int | None]:
    for a, b in find(moov, [b"trak", b"mdia", b"minf", b"stbl", b"stsd"]):
        # full box header (4) + entry count (4), then sample entries
        for entry, ea, eb in children(moov, a + 8, b):
            if entry in _VIDEO_ENTRIES and eb - ea >= 28:
                w, h = struct.unpack_from(">HH", moov, ea + 24)
                return _VIDEO_ENTRIES[entry], w, h
    return None, None, None


def _first_sps_size(mdat: bytes) -> tuple[int, int] | None:
    """Walk the 4-byte length-prefixed NAL units of the first samples for an SPS (type 7)."""
    pos = 0
    while pos + 5 <= len(mdat):
        n = struct.unpack_from(">I", mdat, pos)[0]
        if n == 0 or pos + 4 + n > len(mdat):
            return None
        if mdat[pos + 4] & 0x1F == 7:
            return sps_size(mdat[pos + 4 : pos + 4 + n])
        pos += 4 + n
    return None


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def bit(self) -> int:
        byte = self.data[self.pos >> 3]
        value = (byte >> (7 - (self.pos & 7))) & 1
        self.pos += 1
        return value

    def bits(self, n: int) -> int:
        v = 0
        for _ in range(n):
            v = (v << 1) | self.bit()
        return v

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad exp-Golomb code")
        return (1 << zeros) - 1 + self.bits(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)


def _unescape(nal: bytes) -> bytes:
    return nal.replace(b"\x00\x00\x03", b"\x00\x00")


def sps_size(nal: bytes) -> tuple[int, int] | None:
    """Picture width and height (after cropping) of an H.264 SPS NAL unit (ITU-T H.264 7.3.2.1)."""
    try:
        r = _Bits(_unescape(nal[1:]))
        profile = r.bits(8)
        r.bits(16)  # constraint flags, level
        r.ue()  # seq_parameter_set_id
        chroma = 1
        if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
            chroma = r.ue()
            if chroma == 3:
                r.bit()
            r.ue()
            r.ue()
            r.bit()
            if r.bit():  # seq_scaling_matrix_present_flag
                for i in range(8 if chroma != 3 else 12):
                    if r.bit():
                        _skip_scaling_list(r, 16 if i < 6 else 64)
        r.ue()  # log2_max_frame_num_minus4
        poc_type = r.ue()
        if poc_type == 0:
            r.ue()
        elif poc_type == 1:
            r.bit()
            r.se()
            r.se()
            for _ in range(r.ue()):
                r.se()
        r.ue()  # max_num_ref_frames
        r.bit()
        width_mbs = r.ue() + 1
        height_units = r.ue() + 1
        frame_mbs_only = r.bit()
        if not frame_mbs_only:
            r.bit()
        r.bit()
        width = width_mbs * 16
        height = height_units * 16 * (2 - frame_mbs_only)
        if r.bit():  # frame_cropping_flag
            left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
            unit_x = 1 if chroma == 0 else (2 if chroma in (1, 2) else 1)
            unit_y = (1 if chroma == 0 else (2 if chroma == 1 else 1)) * (2 - frame_mbs_only)
            width -= (left + right) * unit_x
            height -= (top + bottom) * unit_y
        return width, height
    except (IndexError, ValueError):
        return None


def _skip_scaling_list(r: _Bits, size: int) -> None:
    last, nxt = 8, 8
    for _ in range(size):
        if nxt:
            nxt = (last + r.se() + 256) % 256
        last = nxt or last
