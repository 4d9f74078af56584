"""Reconciliation of the spool with the index after a crash (run before recording starts).

For each run directory left in the spool:
  1. replay its journal to place every segment ffmpeg reported closed on the wall clock,
     exactly as the live path did, and seal it (sealing is idempotent: a file whose seal was
     interrupted after the link or after the commit is finished, not duplicated; a file not
     written whole is cut to its whole fragments by the sealer, services/salvage.py);
  2. a file the journal does not name was open when the process died: it is cut to its
     whole fragments (the unfinished one kept in quarantine) and sealed with its true
     duration, placed after the last journaled segment (or at its mtime minus its
     duration); a file without a whole fragment goes to quarantine, one without any media
     is removed — nothing with footage in it is deleted;
  3. remove the journal and the empty run directory.
What was salvaged or quarantined is in the ledger, raises the camera's footage-cut alarm,
and shows in `custodes status`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select

from custodes.adapters.db import schema
from custodes.adapters.ffmpeg import segment_file
from custodes.adapters.ffmpeg.probe import probe_file
from custodes.adapters.ffmpeg.stderr import StreamInfo
from custodes.adapters.journal import JOURNAL_NAME, Journal
from custodes.domain.timing import RunClock, SegmentTiming
from custodes.paths import DataDir
from custodes.services import salvage
from custodes.services.sealing import Sealer, SegmentClosed

log = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    sealed: int = 0
    salvaged: int = 0  # sealed, but shorter than ffmpeg made them (a crash, a full disk)
    quarantined: list[str] = field(default_factory=list)
    removed: int = 0  # files with no media at all (a run that failed to start)
    skipped_dirs: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # left in the spool: sealing them failed

    def add(self, other: ReconcileReport) -> None:
        self.sealed += other.sealed
        self.salvaged += other.salvaged
        self.quarantined += other.quarantined
        self.removed += other.removed
        self.skipped_dirs += other.skipped_dirs
        self.failed += other.failed


def reconcile(engine: Engine, data: DataDir) -> ReconcileReport:
    report = ReconcileReport()
    if not data.spool.exists():
        return report
    sealer = Sealer(engine, data)
    with engine.connect() as conn:
        known = {int(i) for i in conn.execute(select(schema.cameras.c.id)).scalars()}
    for cam_dir in sorted(p for p in data.spool.iterdir() if p.is_dir()):
        camera_id = _camera_id(cam_dir.name)
        if camera_id is None or camera_id not in known:
            log.error("spool %s belongs to no registered camera; left in place", cam_dir)
            report.skipped_dirs.append(str(cam_dir))
            continue
        for run_dir in sorted(p for p in cam_dir.iterdir() if p.is_dir()):
            reconcile_run(sealer, data, camera_id, run_dir, report, contain=True)
    return report


def reconcile_run(
    sealer: Sealer,
    data: DataDir,
    camera_id: int,
    run_dir: Path,
    report: ReconcileReport,
    *,
    contain: bool = False,
) -> None:
    """Settle one run directory: used after a crash, and when a run ends normally. With
    `contain` (the start), a file that cannot be settled is left in the spool and reported,
    so that one bad file never keeps every camera from recording; without it, the error
    goes to the caller (the sealer retries)."""
    clock = RunClock()
    placed: dict[str, tuple[SegmentTiming, bool]] = {}
    for line in Journal.read(run_dir):
        timing = clock.place(line.media_start, line.media_end, line.closed_at_us)
        placed[line.name] = (timing, line.open)
    failed_before = len(report.failed)
    for path in sorted(run_dir.glob("*.mp4")):
        salvaged_before = sealer.salvaged
        try:
            entry = placed.get(path.name)
            if entry is None:
                event = _open_at_stop(sealer, data, camera_id, clock, path)
            elif entry[1]:  # found open by an earlier try, which measured and placed it
                event = _measured(sealer, data, camera_id, entry[0], path)
            else:
                event = SegmentClosed(camera_id, run_dir.name, path, entry[0], _info(path))
            sealer.seal(event)
        except salvage.NoFootage as exc:
            if exc.quarantined is not None:
                report.quarantined.append(str(path))
            else:
                report.removed += 1
            continue
        except Exception as exc:
            if not contain:
                raise
            log.exception("%s: cannot be sealed now (%s); left in the spool", path, exc)
            report.failed.append(str(path))
            continue
        report.sealed += 1
        report.salvaged += sealer.salvaged - salvaged_before
    if len(report.failed) > failed_before:
        return  # the journal stays with the files it places, for the next try
    (run_dir / JOURNAL_NAME).unlink(missing_ok=True)
    try:
        run_dir.rmdir()
    except OSError:
        log.warning("run directory %s not empty after reconciliation; kept", run_dir)


def _info(path: Path) -> StreamInfo:
    probe = probe_file(path)
    if probe is None:
        return StreamInfo()
    return StreamInfo(probe.video_codec, probe.width, probe.height, probe.audio_codec)


def _open_at_stop(
    sealer: Sealer, data: DataDir, camera_id: int, clock: RunClock, path: Path
) -> SegmentClosed:
    """The event of a file that was open when ffmpeg died: cut to its whole fragments,
    measured, and placed after the run's last closed segment (or, the run's first, ending at
    its last write). Its placement goes into the run's journal before it is sealed, so that
    a redo after another crash gives the same start and the same archive path."""
    mtime_us = path.stat().st_mtime_ns // 1000  # before the cut touches it
    done = _salvaged(sealer, data, camera_id, path)
    if clock.prev_close_us is not None:
        closed_at = clock.prev_close_us + done.duration_us
    else:
        closed_at = mtime_us
    # Its media times went with ffmpeg: it follows the last closed segment's end
    start_s = clock.prev_media_end_s or 0.0
    end_s = start_s + done.duration_us / 1e6
    journal = Journal(path.parent)
    try:
        journal.append(path.name, start_s, end_s, closed_at, found_open=True)
    finally:
        journal.close()
    timing = clock.place(start_s, end_s, closed_at)
    return SegmentClosed(
        camera_id, path.parent.name, path, timing, done.info, cause=salvage.OPEN, salvage=done
    )


def _measured(
    sealer: Sealer, data: DataDir, camera_id: int, timing: SegmentTiming, path: Path
) -> SegmentClosed:
    """A file an earlier try found open, measured and journaled: measured again for its note
    (it is whole now; its cut tail, if any, is in quarantine), placed by its journal line."""
    done = _salvaged(sealer, data, camera_id, path)
    return SegmentClosed(
        camera_id, path.parent.name, path, timing, done.info, cause=salvage.OPEN, salvage=done
    )


def _salvaged(sealer: Sealer, data: DataDir, camera_id: int, path: Path) -> salvage.Salvage:
    try:
        return salvage.salvage(data, path, segment_file.scan(path), salvage.OPEN, None)
    except salvage.NoFootage as exc:
        if exc.quarantined is not None:
            sealer.record_quarantined(camera_id, path, exc)
        raise


def _camera_id(dirname: str) -> int | None:
    if dirname.startswith("cam") and dirname[3:].isdigit():
        return int(dirname[3:])
    return None
