"""Signed checkpoints of the segment chains: in the database and in a file beside the archive.

Each camera's checkpoints are rows of `checkpoints` and lines of
`archive/camNNNNN/checkpoints.jsonl` (append-only, fsynced). The row commits with the segment
it anchors (the sealer), or on its own over an indexed segment (`sign_at` at a clean stop;
`sign_recent` when an export takes footage no checkpoint follows yet); the line is appended
right after the commit. A crash between the two leaves the file one checkpoint short:
`repair_file_tail` appends that one (and only that one) on the next start, so a file
truncated by hand is still reported by `custodes verify`. Two processes may append (the
recorder and an export), so the file's lines are in commit order only nearly: readers
compare sets, never positions.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from custodes.adapters.db import schema
from custodes.adapters.db.engine import write_first
from custodes.domain.chain import GENESIS, Checkpoint, segment_link
from custodes.domain.finding_wording import Part
from custodes.paths import DataDir
from custodes.services import index
from custodes.services.signing import (
    Signer,
    append_line,
    public_keys,
    public_keys_from_file,
    signature_ok,
)

log = logging.getLogger(__name__)
C = schema.checkpoints
S = schema.segments
FILE_NAME = "checkpoints.jsonl"
_TAIL_BYTES = 64 * 1024  # the file's recent lines: where a crash or a late append shows


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


def read_file(data: DataDir, camera_id: int) -> tuple[list[SignedCheckpoint], list[Part]]:
    """The file's checkpoints, and a problem (domain/finding_wording.py) for each line that
    does not parse."""
    path = file_path(data, camera_id)
    found: list[SignedCheckpoint] = []
    bad: list[Part] = []
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
                bad.append(("checkpoint-line-bad", {"file": path.name, "line": str(number)}))
    return found, bad


def rows(conn: Connection, camera_id: int) -> Iterator[SignedCheckpoint]:
    for r in conn.execute(select(C).where(C.c.camera_id == camera_id).order_by(C.c.seq)):
        yield _signed(r)


def newest(conn: Connection, camera_id: int) -> SignedCheckpoint | None:
    r = conn.execute(
        select(C).where(C.c.camera_id == camera_id).order_by(C.c.seq.desc()).limit(1)
    ).first()
    return None if r is None else _signed(r)


def _recent_file_seqs(data: DataDir, camera_id: int) -> set[int]:
    """The seqs of the checkpoints in the file's last lines (a set: appenders may race)."""
    return {c.seq for c in _recent_file_checkpoints(data, camera_id)}


def repair_file_tail(conn: Connection, data: DataDir, camera_id: int) -> bool:
    """Append the newest checkpoint to the file if a crash kept it out (see module doc)."""
    recent = list(
        conn.execute(select(C).where(C.c.camera_id == camera_id).order_by(C.c.seq.desc()).limit(2))
    )
    if not recent:
        return False
    in_file = _recent_file_seqs(data, camera_id)
    cp = _signed(recent[0])
    if cp.seq in in_file:
        return False
    if len(recent) > 1 and int(recent[1].seq) not in in_file:
        return False  # more than the newest is missing: not a crash; verify reports it
    append_to_file(data, cp)
    log.warning("camera %s: checkpoint %s added to %s after a crash", camera_id, cp.seq, FILE_NAME)
    return True


def newest_vouched(conn: Connection, data: DataDir, camera_id: int) -> SignedCheckpoint | None:
    """The newest checkpoint in either store whose signature verifies: the highest seq the
    camera's chain has been signed at. The file counts too — after rows and database
    checkpoints were cut, or a database restored from an older copy, the file still knows
    which seqs signed footage holds, and they must never be given to new footage."""
    candidates: list[SignedCheckpoint] = []
    db = newest(conn, camera_id)
    if db is not None:
        candidates.append(db)
    in_file = _recent_file_checkpoints(data, camera_id)
    if in_file and (db is None or max(c.seq for c in in_file) > db.seq):
        keys = {**public_keys_from_file(data), **public_keys(conn)}
        for cp in in_file:
            public = keys.get(cp.key_id)
            if public is not None and signature_ok(public, cp.body.message(), cp.signature):
                candidates.append(cp)
    return max(candidates, key=lambda c: c.seq, default=None)


