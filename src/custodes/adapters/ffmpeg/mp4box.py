"""Walking ISO base media (MP4) boxes in a byte buffer."""

from __future__ import annotations

import struct


def children(
    buf: bytes, start: int = 0, end: int | None = None, *, truncated: bool = False
) -> list[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in buf[start:end].

    With `truncated`, a last box cut short by the end of the buffer is returned clipped
    (for reading the head of a file); otherwise it ends the walk.
    """
    end = len(buf) if end is None else end
    out = []
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", buf, pos)
        header = 8
        if size == 1 and pos + 16 <= end:
            size = struct.unpack_from(">Q", buf, pos + 8)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header:
            break
        if pos + size > end:
            if truncated:
                out.append((kind, pos + header, end))
            break
        out.append((kind, pos + header, pos + size))
        pos += size
    return out


def find(
    buf: bytes, path: list[bytes], start: int = 0, end: int | None = None
) -> list[tuple[int, int]]:
    """Payload ranges of the boxes at `path` (e.g. [b"moov", b"trak"]) under buf[start:end]."""
    found = []
    for kind, a, b in children(buf, start, end, truncated=True):
        if kind != path[0]:
            continue
        if len(path) == 1:
            found.append((a, b))
        else:
            found.extend(find(buf, path[1:], a, b))
    return found
