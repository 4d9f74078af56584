"""Cutting a live fragmented-MP4 byte stream into its init segment and media fragments.

ffmpeg writes `ftyp moov (moof mdat)*` to a pipe. A viewer needs the init segment (ftyp+moov)
once, then fragments from a keyframe on; the codec string for Media Source Extensions comes
from the sample entry's avcC / hvcC record (RFC 6381).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from custodes.adapters.ffmpeg.mp4box import children, find

_NON_SYNC = 0x00010000  # sample_is_non_sync_sample in ISO/IEC 14496-12 sample flags


@dataclass(frozen=True)
class Fragment:
    data: bytes  # moof + mdat
    keyframe: bool


class FragmentSplitter:
    """Feed bytes as they come; get the init segment once and whole fragments after."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pending_moof: bytes | None = None
        self._init = bytearray()
        self.init: bytes | None = None

    def feed(self, chunk: bytes) -> list[Fragment]:
        self._buf += chunk
        out: list[Fragment] = []
        while len(self._buf) >= 8:
            size, kind = struct.unpack_from(">I4s", self._buf, 0)
            if size == 1:
                if len(self._buf) < 16:
                    break
                size = struct.unpack_from(">Q", self._buf, 8)[0]
            if size < 8:
                raise ValueError(f"malformed MP4 box {kind!r} of size {size}")
            if len(self._buf) < size:
                break
            box = bytes(self._buf[:size])
            del self._buf[:size]
            if self.init is None and kind in (b"ftyp", b"moov"):
                self._init += box
                if kind == b"moov":
                    self.init = bytes(self._init)
            elif kind == b"moof":
                self._pending_moof = box
            elif kind == b"mdat" and self._pending_moof is not None:
                moof, self._pending_moof = self._pending_moof, None
                out.append(Fragment(moof + box, first_sample_is_sync(moof)))
        return out


def first_sample_is_sync(moof: bytes) -> bool:
    """Whether the fragment's first video sample is a keyframe (trun/tfhd sample flags)."""
    for a, b in find(moof, [b"moof", b"traf"]):
        default_flags = None
        for kind, ca, _cb in children(moof, a, b):
            if kind == b"tfhd":
                flags = int.from_bytes(moof[ca + 1 : ca + 4], "big")
                pos = ca + 8  # version/flags + track_ID
                for bit, width in ((0x01, 8), (0x02, 4), (0x08, 4), (0x10, 4)):
                    if flags & bit:
                        pos += width
                if flags & 0x20:
                    default_flags = struct.unpack_from(">I", moof, pos)[0]
            elif kind == b"trun":
                flags = int.from_bytes(moof[ca + 1 : ca + 4], "big")
                pos = ca + 8  # version/flags + sample_count
                if flags & 0x01:
                    pos += 4
                if flags & 0x04:  # first_sample_flags present
                    return not struct.unpack_from(">I", moof, pos)[0] & _NON_SYNC
                if flags & 0x400:  # per-sample flags
                    pos += 4 * bool(flags & 0x100) + 4 * bool(flags & 0x200)
                    return not struct.unpack_from(">I", moof, pos)[0] & _NON_SYNC
                if default_flags is not None:
                    return not default_flags & _NON_SYNC
                return False
    return False


def codec_string(init: bytes) -> str | None:
    """RFC 6381 codec string of the first video track, e.g. avc1.640028 or hvc1.1.6.L93.B0."""
    for a, b in find(init, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd"]):
        for kind, ea, eb in children(init, a + 8, b):
            config_start = ea + 78  # VisualSampleEntry fields before its child boxes
            for child, ca, cb in children(init, config_start, eb):
                if child == b"avcC" and cb - ca >= 4:
                    p, c, lvl = init[ca + 1], init[ca + 2], init[ca + 3]
                    return f"{kind.decode()}.{p:02X}{c:02X}{lvl:02X}"
                if child == b"hvcC" and cb - ca >= 13:
                    return _hevc_string(kind.decode(), init[ca : ca + 13])
    return None


def _hevc_string(entry: str, rec: bytes) -> str:
    space = (rec[1] >> 6) & 0x3
    tier = "H" if (rec[1] >> 5) & 0x1 else "L"
    profile = rec[1] & 0x1F
    compat = int.from_bytes(rec[2:6], "big")
    compat_rev = int(f"{compat:032b}"[::-1], 2)
    constraints = rec[6:12].rstrip(b"\x00")
    level = rec[12]
    parts = [entry, ("ABC"[space - 1] if space else "") + str(profile), f"{compat_rev:X}"]
    parts.append(f"{tier}{level}")
    parts.extend(f"{byte:X}" for byte in constraints)
    return ".".join(parts)


def video_timescale(init: bytes) -> int | None:
    """Ticks per second of the first track (mdhd), to turn decode times into seconds."""
    for a, _b in find(init, [b"moov", b"trak", b"mdia", b"mdhd"]):
        version = init[a]
        offset = a + (20 if version == 1 else 12)  # after version/flags and the two dates
        return int(struct.unpack_from(">I", init, offset)[0])
    return None


def decode_time(moof: bytes) -> int | None:
    """The fragment's base media decode time (tfdt), in track ticks."""
    for a, _b in find(moof, [b"moof", b"traf", b"tfdt"]):
        if moof[a] == 1:
            return int(struct.unpack_from(">Q", moof, a + 4)[0])
        return int(struct.unpack_from(">I", moof, a + 4)[0])
    return None
