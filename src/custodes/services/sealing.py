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

from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from custodes.adapters import archive
from custodes.adapters.db import schema
from custodes.adapters.db.engine import write_first
from custodes.adapters.ffmpeg import segment_file
from custodes.adapters.ffmpeg.bitstream import inspect_head
from custodes.adapters.ffmpeg.stderr import StreamInfo
from custodes.clock import iso, now_us
from custodes.domain.alarm_wording import Wording
from custodes.domain.chain import GENESIS, Cadence, segment_link
from custodes.domain.spans import continues
from custodes.domain.timing import SegmentTiming
from custodes.paths import DataDir
from custodes.services import alarms, checkpoints, index, ledger, salvage, signing

log = logging.getLogger(__name__)
S = index.S
P = schema.pruned_ranges
RECORDER = "system:recorder"  # the ledger actor of what the recorder finds and does


@dataclass(frozen=True)
class SegmentClosed:
    """A segment ffmpeg has closed in the spool: what the sealer is given (by the recorder's
    stream worker, or by reconciliation after a crash)."""

    camera_id: int
    run_id: str
    spool_file: Path
    timing: SegmentTiming
    info: StreamInfo
    cause: str = salvage.CLOSED  # ffmpeg reported it closed (OPEN: found open after a crash)
    salvage: salvage.Salvage | None = None  # already cut to its whole fragments (reconcile)


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
    stream: Stream | None = None  # codec, size and audio of the newest segment
    run_id: str | None = None  # the newest segment's run and end: a hole inside a run
    end_us: int | None = None  # is a gap of its own


