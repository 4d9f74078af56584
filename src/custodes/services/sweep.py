"""The sweep: delete footage past retention and not held — and nothing else.

First the holds are brought up to date: access holds whose grant has expired are released
(a ledger entry each, by system:retention), and an open request or live grant lacking its
access holds gets them (services/retention.py). Then, per camera, the cutoff: footage whose
end is before `deletable_before(now, floor)` has run out its period (domain/periods.py, the
same function that counts one segment's period, inverted once per camera), so each interval
is judged by comparing its newest end with one number — nothing is computed per segment.

Deletion goes a checkpoint interval at a time (the segments after one signed checkpoint up to
and including the next), oldest first, so that `verify` can go on after a pruned range from
the checkpoint that closes it. Each batch:

1. one transaction: a `pruned_ranges` row in state 'deleting' and a ledger entry with the
   camera, the seq range and every digest;
2. the files are unlinked (their directories fsynced);
3. one transaction: the index rows go, the spans are trimmed, the range is 'done'.

A crash after 1 leaves a 'deleting' range, which the next sweep (and the recorder's start)
finishes first. The cost of a batch is a few index lookups plus its own rows and files,
not the archive's size.
"""

from __future__ import annotations

import json
import logging
import os
import signal
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from custodes.adapters import archive
from custodes.adapters.db import schema
from custodes.adapters.db.engine import write_first
from custodes.domain.alarm_wording import Wording
from custodes.domain.periods import SiteCalendar
from custodes.services import alarms, ledger
from custodes.services.context import Context
from custodes.services.retention import (
    holds_for,
    jurisdiction,
    policy_for,
    release_expired_access_holds,
    restore_access_holds,
    site_calendar,
)

log = logging.getLogger(__name__)
S = schema.segments
SP = schema.spans
C = schema.checkpoints
P = schema.pruned_ranges
SWEEPER = "system:sweep"
CRASH_ENV = "CUSTODES_CRASH_AT"


@dataclass
class SweepReport:
    batches: int = 0
    segments: int = 0
    bytes: int = 0
    per_camera: dict[int, int] = field(default_factory=dict)

    def add(self, camera_id: int, segments: int, size: int) -> None:
        self.batches += 1
        self.segments += segments
        self.bytes += size
        self.per_camera[camera_id] = self.per_camera.get(camera_id, 0) + segments


def sweep(
    ctx: Context,
    *,
    actor: str = SWEEPER,
    camera_ids: Iterable[int] | None = None,
    within: tuple[int, int] | None = None,
    max_batches: int | None = None,
) -> SweepReport:
    """Delete every checkpoint interval that is past retention and not held (only those
    inside `within`, when given). Raises RetentionConfigError, deleting nothing, when the
    settings do not let retention be counted (no jurisdiction, an unknown time zone)."""
    report = SweepReport()
    finish_pending(ctx)
    release_expired_access_holds(ctx)
    restore_access_holds(ctx)
    now = ctx.clock()
    with ctx.engine.connect() as conn:
        site = site_calendar(conn, jurisdiction(conn))  # countable, or nothing is deleted
    with ctx.engine.connect() as conn:
        cams = (
            list(camera_ids)
            if camera_ids is not None
            else [r[0] for r in conn.execute(select(schema.cameras.c.id).order_by("id"))]
        )
    for cam in cams:
        for a, b in _expired_intervals(ctx, cam, now, within, site):
            if max_batches is not None and report.batches >= max_batches:
                return report
            pruned = _prune(ctx, cam, a, b, actor)
            if pruned is not None:
                report.add(cam, *pruned)
    return report


