"""The per-camera hash chain over sealed segments, and the signed checkpoints that anchor it.

    link_n = SHA-256(link_{n-1} ‖ camera ‖ seq ‖ start ‖ end ‖ bytes ‖ sha256(segment))

with `link_{-1}` = 32 zero bytes, integers as 8-byte big-endian, links and digests as their 32
raw bytes. Everything in a link is in the index row, so anyone can recompute the chain from
the rows (and the files) alone; a changed, removed, inserted or reordered row changes every
later link. A checkpoint is an Ed25519 signature over (camera, seq, link, time, key id): it
pins the chain at seq so that recomputing the whole chain after an edit does not go unseen.

Pure: no I/O. Formats are fixed; docs/INTEGRITY.md describes them for independent verifiers.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

GENESIS = bytes(32)
CHECKPOINT_DOMAIN = b"custodes-checkpoint-v1\x00"


def segment_link(
    prev: bytes,
    camera_id: int,
    seq: int,
    start_us: int,
    end_us: int,
    size: int,
    sha256_hex: str,
) -> bytes:
    if len(prev) != 32:
        raise ValueError("a previous link is 32 bytes")
    body = struct.pack(">qqqqq", camera_id, seq, start_us, end_us, size)
    return hashlib.sha256(prev + body + bytes.fromhex(sha256_hex)).digest()


@dataclass(frozen=True)
class Checkpoint:
    """What a checkpoint signs. `link` is the chain's link at `seq` (hex)."""

    camera_id: int
    seq: int
    link: str
    time_us: int
    key_id: str

    def message(self) -> bytes:
        return (
            CHECKPOINT_DOMAIN
            + struct.pack(">qqq", self.camera_id, self.seq, self.time_us)
            + bytes.fromhex(self.link)
            + self.key_id.encode("ascii")
        )


@dataclass(frozen=True)
class Cadence:
    """A checkpoint every `segments` segments or `seconds` of media time, whichever first."""

    segments: int = 100
    seconds: int = 600

    def due(self, since_segments: int, since_us: int) -> bool:
        return since_segments >= self.segments or since_us >= self.seconds * 1_000_000
