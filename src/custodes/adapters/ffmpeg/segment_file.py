"""How much of a fragmented-MP4 segment file is whole, read from its box headers.

A segment is `ftyp moov (moof mdat)* [mfra]`. ffmpeg writes each fragment as it is made, so
a segment cut short — the recorder killed, or a write refused by a full disk — ends in a
box whose size runs past the end of the file (or in a moof without its mdat). What came
before it plays; the unfinished fragment does not (ffprobe even counts its duration, which
is how truncated segments were once indexed as whole). A write refused whole at a fragment
boundary leaves whole boxes but no closing `mfra`: such a file is whole, but shorter than
ffmpeg says, and is measured again (`closed`). `scan` reads only the box headers
(a few reads per fragment, no decoding), so every segment can be checked before it is
sealed.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

_HEADER = struct.Struct(">I4s")


@dataclass(frozen=True)
class Scan:
    size: int  # bytes in the file
    whole: int  # bytes up to the end of the last whole box that can stand (0: not even a header)
    init: bool  # ftyp and moov are whole: the file can be opened at all
    fragments: int  # whole moof+mdat pairs
    problem: str | None  # why the file is not whole, for people
    closed: bool = False  # it ends in the mfra box ffmpeg writes when it closes a segment

    @property
    def complete(self) -> bool:
        """The file is exactly its whole boxes, with a header and at least one fragment."""
        return self.init and self.fragments > 0 and self.whole == self.size

    @property
    def empty(self) -> bool:
        """Provably no footage: no bytes, or only whole header boxes (what a run that failed
        to start leaves). Anything else unreadable may hold something, and is kept."""
        return self.fragments == 0 and self.whole == self.size


def scan(path: Path) -> Scan:
    with path.open("rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        pos = 0
        whole = 0
        seen_ftyp = init = False
        fragments = 0
        moof_end: int | None = None
        problem: str | None = None
        last_kind = b""
        while pos < size:
            f.seek(pos)
            head = f.read(16)
            if len(head) < 8:
                problem = f"{size - pos} byte(s) at the end are not a whole box header"
                break
            box_size, kind = _HEADER.unpack_from(head)
            header = 8
            if box_size == 1:
                if len(head) < 16:
                    problem = "a box header is cut short at the end of the file"
                    break
                box_size = struct.unpack_from(">Q", head, 8)[0]
                header = 16
            elif box_size == 0:
                box_size = size - pos  # to the end of the file (never written by ffmpeg here)
            if box_size < header:
                problem = f"a box of impossible size {box_size} at byte {pos}"
                break
            end = pos + box_size
            if end > size:
                name = kind.decode("ascii") if kind.isalnum() else f"0x{kind.hex()}"
                problem = f"its last box ({name}) is cut short: {size - pos} of {box_size} bytes"
                break
            if kind == b"ftyp":
                seen_ftyp = True
                whole = end
            elif kind == b"moov" and seen_ftyp:
                init = True
                whole = end
            elif kind == b"moof" and init:
                moof_end = end
            elif kind == b"mdat" and moof_end == pos:
                fragments += 1
                whole = end
                moof_end = None
            elif kind == b"mfra" and moof_end is None:
                whole = end  # the random-access index ffmpeg writes when it closes a segment
            last_kind = kind
            pos = end
        if problem is None and moof_end is not None:
            problem = "its last fragment has no media data (a moof without its mdat)"
        if problem is None and not init:
            problem = "no MP4 header (ftyp and moov)"
        elif problem is None and fragments == 0:
            problem = "no fragment of media"
    closed = problem is None and last_kind == b"mfra" and whole == size
    return Scan(size, whole, init, fragments, problem, closed)