def _expired_intervals(
    ctx: Context, cam: int, now: int, within: tuple[int, int] | None, site: SiteCalendar
) -> Iterable[tuple[int, int]]:
    with ctx.engine.connect() as conn:
        policy = policy_for(conn, cam)
        holds = [h for h in holds_for(conn, cam) if h.active(now)]
        # footage ending before the cutoff has run out its period; from it on, none has
        cutoff = site.deletable_before(now, policy.period)
        first = conn.execute(select(func.min(S.c.seq)).where(S.c.camera_id == cam)).scalar()
        if first is None:
            return []
        found: list[tuple[int, int]] = []
        lo = int(first)
        previous = conn.execute(
            select(func.max(C.c.seq)).where(C.c.camera_id == cam, C.c.seq < lo)
        ).scalar()
        if previous is not None:
            lo = int(previous) + 1
        for (cp_seq,) in conn.execute(
            select(C.c.seq).where(C.c.camera_id == cam, C.c.seq >= lo).order_by(C.c.seq)
        ):
            bounds = conn.execute(
                select(func.min(S.c.start_us), func.max(S.c.end_us), func.count()).where(
                    S.c.camera_id == cam, S.c.seq >= lo, S.c.seq <= cp_seq
                )
            ).one()
            start, end, count = bounds
            if count == 0:  # pruned before
                lo = cp_seq + 1
                continue
            if end >= cutoff or (within is not None and end > within[1]):
                break
            inside = within is None or start >= within[0]
            if inside and not any(h.covers(start, end) for h in holds):
                found.append((lo, int(cp_seq)))
            lo = cp_seq + 1
        return found


def _prune(ctx: Context, cam: int, a: int, b: int, actor: str) -> tuple[int, int] | None:
    """Delete one interval: (segments, bytes), or None when there is nothing to delete or a
    hold placed since the interval was judged (an access request filed meanwhile) covers it."""
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        write_first(conn)
        # behind any access step under way (it writes its ledger entry before its holds): on
        # PostgreSQL a request filed now is committed, and its hold read below, or waits
        ledger.lock_head(conn)
        rows = conn.execute(
            select(S.c.seq, S.c.path, S.c.sha256, S.c.bytes, S.c.start_us, S.c.end_us)
            .where(S.c.camera_id == cam, S.c.seq >= a, S.c.seq <= b)
            .order_by(S.c.seq)
        ).all()
        if not rows:
            return None
        first, last = min(r.start_us for r in rows), max(r.end_us for r in rows)
        if any(h.active(now) and h.covers(first, last) for h in holds_for(conn, cam)):
            return None
        size = sum(r.bytes for r in rows)
        entry = ledger.record(
            conn,
            actor=actor,
            action=ledger.SWEEP_BATCH,
            object=f"camera:{cam}",
            details={
                "camera_id": cam,
                "first_seq": a,
                "last_seq": b,
                "segments": len(rows),
                "bytes": size,
                "start_us": rows[0].start_us,
                "end_us": rows[-1].end_us,
                "sha256": [r.sha256 for r in rows],
            },
            time_us=now,
        )
        conn.execute(
            insert(P).values(
                camera_id=cam,
                first_seq=a,
                last_seq=b,
                start_us=rows[0].start_us,
                end_us=rows[-1].end_us,
                segments=len(rows),
                bytes=size,
                state="deleting",
                ledger_seq=entry,
                created_us=now,
            )
        )
    _unlink(ctx.data.archive, [r.path for r in rows])
    with ctx.engine.begin() as conn:
        _drop_rows(conn, cam, a, b)
    return len(rows), size


def finish_pending(ctx: Context) -> int:
    """Complete batches a crash interrupted (files first, then rows). Returns how many. Only
    a batch the ledger records (its `sweep-batch` entry names the camera and seq range) is
    finished: a 'deleting' row planted in the database deletes nothing — it is reported,
    with the integrity alarm."""
    with ctx.engine.connect() as conn:
        found = conn.execute(
            select(P.c.camera_id, P.c.first_seq, P.c.last_seq, P.c.ledger_seq).where(
                P.c.state == "deleting"
            )
        ).all()
        pending = []
        for cam, a, b, entry in found:
            if recorded_batch(conn, entry, cam, a, b):
                pending.append((cam, a, b))
                continue
            said = Wording(
                "deletion-unrecorded", {"camera": str(cam), "first": str(a), "last": str(b)}
            )
            log.error("%s", said.english)
            with ctx.engine.begin() as w:
                alarms.raise_alarm(w, alarms.INTEGRITY, said, ctx.clock())
    for cam, a, b in pending:
        with ctx.engine.connect() as conn:
            paths = [
                r[0]
                for r in conn.execute(
                    select(S.c.path).where(S.c.camera_id == cam, S.c.seq >= a, S.c.seq <= b)
                )
            ]
        _unlink(ctx.data.archive, paths)
        with ctx.engine.begin() as conn:
            _drop_rows(conn, cam, a, b)
        log.warning("camera %s: finished the interrupted deletion of seq %s–%s", cam, a, b)
    return len(pending)


