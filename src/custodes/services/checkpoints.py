"""Signed checkpoints of the segment chains: in the database and in a file beside the archive.

Each camera's checkpoints are rows of `checkpoints` and lines of
`archive/camNNNNN/checkpoints.jsonl` (append-only, fsynced). The row commits with the segment
it anchors; the line is appended right after the commit. A crash between the two leaves the
file one checkpoint short: `repair_file_tail` appends that one (and only that one) on the
next start, so a file truncated by hand is still reported by `custodes verify`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import Connection, insert, select

from custodes.adapters.db import schema
from custodes.domain.chain import Checkpoint
from custodes.paths import DataDir
from custodes.services.signing import Signer, append_line

log = logging.getLogger(__name__)
C = schema.checkpoints
FILE_NAME = "checkpoints.jsonl"


@dataclass(frozen=True)
class SignedCheckpoint:
    camera_id: int
    seq: int
    link: str
    time_us: int
    key_id: str
    signature: str

    @property
    def body(self) -> Checkpoint:
        return Checkpoint(self.camera_id, self.seq, self.link, self.time_us, self.key_id)


def sign(signer: Signer, camera_id: int, seq: int, link: str, time_us: int) -> SignedCheckpoint:
    body = Checkpoint(camera_id, seq, link, time_us, signer.key_id)
    return SignedCheckpoint(
        camera_id, seq, link, time_us, signer.key_id, signer.sign(body.message())
    )


def insert_row(conn: Connection, cp: SignedCheckpoint) -> None:
    conn.execute(insert(C).values(**asdict(cp)))


def file_path(data: DataDir, camera_id: int) -> Path:
    return data.camera_archive(camera_id) / FILE_NAME


def append_to_file(data: DataDir, cp: SignedCheckpoint) -> None:
    append_line(file_path(data, cp.camera_id), asdict(cp))


def read_file(data: DataDir, camera_id: int) -> tuple[list[SignedCheckpoint], list[str]]:
    """The file's checkpoints, and a problem line for each line that does not parse."""
    path = file_path(data, camera_id)
    found: list[SignedCheckpoint] = []
    bad: list[str] = []
    if not path.exists():
        return found, bad
    with path.open("rb") as f:
        for number, raw in enumerate(f, 1):
            try:
                entry = json.loads(raw)
                found.append(
                    SignedCheckpoint(
                        int(entry["camera_id"]),
                        int(entry["seq"]),
                        str(entry["link"]),
                        int(entry["time_us"]),
                        str(entry["key_id"]),
                        str(entry["signature"]),
                    )
                )
            except (ValueError, KeyError, TypeError):
                bad.append(f"{path.name} line {number} is not a checkpoint (cut or edited)")
    return found, bad


def rows(conn: Connection, camera_id: int) -> Iterator[SignedCheckpoint]:
    for r in conn.execute(select(C).where(C.c.camera_id == camera_id).order_by(C.c.seq)):
        yield SignedCheckpoint(r.camera_id, r.seq, r.link, r.time_us, r.key_id, r.signature)


def newest(conn: Connection, camera_id: int) -> SignedCheckpoint | None:
    r = conn.execute(
        select(C).where(C.c.camera_id == camera_id).order_by(C.c.seq.desc()).limit(1)
    ).first()
    if r is None:
        return None
    return SignedCheckpoint(r.camera_id, r.seq, r.link, r.time_us, r.key_id, r.signature)


def _last_file_seq(data: DataDir, camera_id: int) -> int | None:
    path = file_path(data, camera_id)
    if not path.exists():
        return None
    with path.open("rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - 4096))
        lines = f.read().splitlines()
    for raw in reversed(lines):
        try:
            return int(json.loads(raw)["seq"])
        except (ValueError, KeyError, TypeError):
            continue
    return None


def repair_file_tail(conn: Connection, data: DataDir, camera_id: int) -> bool:
    """Append the newest checkpoint to the file if a crash kept it out (see module doc)."""
    cp = newest(conn, camera_id)
    if cp is None:
        return False
    last = _last_file_seq(data, camera_id)
    if last is not None and last >= cp.seq:
        return False
    previous = conn.execute(
        select(C.c.seq)
        .where(C.c.camera_id == camera_id, C.c.seq < cp.seq)
        .order_by(C.c.seq.desc())
        .limit(1)
    ).scalar_one_or_none()
    if previous != last:
        return False  # more than the newest is missing: not a crash; verify reports it
    append_to_file(data, cp)
    log.warning("camera %s: checkpoint %s added to %s after a crash", camera_id, cp.seq, FILE_NAME)
    return True
