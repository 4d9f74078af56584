"""Cutting a live fragmented-MP4 byte stream into its init segment and media fragments.

ffmpeg writes `ftyp moov (moof mdat)*` to a pipe. A viewer needs the init segment (ftyp+moov)
once, then fragments from a keyframe on; the codec string for Media Source Extensions comes
from the sample entry's avcC / hvcC record (RFC 6381), and an audio track's from its esds.
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


def audio_codec_string(init: bytes) -> str | None:
    """RFC 6381 codec string of the first audio track (e.g. mp4a.40.2 for AAC-LC, opus), or
    None when there is none. An audio codec no browser names comes out as its sample entry's
    four characters, which Media Source Extensions then refuses (the player goes video-only)."""
    for trak_a, trak_b in find(init, [b"moov", b"trak"]):
        if _handler(init, trak_a, trak_b) != b"soun":
            continue
        for a, b in find(init, [b"mdia", b"minf", b"stbl", b"stsd"], trak_a, trak_b):
            for kind, ea, eb in children(init, a + 8, b):
                if kind == b"mp4a":
                    return _mp4a_string(init, ea, eb)
                if kind == b"Opus":
                    return "opus"
                return kind.decode("latin-1").strip()
    return None


def _handler(buf: bytes, trak_a: int, trak_b: int) -> bytes | None:
    for a, _b in find(buf, [b"mdia", b"hdlr"], trak_a, trak_b):
        return buf[a + 8 : a + 12]  # after version/flags and pre_defined
    return None


def _mp4a_string(buf: bytes, ea: int, eb: int) -> str:
    # AudioSampleEntry: 28 bytes before its child boxes, 16 or 36 more in QuickTime v1/v2
    version = struct.unpack_from(">H", buf, ea + 8)[0]
    children_at = ea + 28 + {1: 16, 2: 36}.get(version, 0)
    for child, ca, cb in children(buf, children_at, eb):
        if child == b"esds":
            found = _esds_audio(buf[ca + 4 : cb])  # after version/flags
            if found is not None:
                oti, aot = found
                return f"mp4a.{oti:02X}.{aot}" if oti == 0x40 and aot else f"mp4a.{oti:02X}"
    return "mp4a.40.2"  # no readable esds: what ISO/IEC 14496-14 says an mp4a mostly is


def _esds_audio(d: bytes) -> tuple[int, int] | None:
    """(objectTypeIndication, audioObjectType or 0) from an esds payload (ISO/IEC 14496-1)."""
    pos, oti, end = 0, None, len(d)
    while pos + 2 <= end:
        tag = d[pos]
        pos += 1
        size = 0
        for _ in range(4):  # expandable length: 7 bits a byte, high bit "more"
            if pos >= end:
                return None
            byte = d[pos]
            pos += 1
            size = size << 7 | byte & 0x7F
            if not byte & 0x80:
                break
        if tag == 0x03:  # ES_Descriptor: its fields, then the descriptors inside it
            if pos + 3 > end:
                return None
            flags = d[pos + 2]
            pos += 3 + 2 * bool(flags & 0x80)  # ES_ID, flags, dependsOn_ES_ID
            if flags & 0x40 and pos < end:  # URL
                pos += 1 + d[pos]
            pos += 2 * bool(flags & 0x20)  # OCR_ES_Id
        elif tag == 0x04:  # DecoderConfigDescriptor: 13 bytes, then DecoderSpecificInfo
            if pos >= end:
                return None
            oti = d[pos]
            pos += 13
        elif tag == 0x05 and oti is not None:  # AudioSpecificConfig
            if size < 1 or pos >= end:
                return oti, 0
            aot = d[pos] >> 3
            if aot == 31 and pos + 1 < end:
                aot = 32 + ((d[pos] & 0x07) << 3 | d[pos + 1] >> 5)
            return oti, aot
        else:
            pos += size
    return (oti, 0) if oti is not None else None


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
