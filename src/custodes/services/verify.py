"""`custodes verify`: re-hash the archive, walk the chains, check the checkpoints.

For each camera: every index row is read (the chain needs them all), the files of the rows in
the requested time range are re-hashed on `workers` threads (hashlib releases the GIL, so the
cores hash in parallel), both checkpoint stores and both public-key stores are read, and
domain/verification.py judges. A full run (no time range) also lists the camera's archive
directory for files that no row names. `rate_bytes_s` throttles the reading (the scheduled
background run); `progress` is called with the bytes of each file hashed.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from custodes.adapters import recorder_lock
from custodes.adapters.db import schema
from custodes.clock import iso
from custodes.domain.alarm_wording import Wording
from custodes.domain.chain import Cadence
from custodes.domain.finding_wording import Part, parts_json
from custodes.domain.verification import Evidence, Finding, Row, SignedPoint, judge
from custodes.services import alarms, checkpoints, signing
from custodes.services.context import Context
from custodes.services.settings import checkpoint_cadence
from custodes.services.sweep import recorded_batch

S = schema.segments
P = schema.pruned_ranges
CAM = schema.cameras


@dataclass(frozen=True)
class OkSpan:
    first_seq: int
    last_seq: int
    start_us: int
    end_us: int


@dataclass
class CameraVerdict:
    camera_id: int
    name: str
    segments: int = 0
    files_hashed: int = 0
    bytes_hashed: int = 0
    ok_spans: list[OkSpan] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(f.failure for f in self.findings)


@dataclass
class VerifyReport:
    cameras: list[CameraVerdict]
    started_us: int
    finished_us: int

    @property
    def failed(self) -> bool:
        return any(c.failed for c in self.cameras)

    @property
    def bytes_hashed(self) -> int:
        return sum(c.bytes_hashed for c in self.cameras)

    def problems(self) -> Iterator[tuple[CameraVerdict, Finding]]:
        for cam in self.cameras:
            for f in cam.findings:
                if f.failure:
                    yield cam, f

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": not self.failed,
            "started": iso(self.started_us),
            "finished": iso(self.finished_us),
            "bytes_hashed": self.bytes_hashed,
            "cameras": [
                {
                    "camera_id": c.camera_id,
                    "name": c.name,
                    "ok": not c.failed,
                    "segments": c.segments,
                    "files_hashed": c.files_hashed,
                    "bytes_hashed": c.bytes_hashed,
                    "ok_spans": [
                        {
                            "first_seq": s.first_seq,
                            "last_seq": s.last_seq,
                            "start": iso(s.start_us),
                            "end": iso(s.end_us),
                        }
                        for s in c.ok_spans
                    ],
                    "findings": [
                        {
                            "verdict": f.kind,
                            "first_seq": f.first_seq,
                            "last_seq": f.last_seq,
                            "detail": f.detail,
                            "wording": [{"key": k, "params": dict(p)} for k, p in f.parts],
                            "failure": f.failure,
                        }
                        for f in c.findings
                    ],
                }
                for c in self.cameras
            ],
        }


class _Throttle:
    """Keeps the average read rate of all threads at or below `rate` bytes per second."""

    def __init__(self, rate: float | None) -> None:
        self._rate = rate
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self._done = 0

    def account(self, size: int) -> None:
        if not self._rate:
            return
        with self._lock:
            self._done += size
            ahead = self._done / self._rate - (time.monotonic() - self._start)
        if ahead > 0:
            time.sleep(ahead)


def hash_file(path: Path) -> str | None:
    """SHA-256 of a file, None when it is not there. Hashed from its mapped pages: one GIL
    release per file instead of one per 256 KiB read, which is what lets two threads keep
    two cores busy."""
    try:
        with path.open("rb", buffering=0) as f:
            if os.fstat(f.fileno()).st_size == 0:
                return hashlib.sha256().hexdigest()
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                return hashlib.sha256(mm).hexdigest()
    except FileNotFoundError:
        return None


def verify(
    ctx: Context,
    *,
    camera_ids: list[int] | None = None,
    from_us: int | None = None,
    to_us: int | None = None,
    workers: int | None = None,
    rate_bytes_s: float | None = None,
    cadence: Cadence | None = None,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    started = ctx.clock()
    cadence = cadence or checkpoint_cadence(ctx)
    throttle = _Throttle(rate_bytes_s)
    with ctx.engine.connect() as conn:
        cams = conn.execute(select(CAM.c.id, CAM.c.name).order_by(CAM.c.id)).all()
        keys = signing.public_keys(conn)
    keys_file = signing.public_keys_from_file(ctx.data)
    all_keys = {**keys_file, **keys}
    verdicts: list[CameraVerdict] = []
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        for cam_id, name in cams:
            if camera_ids is not None and cam_id not in camera_ids:
                continue
            verdicts.append(
                _verify_camera(
                    ctx, cam_id, name, all_keys, from_us, to_us, pool, throttle, cadence, progress
                )
            )
    return VerifyReport(verdicts, started, ctx.clock())


def _verify_camera(
    ctx: Context,
    cam_id: int,
    name: str,
    keys: dict[str, str],
    from_us: int | None,
    to_us: int | None,
    pool: ThreadPoolExecutor,
    throttle: _Throttle,
    cadence: Cadence,
    progress: Callable[[int], None] | None,
) -> CameraVerdict:
    # Both checkpoint stores first, then the rows: a checkpoint commits with its segment's
    # row (or after it), so every checkpoint read here is at or below the newest row read
    # next, unless rows are gone.
    db_cps, file_cps, file_problems = _checkpoint_stores(ctx, cam_id)
    with ctx.engine.connect() as conn:
        rows = [
            Row(r.seq, r.start_us, r.end_us, r.bytes, r.sha256, r.link, r.path)
            for r in conn.execute(
                select(S.c.seq, S.c.start_us, S.c.end_us, S.c.bytes, S.c.sha256, S.c.link, S.c.path)
                .where(S.c.camera_id == cam_id)
                .order_by(S.c.seq)
            )
        ]
        # a pruned range counts only with the sweep-batch entry that records its deletion: a
        # row planted in pruned_ranges would otherwise explain away any cut
        pruned: list[tuple[int, int]] = []
        unproven: list[tuple[int, int]] = []
        for a, b, entry in conn.execute(
            select(P.c.first_seq, P.c.last_seq, P.c.ledger_seq).where(P.c.camera_id == cam_id)
        ):
            good = recorded_batch(conn, entry, cam_id, int(a), int(b))
            (pruned if good else unproven).append((int(a), int(b)))
    in_range = [
        r
        for r in rows
        if (from_us is None or r.end_us > from_us) and (to_us is None or r.start_us < to_us)
    ]
    archive = ctx.data.archive

    def one(row: Row) -> tuple[str, str | None]:
        digest = hash_file(archive / row.path)
        throttle.account(row.bytes)
        if progress is not None:
            progress(row.bytes)
        return row.path, digest

    digests = dict(pool.map(one, in_range))
    unindexed: list[str] = []
    if from_us is None and to_us is None:
        unindexed = _unindexed(ctx, cam_id, {r.path for r in rows})
    evidence = Evidence(
        camera_id=cam_id,
        rows=rows,
        pruned=pruned,
        unproven_pruned=unproven,
        checkpoints_db=db_cps,
        checkpoints_file=file_cps,
        file_problems=file_problems,
        keys=keys,
        digests=digests,
        unindexed_files=unindexed,
    )
    judgement = judge(evidence, cadence, signing.signature_ok)
    verdict = CameraVerdict(
        cam_id,
        name,
        segments=len(in_range),
        files_hashed=sum(1 for d in digests.values() if d is not None),
        bytes_hashed=sum(r.bytes for r in in_range if digests.get(r.path) is not None),
        findings=judgement.findings,
    )
    ok = set(judgement.ok_seqs)
    verdict.ok_spans = _spans([r for r in in_range if r.seq in ok])
    return verdict


PENDING_WAIT_S = 10.0  # how long a checkpoint the file lacks may take to be appended
RECENT_US = 120 * 1_000_000  # a checkpoint signed this recently may still be on its way


def _checkpoint_stores(
    ctx: Context, cam_id: int
) -> tuple[list[SignedPoint], list[SignedPoint], list[Part]]:
    """Both checkpoint stores, the file first: a line is appended only after its row
    commits, so the file read first can only lack checkpoints that the database has — those
    committed meanwhile (the newest, or signed in the last two minutes: an export's
    checkpoint may be appended after a newer one of the recorder's), whose line is on its
    way. They are waited for (a loaded disk may
    take seconds to fsync) — PENDING_WAIT_S while a recorder runs, a second otherwise (an
    export's append) — and one still absent then is reported. Nothing is
    left out of the comparison: a checkpoint past the newest row is evidence of rows gone."""
    patience = PENDING_WAIT_S if recorder_lock.recorder_running(ctx.data.root) else 1.0
    deadline = time.monotonic() + patience
    recent_us = ctx.clock() - RECENT_US
    while True:
        in_file, problems = checkpoints.read_file(ctx.data, cam_id)
        with ctx.engine.connect() as conn:
            in_db = [_point(cp) for cp in checkpoints.rows(conn, cam_id)]
        file_points = [_point(cp) for cp in in_file if cp.camera_id == cam_id]
        file_keys = {(c.seq, c.link, c.signature) for c in file_points}
        newest_in_file = max((c.seq for c in file_points), default=-1)
        pending = [
            c
            for c in in_db
            if (c.seq, c.link, c.signature) not in file_keys
            and (c.seq > newest_in_file or c.time_us >= recent_us)
        ]
        if not pending or time.monotonic() >= deadline:
            return in_db, file_points, problems
        time.sleep(0.25)


def _unindexed(ctx: Context, cam_id: int, named: set[str]) -> list[str]:
    """Archive files no index row names — asked again of the database, since a segment
    sealed during the scan is placed a moment before its row commits."""
    archive = ctx.data.archive
    base = ctx.data.camera_archive(cam_id)
    if not base.is_dir():
        return []
    found = [
        rel
        for p in base.rglob("*.mp4")
        if (rel := str(p.relative_to(archive))) not in named and not _being_sealed(p)
    ]
    if not found:
        return []
    with ctx.engine.connect() as conn:
        indexed_now = {r[0] for r in conn.execute(select(S.c.path).where(S.c.path.in_(found)))}
    return sorted(set(found) - indexed_now)


def _being_sealed(path: Path) -> bool:
    """An archive file whose spool name still exists is a seal under way (its row commits
    after the link: a database slow or full makes that take a while), not an insertion."""
    try:
        return path.stat().st_nlink > 1
    except FileNotFoundError:
        return False


def _point(cp: checkpoints.SignedCheckpoint) -> SignedPoint:
    return SignedPoint(cp.seq, cp.link, cp.time_us, cp.key_id, cp.signature)


def _spans(rows: list[Row]) -> list[OkSpan]:
    spans: list[OkSpan] = []
    for r in rows:
        last = spans[-1] if spans else None
        if last is not None and r.seq == last.last_seq + 1:
            spans[-1] = OkSpan(last.first_seq, r.seq, last.start_us, r.end_us)
        else:
            spans.append(OkSpan(r.seq, r.seq, r.start_us, r.end_us))
    return spans


def raise_or_clear_alarm(ctx: Context, report: VerifyReport) -> bool:
    """After a full run: an integrity alarm while problems exist, cleared once none are left.
    Returns True when a new alarm was raised."""
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        if report.failed:
            count = sum(1 for _ in report.problems())
            cam, first = next(report.problems())
            said = Wording(
                "verify-found",
                {
                    "count": str(count),
                    "camera": str(cam.name),
                    "kind": str(first.kind),
                    "detail": str(first.detail),
                    "detail_parts": parts_json(first.parts),
                },
            )
            return alarms.raise_alarm(conn, alarms.INTEGRITY, said, now)
        alarms.clear_alarm(conn, alarms.INTEGRITY, now)
        return False
