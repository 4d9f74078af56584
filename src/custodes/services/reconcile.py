"""Reconciliation of the spool with the index after a crash (run before recording starts).

For each run directory left in the spool:
  1. replay its journal to place every segment ffmpeg reported closed on the wall clock,
     exactly as the live path did, and seal it (sealing is idempotent: a file whose seal was
     interrupted after the link or after the commit is finished, not duplicated);
  2. a file the journal does not name was open when the process died: if ffprobe reads video
     from it, seal it (its start follows the last journaled segment, or its mtime minus its
     duration); otherwise move it to quarantine and record why — nothing is deleted silently;
  3. remove the journal and the empty run directory.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, insert, select

from custodes.adapters.db import schema
from custodes.adapters.ffmpeg.probe import probe_file
from custodes.adapters.ffmpeg.stderr import StreamInfo
from custodes.adapters.journal import JOURNAL_NAME, Journal
from custodes.clock import now_us
from custodes.domain.timing import RunClock, SegmentTiming
from custodes.paths import DataDir
from custodes.services.sealing import Sealer, SegmentClosed

log = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    sealed: int = 0
    quarantined: list[str] = field(default_factory=list)
    skipped_dirs: list[str] = field(default_factory=list)


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
            reconcile_run(sealer, data, camera_id, run_dir, report)
    return report


def reconcile_run(
    sealer: Sealer, data: DataDir, camera_id: int, run_dir: Path, report: ReconcileReport
) -> None:
    """Settle one run directory: used after a crash, and when a run ends normally."""
    clock = RunClock()
    placed: dict[str, SegmentTiming] = {}
    for line in Journal.read(run_dir):
        placed[line.name] = clock.place(line.media_start, line.media_end, line.closed_at_us)
    for path in sorted(run_dir.glob("*.mp4")):
        probe = probe_file(path)
        timing = placed.get(path.name)
        if timing is None and probe is not None:
            timing = _place_unjournaled(clock, path, probe.duration_s)
        if probe is None and (timing is None or path.stat().st_size == 0):
            _quarantine(
                sealer.engine, data, camera_id, path, "incomplete segment: no readable video"
            )
            report.quarantined.append(str(path))
            continue
        assert timing is not None
        info = (
            StreamInfo(probe.video_codec, probe.width, probe.height, probe.audio_codec)
            if probe
            else StreamInfo()
        )
        sealer.seal(SegmentClosed(camera_id, run_dir.name, path, timing, info))
        report.sealed += 1
    (run_dir / JOURNAL_NAME).unlink(missing_ok=True)
    try:
        run_dir.rmdir()
    except OSError:
        log.warning("run directory %s not empty after reconciliation; kept", run_dir)


def _place_unjournaled(clock: RunClock, path: Path, duration_s: float) -> SegmentTiming:
    if clock.prev_close_us is not None:
        start = clock.prev_close_us
    else:
        start = int(path.stat().st_mtime * 1_000_000) - round(duration_s * 1_000_000)
    duration = round(duration_s * 1_000_000)
    return SegmentTiming(start, start + duration, duration, 0)


def _quarantine(engine: Engine, data: DataDir, camera_id: int, path: Path, reason: str) -> None:
    target = data.quarantine / path.parent.parent.name / path.parent.name / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    size = path.stat().st_size
    shutil.move(str(path), target)
    with engine.begin() as conn:
        conn.execute(
            insert(schema.quarantine).values(
                camera_id=camera_id,
                original_path=str(path),
                path=str(target),
                bytes=size,
                reason=reason,
                found_us=now_us(),
            )
        )
    log.error("quarantined %s (%d bytes): %s -> %s", path, size, reason, target)
    os.sync()


def _camera_id(dirname: str) -> int | None:
    if dirname.startswith("cam") and dirname[3:].isdigit():
        return int(dirname[3:])
    return None
