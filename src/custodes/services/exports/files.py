"""The video files of a bundle: the free space they need, the originals copied into
`segments/` and checked against their index digests (or, under a copy grant, checked in the
archive), the stream-copied clip, and the watermarked viewing copy. ffmpeg's side is
adapters/ffmpeg/export_clip.py; durable writes and digests are adapters/bundle.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from custodes.adapters import bundle, diskspace
from custodes.adapters.ffmpeg import export_clip
from custodes.clock import iso
from custodes.domain import export_format as fmt
from custodes.services.exports.errors import ExportError, NotEnoughSpace
from custodes.services.exports.plan import Row

CLIP_METHOD = (
    "stream copy (no re-encoding) of the sealed segments listed in the manifest (the files "
    "whose digests the signed chain holds), in seq order: ffmpeg concat demuxer, -c copy, "
    "+faststart, bitexact; whole segments, so the clip starts at a keyframe"
)
WATERMARK_METHOD = (
    "re-encoded from clip.mp4 (libx264, crf 23) with a visible overlay naming the grant, the "
    "requester and the export time: a viewing copy, NOT the evidence copy"
)


def check_space(root: Path, rows: Sequence[Row], *, watermark: bool, originals: bool) -> None:
    """Refuse an export that would bring the free space under twice the recording reserve."""
    footage = sum(r.bytes for r in rows)
    factor = (2.05 if originals else 1.05) + (1.05 if watermark else 0.0)
    need = int(footage * factor) + 1_000_000
    keep = 2 * diskspace.reserve_bytes()  # recording must never stop for an export
    free = diskspace.usage(root).free
    if free - need < keep:
        raise NotEnoughSpace(
            f"not enough free space for this export: it needs about {need / 1e6:,.0f} MB, "
            f"{free / 1e6:,.0f} MB are free and {keep / 1e6:,.0f} MB must stay free for "
            "recording"
        )


Measured = Callable[[int, int], None]  # (done, total) in a step's own units (progress.py)


def copy_originals(
    archive: Path, rows: Sequence[Row], work: Path, measured: Measured | None = None
) -> None:
    """Copy each sealed file into segments/ and check the copy against the index digest;
    `measured` is told the bytes copied and checked so far, of all the segments'."""
    (work / fmt.SEGMENTS_DIR).mkdir()

    def one(r: Row) -> None:
        dst = work / fmt.segment_file(r.seq)
        try:
            shutil.copyfile(archive / r.path, dst)
        except FileNotFoundError:
            raise _missing(r) from None
        sha, size = bundle.sha256_of(dst)
        if sha != r.sha256 or size != r.bytes:
            raise _altered(r)
        bundle.seal_file(dst)

    _each(one, rows, measured)


def check_sources(archive: Path, rows: Sequence[Row], measured: Measured | None = None) -> None:
    """Check each sealed file in the archive against its index digest (a copy grant: the
    originals are not copied, but an altered archive is not exported either); `measured` as
    for copy_originals."""

    def one(r: Row) -> None:
        try:
            sha, size = bundle.sha256_of(archive / r.path)
        except FileNotFoundError:
            raise _missing(r) from None
        if sha != r.sha256 or size != r.bytes:
            raise _altered(r)

    _each(one, rows, measured)


def _each(job: Callable[[Row], None], rows: Sequence[Row], measured: Measured | None) -> None:
    """`job` on every row, in a pool; each row's bytes counted done as its job ends (in
    order: pool.map yields the results so)."""
    total = sum(r.bytes for r in rows)
    done = 0
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        try:
            for r, _ in zip(rows, pool.map(job, rows), strict=True):
                done += r.bytes
                if measured is not None:
                    measured(done, total)
        except BaseException:
            pool.shutdown(cancel_futures=True)  # a refusal or a stop: the rest is not needed
            raise


def _missing(r: Row) -> ExportError:
    return ExportError(
        f"segment {r.seq} ({r.path}) is missing from the archive; run `custodes verify`"
    )