def _recent_file_checkpoints(data: DataDir, camera_id: int) -> list[SignedCheckpoint]:
    path = file_path(data, camera_id)
    if not path.exists():
        return []
    with path.open("rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - _TAIL_BYTES))
        lines = f.read().splitlines()
    found: list[SignedCheckpoint] = []
    for raw in lines:
        try:
            e = json.loads(raw)
            found.append(
                SignedCheckpoint(
                    int(e["camera_id"]),
                    int(e["seq"]),
                    str(e["link"]),
                    int(e["time_us"]),
                    str(e["key_id"]),
                    str(e["signature"]),
                )
            )
        except (ValueError, KeyError, TypeError):
            continue
    return [c for c in found if c.camera_id == camera_id]


def _signed(r: Any) -> SignedCheckpoint:
    return SignedCheckpoint(
        int(r.camera_id), int(r.seq), r.link, int(r.time_us), r.key_id, r.signature
    )


def sign_at(
    conn: Connection, signer: Signer, camera_id: int, seq: int, link: str, time_us: int
) -> SignedCheckpoint | None:
    """Sign the chain at (seq, link) in the caller's transaction, unless a checkpoint at or
    after seq exists already (None then). The caller holds the write lock (write_first) and
    appends the result to the file after its commit."""
    newest_seq = conn.execute(
        select(C.c.seq).where(C.c.camera_id == camera_id).order_by(C.c.seq.desc()).limit(1)
    ).scalar_one_or_none()
    if newest_seq is not None and int(newest_seq) >= seq:
        return None
    signed = sign(signer, camera_id, seq, link, time_us)
    insert_row(conn, signed)
    return signed


class ChainBroken(RuntimeError):
    """The index rows after the newest checkpoint do not give their stored links: nothing is
    signed over them (run `custodes verify`)."""


def sign_recent(
    engine: Engine,
    data: DataDir,
    signer: Signer,
    camera_id: int,
    time_us: int,
    upto_seq: int | None = None,
) -> SignedCheckpoint | None:
    """Sign the camera's chain at `upto_seq` (default: its newest indexed segment) if no
    checkpoint vouches for it yet: what an export takes is signed now rather than at the
    recorder's next checkpoint (it then verifies strictly, and carries no rows after it).
    The rows after the newest checkpoint are recomputed from their fields first, so a tail
    whose rows do not give their links is refused, never signed — as is any tail while the
    checkpoint file holds checkpoints the database lacks (a rewritten chain would otherwise
    be signed over what the file still vouches for). Safe beside a running
    recorder: the rows are read under the write lock, and the sealer only signs the seq it
    is inserting."""
    with engine.begin() as conn:
        write_first(conn)
        last = index.last_segment(conn, camera_id)
        if last is None:
            return None
        target = last.seq if upto_seq is None else min(upto_seq, last.seq)
        newest_cp = newest(conn, camera_id)
        if newest_cp is not None and newest_cp.seq >= target:
            return None
        above = sorted(
            c.seq
            for c in _recent_file_checkpoints(data, camera_id)
            if c.seq > (-1 if newest_cp is None else newest_cp.seq)
        )
        if above:  # never the case but after a cut or a restore: sign nothing over it
            raise ChainBroken(
                f"camera {camera_id}: the checkpoint file holds checkpoint(s) at seq "
                f"{', '.join(map(str, above))} that the database lacks (its rows or checkpoints "
                "were cut, or it was restored from an older copy); nothing was signed "
                "(run `custodes verify`)"
            )
        link = _check_tail_links(conn, camera_id, newest_cp, target)
        signed = sign_at(conn, signer, camera_id, target, link, time_us)
    if signed is not None:
        append_to_file(data, signed)
    return signed


def _check_tail_links(
    conn: Connection, camera_id: int, cp: SignedCheckpoint | None, upto: int
) -> str:
    """Recompute the rows after `cp` up to seq `upto` from their fields; the link at `upto`."""
    after = -1 if cp is None else cp.seq
    prev = GENESIS if cp is None else bytes.fromhex(cp.link)
    expected = after + 1
    rows = conn.execute(
        select(S.c.seq, S.c.start_us, S.c.end_us, S.c.bytes, S.c.sha256, S.c.link)
        .where(S.c.camera_id == camera_id, S.c.seq > after, S.c.seq <= upto)
        .order_by(S.c.seq)
    )
    for r in rows:
        if int(r.seq) != expected:
            raise ChainBroken(
                f"camera {camera_id}: index rows {expected}–{int(r.seq) - 1} after checkpoint "
                f"{after} are gone; nothing was signed (run `custodes verify`)"
            )
        computed = segment_link(
            prev, camera_id, int(r.seq), int(r.start_us), int(r.end_us), int(r.bytes), r.sha256
        )
        if computed.hex() != r.link:
            raise ChainBroken(
                f"camera {camera_id}: segment {int(r.seq)} does not give its chain link; "
                "nothing was signed (run `custodes verify`)"
            )
        prev = computed
        expected += 1
    if expected != upto + 1:
        raise ChainBroken(
            f"camera {camera_id}: index rows {expected}–{upto} are gone; nothing was signed "
            "(run `custodes verify`)"
        )
    return prev.hex()