def recorded_batch(conn: Connection, entry: int | None, cam: int, a: int, b: int) -> bool:
    """Whether ledger entry `entry` is the sweep-batch that deleted seq a–b of the camera."""
    if entry is None:
        return False
    row = conn.execute(
        select(schema.ledger.c.action, schema.ledger.c.details).where(schema.ledger.c.seq == entry)
    ).first()
    if row is None or row.action != ledger.SWEEP_BATCH:
        return False
    try:
        details = json.loads(row.details)
    except ValueError:
        return False
    return isinstance(details, dict) and ledger.sweep_batch_matches(details, cam, a, b)


def _unlink(root: Path, paths: list[str]) -> None:
    dirs: set[Path] = set()
    for done, rel in enumerate(paths, 1):
        path = root / rel
        archive.make_mutable(path)
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        dirs.add(path.parent)
        crash_point("sweep-unlinked", done)
    for d in dirs:
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _drop_rows(conn: Connection, cam: int, a: int, b: int) -> None:
    write_first(conn)
    rows = conn.execute(
        select(S.c.seq, S.c.start_us, S.c.end_us, S.c.bytes)
        .where(S.c.camera_id == cam, S.c.seq >= a, S.c.seq <= b)
        .order_by(S.c.seq)
    ).all()
    if rows:
        _trim_spans(conn, cam, a, b, rows)
        conn.execute(delete(S).where(S.c.camera_id == cam, S.c.seq >= a, S.c.seq <= b))
    conn.execute(
        update(P)
        .where(P.c.camera_id == cam, P.c.first_seq == a, P.c.last_seq == b)
        .values(state="done")
    )


def _trim_spans(conn: Connection, cam: int, a: int, b: int, rows: Sequence[Any]) -> None:
    """Take the pruned rows out of the spans that hold them (spans are runs of consecutive
    seqs, so a pruned range cuts a span's head, its tail, or its middle)."""
    gone_start, gone_end = rows[0].start_us, rows[-1].end_us
    spans = conn.execute(
        select(SP).where(
            SP.c.camera_id == cam, SP.c.end_us >= gone_start, SP.c.start_us <= gone_end
        )
    ).all()
    for span in spans:
        inside = [r for r in rows if span.start_us <= r.start_us < span.end_us]
        if not inside:
            continue  # a neighbouring span that only touches the pruned time
        n, size = len(inside), sum(r.bytes for r in inside)
        before = _row_at(conn, cam, a - 1) if span.start_us < gone_start else None
        after = _row_at(conn, cam, b + 1) if span.end_us > gone_end else None
        if before is None and after is None:
            conn.execute(delete(SP).where(SP.c.id == span.id))
        elif before is None and after is not None:
            conn.execute(
                update(SP)
                .where(SP.c.id == span.id)
                .values(start_us=after[0], segments=span.segments - n, bytes=span.bytes - size)
            )
        elif after is None and before is not None:
            conn.execute(
                update(SP)
                .where(SP.c.id == span.id)
                .values(end_us=before[1], segments=span.segments - n, bytes=span.bytes - size)
            )
        elif before is not None and after is not None:  # a cut in the middle: two spans
            left = conn.execute(
                select(func.count(), func.sum(S.c.bytes)).where(
                    S.c.camera_id == cam, S.c.start_us >= span.start_us, S.c.seq < a
                )
            ).one()
            left_n, left_bytes = int(left[0]), int(left[1] or 0)
            conn.execute(
                update(SP)
                .where(SP.c.id == span.id)
                .values(end_us=before[1], segments=left_n, bytes=left_bytes)
            )
            conn.execute(
                insert(SP).values(
                    camera_id=cam,
                    start_us=after[0],
                    end_us=span.end_us,
                    segments=span.segments - n - left_n,
                    bytes=span.bytes - size - left_bytes,
                )
            )


def _row_at(conn: Connection, cam: int, seq: int) -> tuple[int, int] | None:
    row = conn.execute(
        select(S.c.start_us, S.c.end_us).where(S.c.camera_id == cam, S.c.seq == seq)
    ).first()
    return (int(row[0]), int(row[1])) if row else None


def crash_point(name: str, count: int) -> None:
    """Test hook: with CUSTODES_CRASH_AT=name:count the process kills itself (SIGKILL) here,
    so that recovery is tested against a real kill -9 at a known step. Inert otherwise."""
    if os.environ.get(CRASH_ENV) == f"{name}:{count}":
        os.kill(os.getpid(), signal.SIGKILL)