def _altered(r: Row) -> ExportError:
    return ExportError(
        f"segment {r.seq} ({r.path}) does not match its index digest: the archive "
        "was altered; run `custodes verify` (nothing was exported)"
    )


def originals_and_clip(
    archive: Path,
    rows: Sequence[Row],
    work: Path,
    *,
    originals: bool,
    checked: Measured | None = None,
    clipped: Measured | None = None,
) -> fmt.FileInfo:
    """Both at once: ffmpeg remuxes the sealed files (a CPU-bound pass) while the copies are
    written, hashed and fsynced (mostly the disk's time) — or, without the originals, while
    the archive's files are hashed in place. The clip is made from the archive's files, which
    the copies equal byte for byte (each is checked against the index digest), so it is also
    what the same ffmpeg makes from segments/. `checked` is told the bytes checked (or
    copied), `clipped` the µs of the clip written (of the segments' media duration)."""
    sources = [(archive / r.path, r.duration_us) for r in rows]
    with ThreadPoolExecutor(max_workers=1) as side:
        clip_job = side.submit(make_clip, sources, work, clipped)
        try:
            if originals:
                copy_originals(archive, rows, work, checked)
            else:
                check_sources(archive, rows, checked)
        except BaseException:
            clip_job.cancel()
            with contextlib.suppress(Exception):
                clip_job.result()  # let ffmpeg finish before the directory is removed
            raise
        return clip_job.result()


def _timed(measured: Measured | None, duration_us: int) -> export_clip.OnTime | None:
    """ffmpeg's µs written as a step's (done, total)."""
    if measured is None:
        return None
    return lambda out_us: measured(out_us, duration_us)


@contextlib.contextmanager
def _as_export_error() -> Iterator[None]:
    """ffmpeg's failures as the export's."""
    try:
        yield
    except export_clip.ClipError as exc:
        raise ExportError(str(exc)) from exc


def make_clip(
    files: list[tuple[Path, int]], work: Path, measured: Measured | None = None
) -> fmt.FileInfo:
    """clip.mp4 from `files` (path, media duration in µs), in order; `measured` is told the
    µs written of the media duration in all (ffmpeg's own count)."""
    out = work / fmt.CLIP_FILE
    with _as_export_error():
        export_clip.make_clip(files, out, _timed(measured, sum(d for _, d in files)))
    bundle.seal_file(out)
    sha, size = bundle.sha256_of(out)
    return fmt.FileInfo(
        file=fmt.CLIP_FILE, bytes=size, sha256=sha, evidence=True, method=CLIP_METHOD
    )


def watermark_text(
    request: fmt.RequestInfo, grant_id: int, export_id: str, username: str, now_us: int
) -> str:
    """The overlay: short lines (long names are cut), so that it fits a 4:3 frame."""
    staff = ", ".join(p.display_name or p.username for p in request.staff)
    requester = request.organisation.name + (f" ({staff})" if staff else "")
    if len(requester) > 48:
        requester = requester[:47] + "…"
    return "\n".join(
        [
            "VIEWING COPY - NOT EVIDENCE",
            f"export {export_id}",
            f"grant {grant_id} / request {request.id}: {requester}",
            f"exported {iso(now_us)} by {username[:32]}",
        ]
    )


def make_watermarked(
    work: Path, text: str, measured: Measured | None = None, duration_us: int = 0
) -> fmt.FileInfo:
    """clip-watermarked.mp4: clip.mp4 re-encoded with `text` overlaid; `measured` is told
    the µs re-encoded of `duration_us` (the clip's media duration)."""
    out = work / fmt.WATERMARKED_FILE
    with _as_export_error():
        export_clip.make_watermarked(work / fmt.CLIP_FILE, out, text, _timed(measured, duration_us))
    bundle.seal_file(out)
    sha, size = bundle.sha256_of(out)
    return fmt.FileInfo(
        file=fmt.WATERMARKED_FILE, bytes=size, sha256=sha, evidence=False, method=WATERMARK_METHOD
    )
