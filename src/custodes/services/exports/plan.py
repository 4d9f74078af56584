"""What an export holds, read from the index: the segments wholly inside the grant that overlap
the requested range, the link before each run of them, the index rows after the last one up to
the checkpoint that closes them — signed now, over the last exported segment, when the
recorder has not signed one yet (so no row after the grant's footage is carried) — the
checkpoints, the keys, and whom the export is for.

Recent footage is not yet followed by a checkpoint (the recorder signs one every 100 segments
or 10 minutes): `plan_export` then signs one (services/checkpoints.py `sign_recent`, which
refuses a tail whose rows do not give their links) and plans with it as the closing one, so a
bundle never carries an unsigned tail.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import Connection, select

from custodes.adapters.db import schema
from custodes.adapters.db.engine import write_first
from custodes.clock import iso
from custodes.domain import export_format as fmt
from custodes.domain.chain import GENESIS
from custodes.services import checkpoints, grants, signing
from custodes.services.context import Context
from custodes.services.exports.errors import NOTHING_RECORDED, ExportError, NothingRecorded
from custodes.services.recordings import MAX_SEGMENT_US

S = schema.segments
C = schema.checkpoints
K = schema.signing_keys
G = schema.grants
R = schema.access_requests
RS = schema.request_staff
A = schema.accounts
ORG = schema.organisations
CAM = schema.cameras


@dataclass(frozen=True)
class Row:
    """An exported segment's index row."""

    seq: int
    start_us: int
    end_us: int
    duration_us: int
    bytes: int
    sha256: str
    link: str
    path: str


@dataclass(frozen=True)
class Plan:
    camera: fmt.CameraInfo
    rows: tuple[Row, ...]
    anchors: tuple[fmt.Anchor, ...]
    after: tuple[fmt.ChainRow, ...]  # up to the closing checkpoint
    checkpoints: tuple[fmt.CheckpointEntry, ...]
    keys: tuple[fmt.KeyEntry, ...]
    grant: fmt.GrantInfo
    request: fmt.RequestInfo
    exporter: fmt.PersonInfo
    closing_seq: int | None  # the checkpoint that closes the exported segments
    signed_now: bool = False  # this export signed it


def plan_export(
    ctx: Context,
    grant: grants.Grant,
    *,
    account_id: int,
    username: str,
    camera_id: int,
    start_us: int,
    end_us: int,
    signer: signing.Signer,
    now_us: int,
) -> Plan:
    """The plan of [start_us, end_us) of one camera under `grant`, closed by a signed
    checkpoint (signed now by `signer` at the last exported segment if there is none yet).
    Raises NothingRecorded, and ExportError when the index cannot give a chain that a
    checkpoint closes."""
    _register(ctx, signer, now_us)  # before a checkpoint it signs is read back with the keys
    args = (grant, account_id, username, camera_id, start_us, end_us)
    with ctx.engine.connect() as conn:
        plan = _read(conn, *args)
    if plan.closing_seq is not None:
        return plan
    try:
        signed = checkpoints.sign_recent(
            ctx.engine, ctx.data, signer, camera_id, now_us, upto_seq=plan.rows[-1].seq
        )
    except checkpoints.ChainBroken as exc:
        raise ExportError(
            f"the export was not made: no checkpoint can be signed over camera {camera_id}'s "
            f"exported footage, so nothing would vouch for the exported segments — {exc}"
        ) from None
    with ctx.engine.connect() as conn:
        plan = _read(conn, *args)
    if plan.closing_seq is None:  # only if the rows went away meanwhile
        raise ExportError(
            f"camera {camera_id}: no checkpoint closes segment {plan.rows[-1].seq} even after "
            "signing one; run `custodes verify`"
        )
    return replace(plan, signed_now=signed is not None)


def _register(ctx: Context, signer: signing.Signer, now_us: int) -> None:
    """The signer's public key in the key table and file, if it is not there yet."""
    with ctx.engine.connect() as conn:
        known = signer.key_id in signing.public_keys(conn)
    if not known:
        with ctx.engine.begin() as conn:
            write_first(conn)
            signing.register(conn, ctx.data, signer, now_us)


def _read(
    conn: Connection,
    grant: grants.Grant,
    account_id: int,
    username: str,
    camera_id: int,
    start_us: int,
    end_us: int,
) -> Plan:
    cam = conn.execute(
        select(CAM.c.id, CAM.c.name, CAM.c.place, CAM.c.site).where(CAM.c.id == camera_id)
    ).first()
    if cam is None:
        raise ExportError(f"no camera {camera_id}")
    rows = _rows(conn, grant, camera_id, start_us, end_us)
    last = rows[-1].seq
    closing = conn.execute(
        select(C.c.seq).where(C.c.camera_id == camera_id, C.c.seq >= last).order_by(C.c.seq)
    ).first()
    upto = last if closing is None else int(closing.seq)
    after = tuple(
        fmt.ChainRow(
            seq=int(r.seq),
            start_us=int(r.start_us),
            end_us=int(r.end_us),
            bytes=int(r.bytes),
            sha256=r.sha256,
            link=r.link,
        )
        for r in conn.execute(
            select(S.c.seq, S.c.start_us, S.c.end_us, S.c.bytes, S.c.sha256, S.c.link)
            .where(S.c.camera_id == camera_id, S.c.seq > last, S.c.seq <= upto)
            .order_by(S.c.seq)
        )
    )
    if [c.seq for c in after] != list(range(last + 1, upto + 1)):
        raise ExportError(
            f"camera {camera_id}: index rows between seq {last} and its checkpoint at "
            f"{upto} are missing; run `custodes verify`"
        )
    before = conn.execute(
        select(C.c.seq)
        .where(C.c.camera_id == camera_id, C.c.seq < rows[0].seq)
        .order_by(C.c.seq.desc())
        .limit(1)
    ).scalar_one_or_none()
    lowest = rows[0].seq if before is None else int(before)
    cps = tuple(
        fmt.CheckpointEntry(
            seq=int(c.seq),
            link=c.link,
            time_us=int(c.time_us),
            key_id=c.key_id,
            signature=c.signature,
        )
        for c in conn.execute(
            select(C)
            .where(C.c.camera_id == camera_id, C.c.seq >= lowest, C.c.seq <= upto)
            .order_by(C.c.seq)
        )
    )
    return Plan(
        camera=fmt.CameraInfo(id=int(cam.id), name=cam.name, place=cam.place, site=cam.site),
        rows=rows,
        anchors=_anchors(conn, camera_id, rows),
        after=after,
        checkpoints=cps,
        keys=keys(conn),
        grant=_grant_info(conn, grant.id),
        request=_request_info(conn, grant.request_id),
        exporter=_exporter(conn, account_id, username),
        closing_seq=None if closing is None else upto,
    )


