"""Seal a closed segment: digest, durable read-only placement, index row in one transaction.

The row carries the camera's chain link (domain/chain.py); every `Cadence` segments or
minutes the same transaction adds a signed checkpoint, appended to the camera's checkpoint
file right after the commit (services/checkpoints.py).

`Sealer` remembers each camera's tail (next sequence number, last link, last checkpoint,
picture size, current span, whether a gap is open) so that the usual seal is one INSERT and
one UPDATE. The memory is only trusted while this process is the one writing (a recorder
holds the data directory's lock); it is dropped after any failure and reloaded from the
database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from custodes.adapters import archive
from custodes.adapters.db.engine import write_first
from custodes.adapters.ffmpeg.bitstream import inspect_head
from custodes.adapters.ffmpeg.stderr import StreamInfo
from custodes.clock import iso, now_us
from custodes.domain.chain import GENESIS, Cadence, segment_link
from custodes.domain.spans import continues
from custodes.domain.timing import SegmentTiming
from custodes.paths import DataDir
from custodes.services import checkpoints, index, signing

log = logging.getLogger(__name__)
S = index.S


@dataclass(frozen=True)
class SegmentClosed:
    """A segment ffmpeg has closed in the spool: what the sealer is given (by the recorder's
    stream worker, or by reconciliation after a crash)."""

    camera_id: int
    run_id: str
    spool_file: Path
    timing: SegmentTiming
    info: StreamInfo


class DigestMismatch(RuntimeError):
    """The index already holds this path with another digest: never overwrite, report."""


@dataclass(frozen=True)
class _Tail:
    next_seq: int
    link: bytes  # the newest segment's link (GENESIS before the first)
    checkpoint_seq: int | None  # the newest checkpoint's seq
    checkpoint_end_us: int  # end of the segment it anchors
    size: tuple[int, int] | None
    span: index.SpanRow | None
    gap_open: bool


class Sealer:
    def __init__(
        self,
        engine: Engine,
        data: DataDir,
        *,
        cadence: Cadence | None = None,
        signer: signing.Signer | None = None,
    ) -> None:
        self._engine = engine
        self._data = data
        self._cadence = cadence or Cadence()
        self._signer = signer
        self._signer_registered = False
        self._tails: dict[int, _Tail] = {}

    def signer(self) -> signing.Signer:
        """The installation's key, its public half recorded before its first signature."""
        if self._signer is None:
            self._signer = signing.load_signer(self._data)
        if not self._signer_registered:
            with self._engine.begin() as conn:
                write_first(conn)
                signing.register(conn, self._data, self._signer, now_us())
            self._signer_registered = True
        return self._signer

    def seal(self, event: SegmentClosed, *, state: str | None = None) -> int:
        """Returns the segment's sequence number. Safe to repeat after a crash at any step.

        `state`, when given, is written as the camera's state in the same transaction.
        """
        digest = archive.hash_and_sync(event.spool_file)
        rel = archive.archive_relpath(
            event.camera_id, event.timing.start_us, event.run_id, event.spool_file.name
        )
        archive.place(event.spool_file, self._data.archive / rel)
        picture = inspect_head(digest.head)
        row = index.SegmentRow(
            camera_id=event.camera_id,
            start_us=event.timing.start_us,
            end_us=event.timing.end_us,
            duration_us=event.timing.duration_us,
            drift_us=event.timing.drift_us,
            bytes=digest.size,
            video_codec=event.info.video_codec or picture.codec,
            width=picture.width or event.info.width,
            height=picture.height or event.info.height,
            audio_codec=event.info.audio_codec,
            path=str(rel),
            sha256=digest.sha256,
            run_id=event.run_id,
        )
        try:
            seq = self._index(row, state)
        except IntegrityError:
            # Already indexed (a seal redone after a crash): verify, never duplicate.
            self._tails.pop(event.camera_id, None)
            seq = self._already_indexed(row)
        except BaseException:
            self._tails.pop(event.camera_id, None)
            raise
        archive.release_spool(event.spool_file)
        # only now: an immutable inode could not lose its spool name
        archive.make_immutable(self._data.archive / rel)
        return seq

    @property
    def engine(self) -> Engine:
        return self._engine

    def gap_opened(self, camera_id: int) -> None:
        tail = self._tails.get(camera_id)
        if tail is not None:
            self._tails[camera_id] = replace(tail, gap_open=True)

    def _index(self, row: index.SegmentRow, state: str | None) -> int:
        signer = self.signer()
        signed: checkpoints.SignedCheckpoint | None = None
        with self._engine.begin() as conn:
            if row.camera_id not in self._tails:
                write_first(conn)  # the tail is read before the row is written
            tail = self._tails.get(row.camera_id) or self._load_tail(conn, row.camera_id)
            seq = tail.next_seq
            link = segment_link(
                tail.link, row.camera_id, seq, row.start_us, row.end_us, row.bytes, row.sha256
            )
            index.insert_segment_row(conn, row, seq, link.hex())
            cp_seq, cp_end = tail.checkpoint_seq, tail.checkpoint_end_us
            if cp_seq is None or self._cadence.due(seq - cp_seq, row.end_us - cp_end):
                signed = checkpoints.sign(signer, row.camera_id, seq, link.hex(), now_us())
                checkpoints.insert_row(conn, signed)
                cp_seq, cp_end = seq, row.end_us
            if tail.gap_open:
                index.close_open_gap(conn, row.camera_id, row.start_us)
            span = tail.span
            if span is not None and continues(span.end_us, row.start_us):
                span = index.grow_span(conn, span, row)
            else:
                span = index.new_span(conn, row)
            size = (row.width, row.height) if row.width and row.height else tail.size
            if tail.size and size and size != tail.size:
                change = (
                    f"stream changed resolution {tail.size[0]}x{tail.size[1]} -> "
                    f"{size[0]}x{size[1]} at {iso(row.start_us)}; recorded as sent"
                )
                log.warning("camera %s: %s", row.camera_id, change)
                index.set_state(conn, row.camera_id, state or "recording", change, error=change)
            elif state is not None:
                index.set_state(conn, row.camera_id, state)
        if signed is not None:
            checkpoints.append_to_file(self._data, signed)
        self._tails[row.camera_id] = _Tail(seq + 1, link, cp_seq, cp_end, size, span, False)
        return seq

    def checkpoint_now(self, camera_id: int) -> int | None:
        """Sign the camera's newest link if no checkpoint covers it yet (at a clean stop, so
        that no unsigned tail is left). Returns the seq signed, or None. The link is the one
        this sealer computed (its memory), not one read back from the index."""
        signer = self.signer()
        with self._engine.begin() as conn:
            write_first(conn)
            tail = self._tails.get(camera_id) or self._load_tail(conn, camera_id)
            seq = tail.next_seq - 1
            if seq < 0 or tail.checkpoint_seq == seq:
                return None
            signed = checkpoints.sign_at(conn, signer, camera_id, seq, tail.link.hex(), now_us())
        if signed is not None:
            checkpoints.append_to_file(self._data, signed)
        self._tails.pop(camera_id, None)
        return None if signed is None else seq

    def _load_tail(self, conn: Connection, camera_id: int) -> _Tail:
        checkpoints.repair_file_tail(conn, self._data, camera_id)
        last = index.last_segment(conn, camera_id)
        newest_cp = checkpoints.newest(conn, camera_id)
        size = (last.width, last.height) if last and last.width and last.height else None
        if last is not None:
            next_seq, link = last.seq + 1, bytes.fromhex(last.link)
        elif newest_cp is not None:  # every row pruned: the chain goes on from the checkpoint
            next_seq, link = newest_cp.seq + 1, bytes.fromhex(newest_cp.link)
        else:
            next_seq, link = 0, GENESIS
        cp_end = last.end_us if last is not None and newest_cp is not None else 0
        if newest_cp is not None and last is not None and newest_cp.seq != last.seq:
            cp_end = _segment_end(conn, camera_id, newest_cp.seq) or 0
        return _Tail(
            next_seq=next_seq,
            link=link,
            checkpoint_seq=newest_cp.seq if newest_cp else None,
            checkpoint_end_us=cp_end,
            size=size,
            span=index.last_span(conn, camera_id),
            gap_open=index.has_open_gap(conn, camera_id),
        )

    def _already_indexed(self, row: index.SegmentRow) -> int:
        with self._engine.connect() as conn:
            known = index.find_by_path(conn, row.path)
        if known is None:
            raise RuntimeError(f"{row.path}: insert refused but no such row is indexed")
        seq, sha = known
        if sha != row.sha256:
            raise DigestMismatch(f"{row.path}: indexed digest {sha} differs from file")
        return seq


def _segment_end(conn: Connection, camera_id: int, seq: int) -> int | None:
    return conn.execute(
        select(S.c.end_us).where(S.c.camera_id == camera_id, S.c.seq == seq)
    ).scalar_one_or_none()
