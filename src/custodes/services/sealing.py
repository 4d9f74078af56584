"""Seal a closed segment: digest, durable read-only placement, index row in one transaction.

`Sealer` remembers each camera's tail (next sequence number, picture size, current span,
whether a gap is open) so that the usual seal is one INSERT and one UPDATE. The memory is
only trusted while this process is the one writing (a recorder holds the data directory's
lock); it is dropped after any failure and reloaded from the database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from custodes.adapters import archive
from custodes.adapters.ffmpeg.bitstream import inspect_head
from custodes.clock import iso
from custodes.domain.spans import continues
from custodes.paths import DataDir
from custodes.recorder.events import SegmentClosed
from custodes.services import index

log = logging.getLogger(__name__)


class DigestMismatch(RuntimeError):
    """The index already holds this path with another digest: never overwrite, report."""


@dataclass(frozen=True)
class _Tail:
    next_seq: int
    size: tuple[int, int] | None
    span: index.SpanRow | None
    gap_open: bool


class Sealer:
    def __init__(self, engine: Engine, data: DataDir) -> None:
        self._engine = engine
        self._data = data
        self._tails: dict[int, _Tail] = {}

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
        return seq

    @property
    def engine(self) -> Engine:
        return self._engine

    def gap_opened(self, camera_id: int) -> None:
        tail = self._tails.get(camera_id)
        if tail is not None:
            self._tails[camera_id] = replace(tail, gap_open=True)

    def _index(self, row: index.SegmentRow, state: str | None) -> int:
        with self._engine.begin() as conn:
            tail = self._tails.get(row.camera_id) or _load_tail(conn, row.camera_id)
            seq = tail.next_seq
            index.insert_segment_row(conn, row, seq)
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
        self._tails[row.camera_id] = _Tail(seq + 1, size, span, False)
        return seq

    def _already_indexed(self, row: index.SegmentRow) -> int:
        with self._engine.connect() as conn:
            known = index.find_by_path(conn, row.path)
        if known is None:
            raise RuntimeError(f"{row.path}: insert refused but no such row is indexed")
        seq, sha = known
        if sha != row.sha256:
            raise DigestMismatch(f"{row.path}: indexed digest {sha} differs from file")
        return seq


def _load_tail(conn: Connection, camera_id: int) -> _Tail:
    last = index.last_segment(conn, camera_id)
    size = (last.width, last.height) if last and last.width and last.height else None
    return _Tail(
        next_seq=0 if last is None else last.seq + 1,
        size=size,
        span=index.last_span(conn, camera_id),
        gap_open=index.has_open_gap(conn, camera_id),
    )
