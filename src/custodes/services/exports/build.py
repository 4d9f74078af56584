"""Making an export (the use case): the grant it is made under, then the plan, the files, the
manifest and its signature, built in a `.partial-*` directory and renamed into place inside
the transaction that writes the `exports` row and the ledger entry: a bundle under
`exports/<id>/` is complete and on record, or absent.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy import Connection, insert

from custodes import __version__
from custodes.adapters import bundle
from custodes.adapters.db import schema
from custodes.adapters.db.engine import write_first
from custodes.adapters.ffmpeg import export_clip
from custodes.clock import iso
from custodes.domain import export_format as fmt
from custodes.domain.access_rules import Action
from custodes.services import grants, ledger, signing
from custodes.services.context import Context
from custodes.services.exports import files
from custodes.services.exports.errors import ExportError
from custodes.services.exports.plan import Plan, Row, plan_export
from custodes.services.exports.progress import (
    CHECK_WEIGHT,
    CLIP_WEIGHT,
    WATERMARK_WEIGHT,
    Progress,
    Report,
)
from custodes.services.exports.records import ExportResult, details

E = schema.exports
MAX_EXPORT_US = 24 * 3600 * 1_000_000  # one bundle: at most a day of one camera


def require_grant(
    ctx: Context,
    *,
    grant_id: int | None,
    account_id: int,
    username: str,
    camera_id: int,
    start_us: int,
    end_us: int,
) -> grants.Grant:
    """The copy grant the export is made under: `grant_id` when given (it must be this
    account's, live, cover the camera and range and allow a copy), else any that does.
    Raises grants.NoGrant, recorded in the ledger like every refusal."""
    return grants.require(
        ctx,
        account_id=account_id,
        username=username,
        camera_id=camera_id,
        start_us=start_us,
        end_us=end_us,
        need=Action.COPY,
        grant_id=grant_id,
    )


def _held_grant(
    conn: Connection,
    grant_id: int,
    account_id: int,
    camera_id: int,
    start_us: int,
    end_us: int,
    now_us: int,
) -> grants.Grant | None:
    """The named grant, if it is still this account's live copy grant for the range."""
    return grants.find(
        conn,
        account_id=account_id,
        camera_id=camera_id,
        start_us=start_us,
        end_us=end_us,
        need=Action.COPY,
        now_us=now_us,
        grant_id=grant_id,
    )


def create_export(
    ctx: Context,
    *,
    grant: grants.Grant,
    account_id: int,
    username: str,
    camera_id: int,
    start_us: int,
    end_us: int,
    watermark: bool = False,
    progress: Report | None = None,
    in_commit: Callable[[Connection, ExportResult], None] | None = None,
) -> ExportResult:
    """Make the bundle of [start_us, end_us) of one camera under `grant` (obtained with
    grants.require(..., need=Action.COPY) or `require_grant`). Whole segments, each lying
    wholly inside the grant's range (nothing the grant does not cover leaves): the covered
    range runs from the first such overlapping segment's start to the last one's end. The
    original segment files go in the bundle only under a retrieve-original grant. The chain
    is closed by a signed checkpoint, signed now when the recorder has not signed one yet.

    `progress`, when given, is told the work done of the work in all as it is measured
    (progress.py), from the threads doing it; the total once the bundle is on record. Should
    it raise, the export is abandoned: ffmpeg is stopped and nothing is left behind.

    `in_commit`, when given, is called inside the transaction that puts the export on record,
    with its connection and the result: what it writes commits with the export or not at all
    (an export job marks itself done), and should it raise, the export is abandoned too."""
    if end_us <= start_us:
        raise ExportError("the end of the range must be after its start")
    if end_us - start_us > MAX_EXPORT_US:
        raise ExportError("one export covers at most 24 hours: split the range")
    if grant.start_us > start_us or grant.end_us < end_us:
        raise grants.NoGrant(
            grants.NOT_COVERED % {"grant": grant.id, "start": iso(start_us), "end": iso(end_us)},
            grants.NOT_COVERED,
            {"grant": str(grant.id), "start_us": str(start_us), "end_us": str(end_us)},
        )
    if grant.action not in grants.SATISFIES[Action.COPY]:
        raise grants.NoGrant(
            f"grant {grant.id} allows {grant.action.value}, not a copy",
            grants.NOT_A_COPY,
            {"grant": str(grant.id), "need": grant.action.value},
        )
    now = ctx.clock()
    signer = signing.load_signer(ctx.data)
    with ctx.engine.connect() as conn:
        if _held_grant(conn, grant.id, account_id, camera_id, start_us, end_us, now) is None:
            raise _refused(
                ctx,
                username,
                camera_id,
                grant.id,
                start_us,
                end_us,
                f"grant {grant.id} is not a live copy grant of yours for camera {camera_id}",
            )
    with _stated(camera_id):
        plan = plan_export(
            ctx,
            grant,
            account_id=account_id,
            username=username,
            camera_id=camera_id,
            start_us=start_us,
            end_us=end_us,
            signer=signer,
            now_us=now,
        )
    originals = grant.action is Action.RETRIEVE_ORIGINAL
    root = ctx.data.exports
    root.mkdir(parents=True, exist_ok=True)
    bundle.remove_stale_partials(root)
    files.check_space(root, plan.rows, watermark=watermark, originals=originals)
    measure = _progress(progress, plan.rows, watermark=watermark)
    export_id = datetime.fromtimestamp(now / 1e6, tz=UTC).strftime("%Y%m%dT%H%M%SZ-")
    export_id += secrets.token_hex(4)
    work = bundle.partial_dir(root, export_id)
    final = root / export_id
    work.mkdir()
    renamed = committed = False
    try:
        clip = files.originals_and_clip(
            ctx.data.archive,
            plan.rows,
            work,
            originals=originals,
            checked=measure.step("check"),
            clipped=measure.step("clip"),
        )
        wm = None
        if watermark:
            text = files.watermark_text(plan.request, grant.id, export_id, username, now)
            media_us = sum(r.duration_us for r in plan.rows)
            wm = files.make_watermarked(work, text, measure.step("watermark"), media_us)
        with _stated(camera_id):
            requested = fmt.TimeRange(start_us=start_us, end_us=end_us)
            manifest = _manifest(plan, export_id, now, requested, clip, wm, signer, originals)
        raw = fmt.encode(manifest)
        bundle.write_new_file(work / fmt.MANIFEST_FILE, raw)
        bundle.write_new_file(work / fmt.SIGNATURE_FILE, bytes.fromhex(signer.sign(raw)))
        if originals:
            bundle.fsync_dir(work / fmt.SEGMENTS_DIR)
        bundle.fsync_dir(work)
        first, last = plan.rows[0], plan.rows[-1]
        result = ExportResult(
            id=export_id,
            path=final,
            grant_id=grant.id,
            request_id=grant.request_id,
            camera_id=camera_id,
            start_us=start_us,
            end_us=end_us,
            covered_start_us=first.start_us,
            covered_end_us=last.end_us,
            segments=len(plan.rows),
            bytes=sum(p.stat().st_size for p in work.rglob("*") if p.is_file()),
            manifest_sha256=hashlib.sha256(raw).hexdigest(),
            watermarked=wm is not None,
            created_by=account_id,
            created_by_username=username,
            created_us=now,
            destination=plan.request.destination,
        )
        done = ctx.clock()
        try:
            with ctx.engine.begin() as conn:
                write_first(conn)
                held = _held_grant(conn, grant.id, account_id, camera_id, start_us, end_us, done)
                if held is None:
                    raise _Lapsed
                conn.execute(
                    insert(E).values(
                        id=export_id,
                        grant_id=grant.id,
                        camera_id=camera_id,
                        start_us=start_us,
                        end_us=end_us,
                        covered_start_us=result.covered_start_us,
                        covered_end_us=result.covered_end_us,
                        segments=result.segments,
                        bytes=result.bytes,
                        manifest_sha256=result.manifest_sha256,
                        watermarked=result.watermarked,
                        created_by=account_id,
                        created_us=now,
                    )
                )
                ledger.record(
                    conn,
                    actor=ledger.account_actor(username),
                    action=ledger.EXPORT_CREATED,
                    object=f"export:{export_id}",
                    details={
                        **details(result),
                        "clip_sha256": clip.sha256,
                        "watermarked": result.watermarked,
                        "closing_checkpoint": plan.closing_seq,
                        "checkpoint_signed": plan.signed_now,
                        "originals_included": originals,
                    },
                    time_us=done,
                )
                if in_commit is not None:
                    in_commit(conn, result)
                os.rename(work, final)
                renamed = True
                bundle.fsync_dir(root)
        except _Lapsed:  # the transaction rolled back: the refusal is recorded on its own
            raise _refused(
                ctx,
                username,
                camera_id,
                grant.id,
                start_us,
                end_us,
                f"grant {grant.id} was revoked or expired while the export was made",
            ) from None
        committed = True
        measure.finish()
        return result
    finally:
        if not committed:
            shutil.rmtree(final if renamed else work, ignore_errors=True)


def _progress(report: Report | None, rows: tuple[Row, ...], *, watermark: bool) -> Progress:
    """The build's steps weighed by the footage they go through (progress.py); the manifest,
    its signature and the transaction as a hundredth of it."""
    footage = max(1, sum(r.bytes for r in rows))
    weights = {
        "check": footage * CHECK_WEIGHT,
        "clip": footage * CLIP_WEIGHT,
        "record": max(1, footage // 100),
    }
    if watermark:
        weights["watermark"] = footage * WATERMARK_WEIGHT
    return Progress(report, weights)


class _Lapsed(Exception):
    """The grant was revoked or expired while the export was made (inside its commit)."""


def _refused(
    ctx: Context,
    username: str,
    camera_id: int,
    grant_id: int,
    start_us: int,
    end_us: int,
    reason: str,
) -> grants.NoGrant:
    """A grant found lapsed by the export itself, recorded in the ledger like every refusal
    of grants.require (an access-denied entry), to be raised."""
    ledger.record_now(
        ctx,
        actor=ledger.account_actor(username),
        action=ledger.ACCESS_DENIED,
        object=f"camera:{camera_id}",
        details={
            "need": Action.COPY.value,
            "start_us": start_us,
            "end_us": end_us,
            "grant": grant_id,
            "reason": reason,
        },
    )
    return grants.NoGrant(reason)


@contextlib.contextmanager
def _stated(camera_id: int) -> Iterator[None]:
    """What the manifest's format refuses (a time past 2200 in the index …) as the export's
    error."""
    try:
        yield
    except ValidationError as exc:
        raise ExportError(
            f"camera {camera_id}: the index holds what an export manifest cannot state "
            f"({fmt.describe(exc)}); run `custodes verify`"
        ) from None


def _manifest(
    plan: Plan,
    export_id: str,
    now_us: int,
    requested: fmt.TimeRange,
    clip: fmt.FileInfo,
    watermarked: fmt.FileInfo | None,
    signer: signing.Signer,
    originals: bool,
) -> fmt.Manifest:
    rows = plan.rows
    return fmt.Manifest(
        format=fmt.FORMAT,
        export=fmt.ExportInfo(
            id=export_id,
            created_us=now_us,
            exporter=plan.exporter,
            software=f"custodes {__version__}; {export_clip.ffmpeg_version()}",
        ),
        camera=plan.camera,
        requested=requested,
        covered=fmt.Covered(start_us=rows[0].start_us, end_us=rows[-1].end_us, gaps=_gaps(rows)),
        originals_included=originals,
        grant=plan.grant,
        request=plan.request,
        clip=clip,
        watermarked=watermarked,
        segments=tuple(
            fmt.SegmentEntry(
                seq=r.seq,
                start_us=r.start_us,
                end_us=r.end_us,
                duration_us=r.duration_us,
                bytes=r.bytes,
                sha256=r.sha256,
                link=r.link,
                file=fmt.segment_file(r.seq) if originals else None,
                archive_path=r.path,
            )
            for r in rows
        ),
        chain=fmt.Chain(
            anchors=plan.anchors,
            after=plan.after,
            checkpoints=plan.checkpoints,
            unsigned_tail=None,  # the plan is always closed by a checkpoint
        ),
        keys=plan.keys,
        signer=fmt.SignerInfo(key_id=signer.key_id, public_key=signer.public_hex),
    )


def _gaps(rows: tuple[Row, ...]) -> tuple[fmt.TimeRange, ...]:
    """Time between consecutive segments of more than a second: absent from the clip, which
    plays the segments back to back."""
    return tuple(
        fmt.TimeRange(start_us=a.end_us, end_us=b.start_us)
        for a, b in itertools.pairwise(rows)
        if b.start_us - a.end_us > 1_000_000
    )