def _rows(
    conn: Connection, grant: grants.Grant, camera_id: int, start_us: int, end_us: int
) -> tuple[Row, ...]:
    """The segments wholly inside the grant's range that overlap the requested one."""
    columns = (S.c.seq, S.c.start_us, S.c.end_us, S.c.duration_us, S.c.bytes, S.c.sha256)
    rows = tuple(
        Row(
            seq=int(r.seq),
            start_us=int(r.start_us),
            end_us=int(r.end_us),
            duration_us=int(r.duration_us),
            bytes=int(r.bytes),
            sha256=r.sha256,
            link=r.link,
            path=r.path,
        )
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
    )
    if not rows:
        raise NothingRecorded(
            NOTHING_RECORDED % {"camera": camera_id, "start": iso(start_us), "end": iso(end_us)},
            NOTHING_RECORDED,
            {"camera": str(camera_id), "start_us": str(start_us), "end_us": str(end_us)},
        )
    if [r.seq for r in rows] != sorted(r.seq for r in rows):
        raise ExportError(
            f"camera {camera_id}: the index's segments are out of time order in this range; "
            "run `custodes verify`"
        )
    return rows


def _anchors(conn: Connection, camera_id: int, rows: tuple[Row, ...]) -> tuple[fmt.Anchor, ...]:
    """The link before each run of consecutive seqs: the row before it, or the checkpoint
    that closes the pruned range before it, or the genesis."""
    out: list[fmt.Anchor] = []
    for i, r in enumerate(rows):
        if i > 0 and rows[i - 1].seq == r.seq - 1:
            continue
        if r.seq == 0:
            out.append(fmt.Anchor(seq=-1, link=GENESIS.hex()))
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
        out.append(fmt.Anchor(seq=r.seq - 1, link=str(link)))
    return tuple(out)


def keys(conn: Connection) -> tuple[fmt.KeyEntry, ...]:
    """Every public key the installation has used, oldest first."""
    return tuple(
        fmt.KeyEntry(
            key_id=k.key_id,
            public_key=k.public_key,
            created_us=int(k.created_us),
            retired_us=None if k.retired_us is None else int(k.retired_us),
            endorsed_by=k.endorsed_by,
            endorsement=k.endorsement,
        )
        for k in conn.execute(select(K).order_by(K.c.created_us, K.c.key_id))
    )


def _grant_info(conn: Connection, grant_id: int) -> fmt.GrantInfo:
    g = conn.execute(
        select(G, A.c.username.label("granted_by_name"))
        .select_from(G.join(A, A.c.id == G.c.granted_by))
        .where(G.c.id == grant_id)
    ).one()
    return fmt.GrantInfo(
        id=int(g.id),
        action=g.action,
        start_us=int(g.start_us),
        end_us=int(g.end_us),
        granted_us=int(g.granted_us),
        granted_by=g.granted_by_name,
        expires_us=int(g.expires_us),
    )


def _request_info(conn: Connection, request_id: int) -> fmt.RequestInfo:
    r = conn.execute(
        select(R, ORG.c.name.label("org_name"), ORG.c.kind.label("org_kind"))
        .select_from(R.join(ORG, ORG.c.id == R.c.organisation_id))
        .where(R.c.id == request_id)
    ).one()
    staff = tuple(
        fmt.PersonInfo(
            account_id=int(s.account_id),
            username=s.username,
            display_name=s.display_name,
            work_id=s.work_id,
        )
        for s in conn.execute(
            select(RS.c.account_id, RS.c.work_id, A.c.username, A.c.display_name)
            .select_from(RS.join(A, A.c.id == RS.c.account_id))
            .where(RS.c.request_id == request_id)
            .order_by(RS.c.signed_us, RS.c.account_id)
        )
    )
    return fmt.RequestInfo(
        id=int(r.id),
        organisation=fmt.OrganisationInfo(
            id=int(r.organisation_id), name=r.org_name, kind=r.org_kind
        ),
        basis=r.basis,
        purpose=r.purpose,
        destination=r.destination or "",
        destination_abroad=bool(r.destination_abroad),
        jurisdiction=r.jurisdiction,
        psb_approval_ref=r.psb_approval_ref,
        judicial_approval_ref=r.judicial_approval_ref,
        staff=staff,
    )


def _exporter(conn: Connection, account_id: int, username: str) -> fmt.PersonInfo:
    a = conn.execute(
        select(A.c.username, A.c.display_name, A.c.work_id).where(A.c.id == account_id)
    ).first()
    if a is None or a.username != username:
        raise ExportError(f"account {account_id} is not {username!r}")
    return fmt.PersonInfo(
        account_id=account_id, username=a.username, display_name=a.display_name, work_id=a.work_id
    )
