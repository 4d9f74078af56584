"""Exports under copy grants (the use case): a bundle that proves its own integrity and
chain of custody.

`create_export` writes `exports/<id>/` (docs/EXPORTS.md): one MP4 made by stream copy of the
sealed segments that lie wholly inside the grant's range (`clip.mp4`), optionally a re-encoded
copy with a visible watermark, a manifest signed by the installation's key that ties them to
the hash chain, its signed checkpoints, the grant, the request and its staff — and, under a
retrieve-original grant only, the sealed segment files themselves (`segments/`, checked
against their index digests as they are copied; under a copy grant the archive's files are
checked in place and stay home). The bundle is built in a `.partial-*`
directory and renamed into place inside the transaction that writes its `exports` row and its
ledger entry: a bundle under `exports/<id>/` is complete and on record, or absent.

Downloads (a zip of the directory, streamed) and copies out of the data directory are ledger
entries too (`record_download`). ffmpeg's side lies in adapters/ffmpeg/export_clip.py, the
bundle's files on disk (durable writes, digests, zip) in adapters/bundle.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import secrets
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select

from custodes import __version__
from custodes.adapters import bundle, diskspace
from custodes.adapters.db import schema
from custodes.adapters.db.engine import write_first
from custodes.adapters.ffmpeg import export_clip
from custodes.clock import iso
from custodes.domain import export_manifest as em
from custodes.domain.access_rules import Action
from custodes.domain.chain import GENESIS
from custodes.services import grants, ledger, signing
from custodes.services.context import Context
from custodes.services.recordings import MAX_SEGMENT_US

S = schema.segments
C = schema.checkpoints
K = schema.signing_keys
G = schema.grants
GS = schema.grant_scope
R = schema.access_requests
RS = schema.request_staff
A = schema.accounts
ORG = schema.organisations
CAM = schema.cameras
E = schema.exports

MAX_EXPORT_US = 24 * 3600 * 1_000_000  # one bundle: at most a day of one camera
CLIP_METHOD = (
    "stream copy (no re-encoding) of the sealed segments listed in the manifest (the files "
    "whose digests the signed chain holds), in seq order: ffmpeg concat demuxer, -c copy, "
    "+faststart, bitexact; whole segments, so the clip starts at a keyframe"
)
WATERMARK_METHOD = (
    "re-encoded from clip.mp4 (libx264, crf 23) with a visible overlay naming the grant, the "
    "requester and the export time: a viewing copy, NOT the evidence copy"
)


class ExportError(RuntimeError):
    """The export cannot be made; the message says why. Nothing is left behind."""


class NothingRecorded(ExportError):
    pass


class NotEnoughSpace(ExportError):
    pass


class ExportNotFound(LookupError):
    pass


@dataclass(frozen=True)
class ExportResult:
    id: str
    path: Path
    grant_id: int
    request_id: int
    camera_id: int
    start_us: int
    end_us: int
    covered_start_us: int
    covered_end_us: int
    segments: int
    bytes: int  # the whole bundle on disk
    manifest_sha256: str
    watermarked: bool
    created_by: int
    created_by_username: str
    created_us: int
    destination: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "grant_id": self.grant_id,
            "request_id": self.request_id,
            "camera_id": self.camera_id,
            "start_us": self.start_us,
            "end_us": self.end_us,
            "start": iso(self.start_us),
            "end": iso(self.end_us),
            "covered_start_us": self.covered_start_us,
            "covered_end_us": self.covered_end_us,
            "covered_start": iso(self.covered_start_us),
            "covered_end": iso(self.covered_end_us),
            "segments": self.segments,
            "bytes": self.bytes,
            "manifest_sha256": self.manifest_sha256,
            "watermarked": self.watermarked,
            "created_by": self.created_by_username,
            "created_us": self.created_us,
            "created": iso(self.created_us),
            "destination": self.destination,
        }


# The grant ------------------------------------------------------------------------------------


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


# Creating an export ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    seq: int
    start_us: int
    end_us: int
    duration_us: int
    bytes: int
    sha256: str
    link: str
    path: str


@dataclass(frozen=True)
class _Plan:
    camera: em.CameraInfo
    rows: list[_Row]
    anchors: list[em.Anchor]
    after: list[em.ChainRow]
    checkpoints: list[em.CheckpointEntry]
    unsigned: em.UnsignedTail | None
    keys: list[em.KeyEntry]
    grant: em.GrantInfo
    request: em.RequestInfo
    exporter: em.PersonInfo


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
) -> ExportResult:
    """Make the bundle of [start_us, end_us) of one camera under `grant` (obtained with
    grants.require(..., need=Action.COPY) or `require_grant`). Whole segments, each lying
    wholly inside the grant's range (nothing the grant does not cover leaves): the covered
    range runs from the first such overlapping segment's start to the last one's end. The
    original segment files go in the bundle only under a retrieve-original grant."""
    if end_us <= start_us:
        raise ExportError("the end of the range must be after its start")
    if end_us - start_us > MAX_EXPORT_US:
        raise ExportError("one export covers at most 24 hours: split the range")
    if grant.start_us > start_us or grant.end_us < end_us:
        raise grants.NoGrant(f"grant {grant.id} does not cover {iso(start_us)} to {iso(end_us)}")
    if grant.action not in grants.SATISFIES[Action.COPY]:
        raise grants.NoGrant(f"grant {grant.id} allows {grant.action.value}, not a copy")
    now = ctx.clock()
    signer = signing.load_signer(ctx.data)
    with ctx.engine.connect() as conn:
        if _held_grant(conn, grant.id, account_id, camera_id, start_us, end_us, now) is None:
            raise grants.NoGrant(
                f"grant {grant.id} is not a live copy grant of yours for camera {camera_id}"
            )
        plan = _plan(conn, grant, account_id, username, camera_id, start_us, end_us)
    originals = grant.action is Action.RETRIEVE_ORIGINAL
    if signer.key_id not in {k.key_id for k in plan.keys}:
        with ctx.engine.begin() as conn:
            write_first(conn)
            signing.register(conn, ctx.data, signer, now)
        with ctx.engine.connect() as conn:
            plan = _with_keys(plan, _keys(conn))
    root = ctx.data.exports
    root.mkdir(parents=True, exist_ok=True)
    bundle.remove_stale_partials(root)
    _check_space(root, plan, watermark, originals)
    export_id = datetime.fromtimestamp(now / 1e6, tz=UTC).strftime("%Y%m%dT%H%M%SZ-")
    export_id += secrets.token_hex(4)
    work = bundle.partial_dir(root, export_id)
    final = root / export_id
    work.mkdir()
    renamed = committed = False
    try:
        clip = _copy_segments_and_make_clip(ctx, plan.rows, work, originals=originals)
        wm = _make_watermarked(work, plan, export_id, username, now) if watermark else None
        first, last = plan.rows[0], plan.rows[-1]
        manifest = em.Manifest(
            export_id=export_id,
            created_us=now,
            exporter=plan.exporter,
            camera=plan.camera,
            requested=em.TimeRange(start_us, end_us),
            covered=em.TimeRange(first.start_us, last.end_us),
            gaps=tuple(_gaps(plan.rows)),
            grant=plan.grant,
            request=plan.request,
            clip=clip,
            watermarked=wm,
            segments=tuple(
                em.SegmentEntry(
                    r.seq,
                    r.start_us,
                    r.end_us,
                    r.duration_us,
                    r.bytes,
                    r.sha256,
                    r.link,
                    em.segment_file(r.seq) if originals else None,
                    r.path,
                )
                for r in plan.rows
            ),
            anchors=tuple(plan.anchors),
            chain_after=tuple(plan.after),
            checkpoints=tuple(plan.checkpoints),
            unsigned_tail=plan.unsigned,
            keys=tuple(plan.keys),
            signer_key_id=signer.key_id,
            signer_public_key=signer.public_hex,
            software=f"custodes {__version__}; {export_clip.ffmpeg_version()}",
            originals_included=originals,
        )
        raw = em.encode(manifest)
        signature = bytes.fromhex(signer.sign(raw))
        bundle.write_new_file(work / em.MANIFEST_FILE, raw)
        bundle.write_new_file(work / em.SIGNATURE_FILE, signature)
        if originals:
            bundle.fsync_dir(work / em.SEGMENTS_DIR)
        bundle.fsync_dir(work)
        manifest_sha256 = hashlib.sha256(raw).hexdigest()
        total = sum(p.stat().st_size for p in work.rglob("*") if p.is_file())
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
            bytes=total,
            manifest_sha256=manifest_sha256,
            watermarked=wm is not None,
            created_by=account_id,
            created_by_username=username,
            created_us=now,
            destination=plan.request.destination,
        )
        done = ctx.clock()
        with ctx.engine.begin() as conn:
            write_first(conn)
            if _held_grant(conn, grant.id, account_id, camera_id, start_us, end_us, done) is None:
                raise grants.NoGrant(
                    f"grant {grant.id} was revoked or expired while the export was made"
                )
            conn.execute(
                insert(E).values(
                    id=export_id,
                    grant_id=grant.id,
                    camera_id=camera_id,
                    start_us=start_us,
                    end_us=end_us,
                    covered_start_us=first.start_us,
                    covered_end_us=last.end_us,
                    segments=len(plan.rows),
                    bytes=total,
                    manifest_sha256=manifest_sha256,
                    watermarked=wm is not None,
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
                    **_details(result),
                    "clip_sha256": clip.sha256,
                    "watermarked": wm is not None,
                    "unsigned_tail": plan.unsigned is not None,
                    "originals_included": originals,
                },
                time_us=done,
            )
            os.rename(work, final)
            renamed = True
            bundle.fsync_dir(root)
        committed = True
        return result
    finally:
        if not committed:
            shutil.rmtree(final if renamed else work, ignore_errors=True)


def _details(r: ExportResult) -> dict[str, Any]:
    return {
        "request": r.request_id,
        "grant": r.grant_id,
        "export": r.id,
        "camera": r.camera_id,
        "start_us": r.start_us,
        "end_us": r.end_us,
        "covered_start_us": r.covered_start_us,
        "covered_end_us": r.covered_end_us,
        "segments": r.segments,
        "manifest_sha256": r.manifest_sha256,
        "destination": r.destination,
    }


def _plan(
    conn: Connection,
    grant: grants.Grant,
    account_id: int,
    username: str,
    camera_id: int,
    start_us: int,
    end_us: int,
) -> _Plan:
    cam = conn.execute(
        select(CAM.c.id, CAM.c.name, CAM.c.place, CAM.c.site).where(CAM.c.id == camera_id)
    ).first()
    if cam is None:
        raise ExportError(f"no camera {camera_id}")
    columns = (S.c.seq, S.c.start_us, S.c.end_us, S.c.duration_us, S.c.bytes, S.c.sha256)
    rows = [
        _Row(*r)
        for r in conn.execute(
            select(*columns, S.c.link, S.c.path)
            .where(
                S.c.camera_id == camera_id,
                S.c.start_us >= max(start_us - MAX_SEGMENT_US, grant.start_us),
                S.c.end_us <= grant.end_us,  # wholly inside the grant: nothing beyond it
                S.c.start_us < end_us,
                S.c.end_us > start_us,
            )
            .order_by(S.c.start_us)
        )
    ]
    if not rows:
        raise NothingRecorded(
            f"nothing recorded by camera {camera_id} from {iso(start_us)} to {iso(end_us)}"
        )
    if [r.seq for r in rows] != sorted(r.seq for r in rows):
        raise ExportError(
            f"camera {camera_id}: the index's segments are out of time order in this range; "
            "run `custodes verify`"
        )
    anchors = _anchors(conn, camera_id, rows)
    last = rows[-1].seq
    closing = conn.execute(
        select(C.c.seq).where(C.c.camera_id == camera_id, C.c.seq >= last).order_by(C.c.seq)
    ).first()
    after: list[em.ChainRow] = []
    unsigned: em.UnsignedTail | None = None
    if closing is not None:
        upto = int(closing.seq)
        after = [
            em.ChainRow(int(r.seq), int(r.start_us), int(r.end_us), int(r.bytes), r.sha256, r.link)
            for r in conn.execute(
                select(S.c.seq, S.c.start_us, S.c.end_us, S.c.bytes, S.c.sha256, S.c.link)
                .where(S.c.camera_id == camera_id, S.c.seq > last, S.c.seq <= upto)
                .order_by(S.c.seq)
            )
        ]
        if [c.seq for c in after] != list(range(last + 1, upto + 1)):
            raise ExportError(
                f"camera {camera_id}: index rows between seq {last} and its checkpoint at "
                f"{upto} are missing; run `custodes verify`"
            )
    else:
        upto = last
    before = conn.execute(
        select(C.c.seq)
        .where(C.c.camera_id == camera_id, C.c.seq < rows[0].seq)
        .order_by(C.c.seq.desc())
        .limit(1)
    ).scalar_one_or_none()
    lowest = rows[0].seq if before is None else int(before)
    cps = [
        em.CheckpointEntry(int(c.seq), c.link, int(c.time_us), c.key_id, c.signature)
        for c in conn.execute(
            select(C)
            .where(C.c.camera_id == camera_id, C.c.seq >= lowest, C.c.seq <= upto)
            .order_by(C.c.seq)
        )
    ]
    if closing is None:
        signed_before = [c.seq for c in cps if c.seq <= last]
        first_unsigned = max([rows[0].seq, *(s + 1 for s in signed_before)])
        unsigned = em.UnsignedTail(
            first_unsigned,
            last,
            f"no checkpoint had been signed after seq {first_unsigned - 1} when the export was "
            "made: the camera was still recording, or stopped without its closing checkpoint",
        )
    return _Plan(
        camera=em.CameraInfo(int(cam.id), cam.name, cam.place, cam.site),
        rows=rows,
        anchors=anchors,
        after=after,
        checkpoints=cps,
        unsigned=unsigned,
        keys=_keys(conn),
        grant=_grant_info(conn, grant.id),
        request=_request_info(conn, grant.request_id),
        exporter=_exporter(conn, account_id, username),
    )


def _anchors(conn: Connection, camera_id: int, rows: list[_Row]) -> list[em.Anchor]:
    """The link before each run of consecutive seqs: the row before it, or the checkpoint
    that closes the pruned range before it, or the genesis."""
    out: list[em.Anchor] = []
    for i, r in enumerate(rows):
        if i > 0 and rows[i - 1].seq == r.seq - 1:
            continue
        if r.seq == 0:
            out.append(em.Anchor(-1, GENESIS.hex()))
            continue
        link = conn.execute(
            select(S.c.link).where(S.c.camera_id == camera_id, S.c.seq == r.seq - 1)
        ).scalar_one_or_none()
        if link is None:
            link = conn.execute(
                select(C.c.link).where(C.c.camera_id == camera_id, C.c.seq == r.seq - 1)
            ).scalar_one_or_none()
        if link is None:
            raise ExportError(
                f"camera {camera_id}: the chain link before segment {r.seq} is not on record "
                "(neither its row nor a checkpoint); run `custodes verify`"
            )
        out.append(em.Anchor(r.seq - 1, str(link)))
    return out


def _keys(conn: Connection) -> list[em.KeyEntry]:
    return [
        em.KeyEntry(
            k.key_id, k.public_key, int(k.created_us), k.retired_us, k.endorsed_by, k.endorsement
        )
        for k in conn.execute(select(K).order_by(K.c.created_us, K.c.key_id))
    ]


def _with_keys(plan: _Plan, keys: list[em.KeyEntry]) -> _Plan:
    return _Plan(
        plan.camera,
        plan.rows,
        plan.anchors,
        plan.after,
        plan.checkpoints,
        plan.unsigned,
        keys,
        plan.grant,
        plan.request,
        plan.exporter,
    )


def _grant_info(conn: Connection, grant_id: int) -> em.GrantInfo:
    g = conn.execute(
        select(G, A.c.username.label("granted_by_name"))
        .select_from(G.join(A, A.c.id == G.c.granted_by))
        .where(G.c.id == grant_id)
    ).one()
    return em.GrantInfo(
        int(g.id),
        g.action,
        int(g.start_us),
        int(g.end_us),
        int(g.granted_us),
        g.granted_by_name,
        int(g.expires_us),
    )


def _request_info(conn: Connection, request_id: int) -> em.RequestInfo:
    r = conn.execute(
        select(R, ORG.c.name.label("org_name"), ORG.c.kind.label("org_kind"))
        .select_from(R.join(ORG, ORG.c.id == R.c.organisation_id))
        .where(R.c.id == request_id)
    ).one()
    staff = tuple(
        em.PersonInfo(int(s.account_id), s.username, s.display_name, s.work_id)
        for s in conn.execute(
            select(RS.c.account_id, RS.c.work_id, A.c.username, A.c.display_name)
            .select_from(RS.join(A, A.c.id == RS.c.account_id))
            .where(RS.c.request_id == request_id)
            .order_by(RS.c.signed_us, RS.c.account_id)
        )
    )
    return em.RequestInfo(
        id=int(r.id),
        organisation=em.OrganisationInfo(int(r.organisation_id), r.org_name, r.org_kind),
        basis=r.basis,
        purpose=r.purpose,
        destination=r.destination or "",
        destination_abroad=bool(r.destination_abroad),
        jurisdiction=r.jurisdiction,
        psb_approval_ref=r.psb_approval_ref,
        judicial_approval_ref=r.judicial_approval_ref,
        staff=staff,
    )


def _exporter(conn: Connection, account_id: int, username: str) -> em.PersonInfo:
    a = conn.execute(
        select(A.c.username, A.c.display_name, A.c.work_id).where(A.c.id == account_id)
    ).first()
    if a is None or a.username != username:
        raise ExportError(f"account {account_id} is not {username!r}")
    return em.PersonInfo(account_id, a.username, a.display_name, a.work_id)


def _gaps(rows: list[_Row]) -> list[em.TimeRange]:
    """Time between consecutive segments of more than a second: absent from the clip, which
    plays the segments back to back."""
    out = []
    for a, b in itertools.pairwise(rows):
        if b.start_us - a.end_us > 1_000_000:
            out.append(em.TimeRange(a.end_us, b.start_us))
    return out


def _check_space(root: Path, plan: _Plan, watermark: bool, originals: bool) -> None:
    footage = sum(r.bytes for r in plan.rows)
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


def _copy_segments(ctx: Context, rows: list[_Row], work: Path) -> None:
    """Copy each sealed file into segments/ and check the copy against the index digest."""
    out = work / em.SEGMENTS_DIR
    out.mkdir()

    def one(r: _Row) -> None:
        src = ctx.data.archive / r.path
        dst = work / em.segment_file(r.seq)
        try:
            shutil.copyfile(src, dst)
        except FileNotFoundError:
            raise ExportError(
                f"segment {r.seq} ({r.path}) is missing from the archive; run `custodes verify`"
            ) from None
        sha, size = bundle.sha256_of(dst)
        if sha != r.sha256 or size != r.bytes:
            raise ExportError(
                f"segment {r.seq} ({r.path}) does not match its index digest: the archive "
                "was altered; run `custodes verify` (nothing was exported)"
            )
        bundle.seal_file(dst)

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for _ in pool.map(one, rows):
            pass


def _check_sources(ctx: Context, rows: list[_Row]) -> None:
    """Check each sealed file in the archive against its index digest (a copy grant: the
    originals are not copied, but an altered archive is not exported either)."""

    def one(r: _Row) -> None:
        try:
            sha, size = bundle.sha256_of(ctx.data.archive / r.path)
        except FileNotFoundError:
            raise ExportError(
                f"segment {r.seq} ({r.path}) is missing from the archive; run `custodes verify`"
            ) from None
        if sha != r.sha256 or size != r.bytes:
            raise ExportError(
                f"segment {r.seq} ({r.path}) does not match its index digest: the archive "
                "was altered; run `custodes verify` (nothing was exported)"
            )

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for _ in pool.map(one, rows):
            pass


def _copy_segments_and_make_clip(
    ctx: Context, rows: list[_Row], work: Path, *, originals: bool
) -> em.FileInfo:
    """Both at once: ffmpeg remuxes the sealed files (a CPU-bound pass) while the copies are
    written, hashed and fsynced (mostly the disk's time) — or, without the originals, while
    the archive's files are hashed in place. The clip is made from the archive's files, which
    the copies equal byte for byte (each is checked against the index digest), so it is also
    what the same ffmpeg makes from segments/."""
    sources = [(ctx.data.archive / r.path, r.duration_us) for r in rows]
    with ThreadPoolExecutor(max_workers=1) as side:
        clip_job = side.submit(_make_clip, sources, work)
        try:
            if originals:
                _copy_segments(ctx, rows, work)
            else:
                _check_sources(ctx, rows)
        except BaseException:
            clip_job.cancel()
            with contextlib.suppress(Exception):
                clip_job.result()  # let ffmpeg finish before the directory is removed
            raise
        return clip_job.result()


@contextlib.contextmanager
def _as_export_error() -> Iterator[None]:
    """ffmpeg's failures as the export's."""
    try:
        yield
    except export_clip.ClipError as exc:
        raise ExportError(str(exc)) from exc


def _make_clip(files: list[tuple[Path, int]], work: Path) -> em.FileInfo:
    """clip.mp4 from `files` (path, media duration in µs), in order."""
    out = work / em.CLIP_FILE
    with _as_export_error():
        export_clip.make_clip(files, out)
    bundle.seal_file(out)
    sha, size = bundle.sha256_of(out)
    return em.FileInfo(em.CLIP_FILE, size, sha, True, CLIP_METHOD)


def watermark_text(
    request: em.RequestInfo, grant_id: int, export_id: str, username: str, now_us: int
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


def _make_watermarked(
    work: Path, plan: _Plan, export_id: str, username: str, now_us: int
) -> em.FileInfo:
    text = watermark_text(plan.request, plan.grant.id, export_id, username, now_us)
    out = work / em.WATERMARKED_FILE
    with _as_export_error():
        export_clip.make_watermarked(work / em.CLIP_FILE, out, text)
    bundle.seal_file(out)
    sha, size = bundle.sha256_of(out)
    return em.FileInfo(em.WATERMARKED_FILE, size, sha, False, WATERMARK_METHOD)


# Reading exports ------------------------------------------------------------------------------


def _select() -> Any:
    return select(
        E,
        G.c.request_id,
        A.c.username.label("created_by_username"),
        R.c.destination,
    ).select_from(
        E.join(G, G.c.id == E.c.grant_id)
        .join(A, A.c.id == E.c.created_by)
        .join(R, R.c.id == G.c.request_id)
    )


def _result(ctx: Context, r: Any) -> ExportResult:
    return ExportResult(
        id=r.id,
        path=ctx.data.exports / r.id,
        grant_id=int(r.grant_id),
        request_id=int(r.request_id),
        camera_id=int(r.camera_id),
        start_us=int(r.start_us),
        end_us=int(r.end_us),
        covered_start_us=int(r.covered_start_us),
        covered_end_us=int(r.covered_end_us),
        segments=int(r.segments),
        bytes=int(r.bytes),
        manifest_sha256=r.manifest_sha256,
        watermarked=bool(r.watermarked),
        created_by=int(r.created_by),
        created_by_username=r.created_by_username,
        created_us=int(r.created_us),
        destination=r.destination or "",
    )


def get_export(ctx: Context, export_id: str) -> ExportResult:
    with ctx.engine.connect() as conn:
        row = conn.execute(_select().where(E.c.id == export_id)).first()
    if row is None:
        raise ExportNotFound(f"no export {export_id}")
    return _result(ctx, row)


def list_exports(ctx: Context, *, account_id: int | None = None) -> list[ExportResult]:
    """Newest first; one account's (None: everyone's)."""
    query = _select().order_by(E.c.created_us.desc(), E.c.id)
    if account_id is not None:
        query = query.where(E.c.created_by == account_id)
    with ctx.engine.connect() as conn:
        return [_result(ctx, r) for r in conn.execute(query)]


def record_download(ctx: Context, export: ExportResult, *, username: str, via: str) -> None:
    """The ledger entry of a bundle leaving the data directory (before the first byte)."""
    ledger.record_now(
        ctx,
        actor=ledger.account_actor(username),
        action=ledger.EXPORT_DOWNLOADED,
        object=f"export:{export.id}",
        details={**_details(export), "via": via},
    )


def record_clip_viewed(ctx: Context, export: ExportResult, *, username: str) -> None:
    ledger.record_now(
        ctx,
        actor=ledger.account_actor(username),
        action=ledger.MEDIA_VIEWED,
        object=f"export:{export.id}",
        details={**_details(export), "file": em.CLIP_FILE},
    )
