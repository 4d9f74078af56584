"""What happens to a spool file that is not a whole segment: seal what plays, keep the rest.

A segment is cut short when the recorder is killed while ffmpeg writes it (the run's journal
does not name it: it was open), or when its writes failed (a full disk: ffmpeg closed it, but
its last fragment is not whole). Every segment is checked before it is sealed
(adapters/ffmpeg/segment_file.py). A file that is not whole is never indexed as whole:

* with at least one whole fragment: the bytes after the last whole fragment are copied to
  `quarantine/<cam>/<run>/<name>.tail` (fsynced) before the spool file is truncated to its
  whole fragments; the truncated file's true duration is read with ffprobe, and the segment
  is sealed with it and a note (`segments.salvaged`) saying what was cut and where it is;
  the sealer records the tail in `quarantine` and a `segment-salvaged` ledger entry in the
  segment's own transaction;
* without one: a file with media bytes goes to quarantine whole (`file-quarantined`); a file
  with no media at all (an empty file or a bare MP4 header, left by a run that failed to
  start) holds no footage and is removed, with a log line.

Nothing here writes the database: the sealer does, in its transactions.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from custodes.adapters.ffmpeg.probe import probe_file
from custodes.adapters.ffmpeg.segment_file import Scan
from custodes.adapters.ffmpeg.stderr import StreamInfo
from custodes.paths import DataDir

log = logging.getLogger(__name__)
TAIL_SUFFIX = ".tail"

OPEN = "open"  # the file was open when its ffmpeg stopped (a crash, a kill, a failure)
CLOSED = "closed"  # ffmpeg closed it, but its writes stopped short (a full disk, an I/O error)


@dataclass(frozen=True)
class Tail:
    path: Path  # in quarantine/
    bytes: int


@dataclass(frozen=True)
class Salvage:
    """A segment made whole by cutting its unfinished end off."""

    duration_us: int
    info: StreamInfo
    note: str
    tail: Tail | None
    original_bytes: int


class NoFootage(RuntimeError):
    """The file holds no whole fragment: nothing to seal. `quarantined` is where it went
    (None: it held no media at all and was removed)."""

    def __init__(self, message: str, quarantined: Path | None, size: int) -> None:
        super().__init__(message)
        self.quarantined = quarantined
        self.size = size


def quarantine_path(data: DataDir, spool_file: Path) -> Path:
    return (
        data.quarantine / spool_file.parent.parent.name / spool_file.parent.name / spool_file.name
    )


def tail_path(data: DataDir, spool_file: Path) -> Path:
    return quarantine_path(data, spool_file).with_name(spool_file.name + TAIL_SUFFIX)


def salvage(
    data: DataDir, spool_file: Path, scan: Scan, cause: str, expected_us: int | None
) -> Salvage:
    """Cut `spool_file` to its whole fragments (keeping the cut bytes in quarantine) and
    measure what is left — a file found open after a crash is measured even when it ends
    on a whole fragment: it is still short of a segment. Raises NoFootage when nothing
    plays."""
    if scan.fragments == 0:
        raise _no_footage(data, spool_file, scan)
    tail: Tail | None = None
    cut = scan.size - scan.whole
    if cut:
        target = tail_path(data, spool_file)
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy_range(spool_file, target, scan.whole, cut)
        tail = Tail(target, cut)
        with spool_file.open("r+b") as f:
            f.truncate(scan.whole)
            os.fsync(f.fileno())
    else:  # whole already (or cut by an earlier try, whose tail is kept): nothing to cut
        tail = previous_tail(data, spool_file)
    probe = probe_file(spool_file)
    if probe is None:  # whole fragments that ffprobe cannot read: keep it all aside
        raise _no_footage(data, spool_file, scan, reason="its fragments cannot be read")
    duration_us = round(probe.duration_s * 1_000_000)
    info = StreamInfo(probe.video_codec, probe.width, probe.height, probe.audio_codec)
    original = scan.size + (tail.bytes if tail is not None and not cut else 0)
    return Salvage(
        duration_us, info, describe(cause, duration_us, expected_us, tail), tail, original
    )


def remeasure(
    data: DataDir, spool_file: Path, cause: str, expected_us: int | None, tail: Tail, scan: Scan
) -> Salvage:
    """A file an interrupted salvage already cut: measured and described again."""
    probe = probe_file(spool_file)
    if probe is None:
        raise _no_footage(data, spool_file, scan, reason="its fragments cannot be read")
    duration_us = round(probe.duration_s * 1_000_000)
    info = StreamInfo(probe.video_codec, probe.width, probe.height, probe.audio_codec)
    note = describe(cause, duration_us, expected_us, tail)
    return Salvage(duration_us, info, note, tail, scan.size + tail.bytes)


MATCH_US = 100_000  # a measured duration this close to ffmpeg's report is the same segment


def measure_unclosed(
    data: DataDir, spool_file: Path, scan: Scan, expected_us: int
) -> Salvage | None:
    """A segment ffmpeg reported closed whose boxes are whole but which lacks the closing
    `mfra` (its last writes were refused whole, at a fragment boundary: a full disk): its
    true duration, and a note when that is less than ffmpeg reported; None when it is all
    there."""
    probe = probe_file(spool_file)
    if probe is None:
        raise _no_footage(data, spool_file, scan, reason="its fragments cannot be read")
    duration_us = round(probe.duration_s * 1_000_000)
    if abs(duration_us - expected_us) <= MATCH_US:
        return None
    info = StreamInfo(probe.video_codec, probe.width, probe.height, probe.audio_codec)
    return Salvage(
        duration_us, info, describe(CLOSED, duration_us, expected_us, None), None, scan.size
    )


def previous_tail(data: DataDir, spool_file: Path) -> Tail | None:
    """The tail an interrupted salvage of this file already put in quarantine (the file is
    whole now, but it was cut: the redo says so)."""
    target = tail_path(data, spool_file)
    try:
        return Tail(target, target.stat().st_size)
    except FileNotFoundError:
        return None


def describe(cause: str, duration_us: int, expected_us: int | None, tail: Tail | None) -> str:
    kept = f"{duration_us / 1e6:.2f} s"
    if cause == CLOSED:
        made = f" of the {expected_us / 1e6:.2f} s ffmpeg recorded" if expected_us else ""
        text = f"written short (a full disk or an I/O error): {kept}{made} are whole and sealed"
    else:
        text = f"open when recording stopped (a crash, a kill or a failure): {kept} sealed"
    if tail is not None:
        text += f"; the unfinished fragment ({tail.bytes:,} bytes) is kept in {tail.path}"
    return text


def _no_footage(
    data: DataDir, spool_file: Path, scan: Scan, reason: str | None = None
) -> NoFootage:
    why = reason or scan.problem or "no whole fragment"
    if scan.empty and reason is None:
        spool_file.unlink(missing_ok=True)
        log.info("removed %s (%d bytes): no footage in it (%s)", spool_file, scan.size, why)
        return NoFootage(f"no footage ({why}); removed", None, scan.size)
    return to_quarantine(data, spool_file, f"no playable fragment: {why}")


def to_quarantine(data: DataDir, spool_file: Path, reason: str) -> NoFootage:
    """Move a whole file into quarantine (never deleted); the caller records it."""
    size = spool_file.stat().st_size
    target = quarantine_path(data, spool_file)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(spool_file), target)
    _fsync_dir(target.parent)
    log.error("quarantined %s (%d bytes): %s -> %s", spool_file, size, reason, target)
    return NoFootage(f"{reason}; kept in {target}", target, size)


def _copy_range(src: Path, dst: Path, offset: int, length: int) -> None:
    with src.open("rb") as fin, dst.open("wb") as fout:
        fin.seek(offset)
        left = length
        while left:
            chunk = fin.read(min(left, 1 << 20))
            if not chunk:
                break
            fout.write(chunk)
            left -= len(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    _fsync_dir(dst.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
