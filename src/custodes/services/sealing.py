"""Seal a closed segment: digest, durable read-only placement, index row in one transaction."""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from custodes.adapters import archive
from custodes.adapters.ffmpeg.bitstream import inspect_head
from custodes.clock import iso
from custodes.paths import DataDir
from custodes.recorder.events import SegmentClosed
from custodes.services import index

log = logging.getLogger(__name__)


class DigestMismatch(RuntimeError):
    """The index already holds this path with another digest: never overwrite, report."""


def seal(engine: Engine, data: DataDir, event: SegmentClosed, *, state: str | None = None) -> int:
    """Returns the segment's sequence number. Safe to repeat after a crash at any step.

    `state`, when given, is written as the camera's state in the same transaction.
    """
    digest = archive.hash_and_sync(event.spool_file)
    rel = archive.archive_relpath(
        event.camera_id, event.timing.start_us, event.run_id, event.spool_file.name
    )
    archive.place(event.spool_file, data.archive / rel)
    picture = inspect_head(digest.head)
    width = picture.width or event.info.width
    height = picture.height or event.info.height
    with engine.begin() as conn:
        last = index.last_segment(conn, event.camera_id)
        known = index.find_by_path(conn, str(rel))
        if known is not None:
            seq, sha = known
            if sha != digest.sha256:
                raise DigestMismatch(f"{rel}: indexed digest {sha} differs from file")
        else:
            seq = 0 if last is None else last.seq + 1
            index.insert_segment(
                conn,
                index.SegmentRow(
                    camera_id=event.camera_id,
                    start_us=event.timing.start_us,
                    end_us=event.timing.end_us,
                    duration_us=event.timing.duration_us,
                    drift_us=event.timing.drift_us,
                    bytes=digest.size,
                    video_codec=event.info.video_codec or picture.codec,
                    width=width,
                    height=height,
                    audio_codec=event.info.audio_codec,
                    path=str(rel),
                    sha256=digest.sha256,
                    run_id=event.run_id,
                ),
                seq,
            )
        before = (last.width, last.height) if last else None
        if known is None and before and before[0] and width and before != (width, height):
            change = (
                f"stream changed resolution {before[0]}x{before[1]} -> {width}x{height} "
                f"at {iso(event.timing.start_us)}; recorded as sent"
            )
            log.warning("camera %s: %s", event.camera_id, change)
            index.set_state(conn, event.camera_id, state or "recording", change, error=change)
        elif state is not None:
            index.set_state(conn, event.camera_id, state)
    archive.release_spool(event.spool_file)
    return seq