Stream = tuple[str | None, int | None, int | None, str | None]
# Inside one ffmpeg run, consecutive segments further apart than this leave a hole the
# timeline shows; it gets a gap row with its reason (spans break at 1 s: domain/spans.py).
HOLE_US = 1_000_000


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
        self.salvaged = 0  # segments sealed short by this sealer (services/salvage.py)

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

        `state`, when given, is written as the camera's state in the same transaction. A
        segment that is not whole is cut to its whole fragments and sealed with its true
        duration and a note (services/salvage.py); one with no whole fragment raises
        salvage.NoFootage, after it is recorded.
        """
        event, row = self._prepare(event, sync=True)
        try:
            seq = self._index([(row, state, event.salvage)])[0]
        except IntegrityError:
            # Already indexed (a seal redone after a crash): verify, never duplicate.
            self._tails.pop(event.camera_id, None)
            seq = self._already_indexed(row)
        except BaseException:
            self._tails.pop(event.camera_id, None)
            raise
        self._finish(event, row, sync=True)
        return seq

    def seal_many(
        self, events: list[tuple[SegmentClosed, str | None]]
    ) -> list[tuple[SegmentClosed, int | None]]:
        """Seal a group at once (the recorder's cameras closing segments in the same
        moment): each is checked and hashed, the group made durable by one sync, all rows
        written in one transaction. (event, seq) per event, seq None where the file held no
        footage (recorded, see `seal`). Any other failure raises, nothing committed: the
        caller seals the group's events one by one (`seal` handles a redo)."""
        prepared: list[tuple[SegmentClosed, index.SegmentRow, str | None]] = []
        results: list[tuple[SegmentClosed, int | None]] = []
        for event, state in events:
            try:
                done, row = self._prepare(event, sync=False)
            except salvage.NoFootage:
                results.append((event, None))
                continue
            prepared.append((done, row, state))
        if not prepared:
            return results
        archive.make_durable(
            self._data.archive, [self._data.archive / row.path for _, row, _ in prepared]
        )
        try:
            seqs = self._index([(row, state, ev.salvage) for ev, row, state in prepared])
        except BaseException:
            for ev, _, _ in prepared:
                self._tails.pop(ev.camera_id, None)
            raise
        for (ev, row, _), seq in zip(prepared, seqs, strict=True):
            self._finish(ev, row, sync=False)
            results.append((ev, seq))
        return results

    def _prepare(
        self, event: SegmentClosed, *, sync: bool
    ) -> tuple[SegmentClosed, index.SegmentRow]:
        """Steps 0–3: whole (or cut to whole), hashed, linked into the archive, read-only;
        fsynced with `sync` (otherwise the caller makes the group durable)."""
        event = self._make_whole(event)
        digest = archive.hash_and_sync(event.spool_file, sync=sync)
        rel = archive.archive_relpath(
            event.camera_id, event.timing.start_us, event.run_id, event.spool_file.name
        )
        archive.place(event.spool_file, self._data.archive / rel, sync=sync)
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
            salvaged=event.salvage.note if event.salvage is not None else None,
        )
        return event, row

    def _finish(self, event: SegmentClosed, row: index.SegmentRow, *, sync: bool) -> None:
        """Step 5, after the commit."""
        if event.salvage is not None:
            self.salvaged += 1
        archive.release_spool(event.spool_file, sync=sync)
        # only now: an immutable inode could not lose its spool name
        archive.make_immutable(self._data.archive / row.path)

    @property
    def engine(self) -> Engine:
        return self._engine

    def _make_whole(self, event: SegmentClosed) -> SegmentClosed:
        """The event of a whole file: as it is, or cut to its whole fragments and measured."""
        scan = segment_file.scan(event.spool_file)
        expected = event.timing.duration_us if event.cause == salvage.CLOSED else None
        try:
            if not scan.complete:
                done = salvage.salvage(self._data, event.spool_file, scan, event.cause, expected)
            elif event.salvage is not None:
                return event  # cut by reconciliation already
            elif (tail := salvage.previous_tail(self._data, event.spool_file)) is not None:
                # a salvage interrupted after the cut: whole now, measured again
                done = salvage.remeasure(
                    self._data, event.spool_file, event.cause, expected, tail, scan
                )
            elif expected is not None and not scan.closed:
                # whole boxes, no closing mfra: its last writes may have been refused whole
                unclosed = salvage.measure_unclosed(self._data, event.spool_file, scan, expected)
                if unclosed is None:
                    return event
                done = unclosed
            else:
                return event
        except salvage.NoFootage as exc:
            if exc.quarantined is not None:
                self.record_quarantined(event.camera_id, event.spool_file, exc)
            raise
        timing = SegmentTiming(
            event.timing.start_us,
            event.timing.start_us + done.duration_us,
            done.duration_us,
            event.timing.drift_us,
        )
        info = StreamInfo(
            event.info.video_codec or done.info.video_codec,
            event.info.width or done.info.width,
            event.info.height or done.info.height,
            event.info.audio_codec or done.info.audio_codec,
        )
        log.warning("camera %s: segment %s %s", event.camera_id, event.spool_file, done.note)
        return replace(event, timing=timing, info=info, salvage=done)

    def quarantine(self, camera_id: int, spool_file: Path, reason: str) -> salvage.NoFootage:
        """Move a spool file that holds no footage the sealer can seal into quarantine, and
        record it; returns the exception to raise."""
        exc = salvage.to_quarantine(self._data, spool_file, reason)
        self.record_quarantined(camera_id, spool_file, exc)
        return exc

    def record_quarantined(self, camera_id: int, spool_file: Path, exc: salvage.NoFootage) -> None:
        """The quarantine row, the ledger entry and the alarm of a file set aside."""
        now = now_us()
        with self._engine.begin() as conn:
            conn.execute(
                insert(schema.quarantine).values(
                    camera_id=camera_id,
                    original_path=str(spool_file),
                    path=str(exc.quarantined),
                    bytes=exc.size,
                    reason=str(exc),
                    found_us=now,
                )
            )
            ledger.record(
                conn,
                actor=RECORDER,
                action=ledger.FILE_QUARANTINED,
                object=f"camera:{camera_id}",
                details={
                    "camera_id": camera_id,
                    "spool_file": str(spool_file),
                    "quarantined": str(exc.quarantined),
                    "bytes": exc.size,
                    "reason": str(exc),
                },
                time_us=now,
            )
            alarms.raise_footage_cut(
                conn, camera_id, (alarms.QUARANTINED, {"reason": str(exc)}), now
            )

    def gap_opened(self, camera_id: int) -> None:
        tail = self._tails.get(camera_id)
        if tail is not None:
            self._tails[camera_id] = replace(tail, gap_open=True)

    def _index(
        self, items: list[tuple[index.SegmentRow, str | None, salvage.Salvage | None]]
    ) -> list[int]:
        """Step 4 for one or more segments, in one transaction: rows, links, checkpoints,
        gaps, spans, state. The rows go in with one statement, each span's growth with one."""
        signer = self.signer()
        signed: list[checkpoints.SignedCheckpoint] = []
        work: dict[int, _Tail] = {}
        seqs: list[int] = []
        with self._engine.begin() as conn:
            write_first(conn)  # the tails are read before rows are written
            writes = index.SegmentWrites()
            for row, state, salvaged in items:
                cam = row.camera_id
                tail = work.get(cam) or self._tails.get(cam) or self._load_tail(conn, cam)
                tail, seq, cp = self._apply(conn, writes, tail, row, state, salvaged, signer)
                work[cam] = tail
                seqs.append(seq)
                if cp is not None:
                    signed.append(cp)
            writes.flush(conn)
            for cp in signed:
                checkpoints.insert_row(conn, cp)
        for cp in signed:
            checkpoints.append_to_file(self._data, cp)
        self._tails.update(work)
        return seqs

    def _apply(
        self,
        conn: Connection,
        writes: index.SegmentWrites,
        tail: _Tail,
        row: index.SegmentRow,
        state: str | None,
        salvaged: salvage.Salvage | None,
        signer: signing.Signer,
    ) -> tuple[_Tail, int, checkpoints.SignedCheckpoint | None]:
        seq = tail.next_seq
        link = segment_link(
            tail.link, row.camera_id, seq, row.start_us, row.end_us, row.bytes, row.sha256
        )
        writes.add_row(row, seq, link.hex())
        if salvaged is not None:
            self._record_salvage(conn, row, seq, salvaged)
        signed = None
        cp_seq, cp_end = tail.checkpoint_seq, tail.checkpoint_end_us
        if cp_seq is None or self._cadence.due(seq - cp_seq, row.end_us - cp_end):
            signed = checkpoints.sign(signer, row.camera_id, seq, link.hex(), now_us())
            cp_seq, cp_end = seq, row.end_us
        if tail.gap_open:
            index.close_open_gap(conn, row.camera_id, row.start_us)
        elif (
            tail.run_id == row.run_id
            and tail.end_us is not None
            and row.start_us - tail.end_us > HOLE_US
        ):
            index.close_gap_at_once(
                conn, row.camera_id, tail.end_us, row.start_us, _hole_reason(tail, row)
            )
        span = tail.span
        if span is not None and continues(span.end_us, row.start_us):
            span = writes.grow_span(span, row)
        else:
            span = index.new_span(conn, row)
        size = (row.width, row.height) if row.width and row.height else tail.size
        if tail.size and size and size != tail.size:
            change = (
                f"stream changed resolution {tail.size[0]}x{tail.size[1]} -> "
                f"{size[0]}x{size[1]} at {iso(row.start_us)}; recorded as sent"
            )
            log.warning("camera %s: %s", row.camera_id, change)
            index.set_state(conn, row.camera_id, state or "recording", change)
        elif state is not None:
            index.set_state(conn, row.camera_id, state)
        stream: Stream = (row.video_codec, row.width, row.height, row.audio_codec)
        if stream != tail.stream:
            index.set_stream(conn, row.camera_id, *stream)
        new_tail = _Tail(
            seq + 1, link, cp_seq, cp_end, size, span, False, stream, row.run_id, row.end_us
        )
        return new_tail, seq, signed

    def _record_salvage(
        self, conn: Connection, row: index.SegmentRow, seq: int, done: salvage.Salvage
    ) -> None:
        now = now_us()
        if done.tail is not None:
            conn.execute(
                insert(schema.quarantine).values(
                    camera_id=row.camera_id,
                    original_path=str(done.tail.path.name),
                    path=str(done.tail.path),
                    bytes=done.tail.bytes,
                    reason="the unfinished last fragment of a segment cut short",
                    found_us=now,
                    segment_path=row.path,
                )
            )
        ledger.record(
            conn,
            actor=RECORDER,
            action=ledger.SEGMENT_SALVAGED,
            object=f"camera:{row.camera_id}",
            details={
                "camera_id": row.camera_id,
                "seq": seq,
                "path": row.path,
                "sha256": row.sha256,
                "bytes": row.bytes,
                "original_bytes": done.original_bytes,
                "duration_us": row.duration_us,
                "tail": None if done.tail is None else str(done.tail.path),
                "note": done.note,
            },
            time_us=now,
        )
        latest = (alarms.SALVAGED, {"seq": str(seq), "note": done.note})
        alarms.raise_footage_cut(conn, row.camera_id, latest, now)

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
        newest_cp = checkpoints.newest_vouched(conn, self._data, camera_id)
        size = (last.width, last.height) if last and last.width and last.height else None
        if last is not None and (newest_cp is None or last.seq >= newest_cp.seq):
            next_seq, link = last.seq + 1, bytes.fromhex(last.link)
        elif newest_cp is not None:
            # every row pruned, or — never by us — rows a checkpoint vouches for are gone:
            # the chain goes on from the signed link, and no signed seq is given again
            next_seq, link = newest_cp.seq + 1, bytes.fromhex(newest_cp.link)
            self._report_cut(conn, camera_id, last, newest_cp)
        else:
            next_seq, link = 0, GENESIS
        cp_end = 0  # unknown (its row pruned or gone): the next checkpoint is due at once
        if newest_cp is not None:
            cp_end = _segment_end(conn, camera_id, newest_cp.seq) or 0
        return _Tail(
            next_seq=next_seq,
            link=link,
            checkpoint_seq=newest_cp.seq if newest_cp else None,
            checkpoint_end_us=cp_end,
            size=size,
            span=index.last_span(conn, camera_id),
            gap_open=index.has_open_gap(conn, camera_id),
            stream=None,  # written again with the first segment of this process
            run_id=last.run_id if last is not None else None,
            end_us=last.end_us if last is not None else None,
        )

    def _report_cut(
        self,
        conn: Connection,
        camera_id: int,
        last: index.LastSegment | None,
        cp: checkpoints.SignedCheckpoint,
    ) -> None:
        pruned_top = conn.execute(
            select(func.max(P.c.last_seq)).where(P.c.camera_id == camera_id)
        ).scalar()
        top = max(last.seq if last is not None else -1, -1 if pruned_top is None else pruned_top)
        if top >= cp.seq:
            return  # pruned by the sweep: nothing is missing
        said = Wording(
            "index-rows-gone",
            {
                "camera": str(camera_id),
                "first": str(top + 1),
                "last": str(cp.seq),
                "checkpoint": str(cp.seq),
                "next": str(cp.seq + 1),
            },
        )
        log.error("%s (run `custodes verify`)", said.english)
        alarms.raise_alarm(conn, alarms.INTEGRITY, said, now_us())

    def _already_indexed(self, row: index.SegmentRow) -> int:
        with self._engine.connect() as conn:
            known = index.find_by_path(conn, row.path)
        if known is None:
            raise RuntimeError(f"{row.path}: insert refused but no such row is indexed")
        seq, sha = known
        if sha != row.sha256:
            raise DigestMismatch(f"{row.path}: indexed digest {sha} differs from file")
        return seq


def _hole_reason(tail: _Tail, row: index.SegmentRow) -> str:
    assert tail.end_us is not None
    hole = (row.start_us - tail.end_us) / 1e6
    return (
        f"no video for {hole:.1f} s inside the stream: it delivered its video slower than "
        "real time, or stalled and caught up (the connection stayed open)"
    )


def _segment_end(conn: Connection, camera_id: int, seq: int) -> int | None:
    return conn.execute(
        select(S.c.end_us).where(S.c.camera_id == camera_id, S.c.seq == seq)
    ).scalar_one_or_none()
