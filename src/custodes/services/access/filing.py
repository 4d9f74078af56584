"""The requester's steps: file a request, sign it as one of the staff present (own account,
registered work ID), submit it to the rules, or withdraw it."""

from __future__ import annotations

from sqlalchemy import insert, select, update

from custodes.adapters.db.engine import write_first
from custodes.adapters.db.limits import is_id
from custodes.clock import iso
from custodes.domain.access_rules import refusals, staff_article
from custodes.domain.roles import Permission
from custodes.services import ledger
from custodes.services.access.model import (
    FUTURE_SLACK_US,
    MAX_CAMERAS,
    MAX_RANGE_US,
    AccessError,
    Actor,
    NewRequest,
    NotAllowed,
    Refused,
)
from custodes.services.access.rows import (
    CAM,
    RC,
    RS,
    A,
    R,
    check_document,
    clean,
    draft_of,
    is_party,
    need,
    org_kind,
    record_refusal,
    visible_row,
)
from custodes.services.context import Context
from custodes.services.retention import (
    hold_request_footage,
    jurisdiction,
    release_request_holds,
)


def create_request(ctx: Context, actor: Actor, new: NewRequest) -> int:
    need(actor, Permission.REQUEST_CREATE)
    cams = tuple(sorted(set(new.camera_ids)))
    if not cams:
        raise AccessError("camera_ids", "name at least one camera")
    if len(cams) > MAX_CAMERAS:
        raise AccessError("camera_ids", f"at most {MAX_CAMERAS} cameras per request")
    if new.end_us <= new.start_us:
        raise AccessError("end", "must be after start")
    if new.end_us - new.start_us > MAX_RANGE_US:
        raise AccessError("end", "one request covers at most 31 days")
    if new.end_us > ctx.clock() + FUTURE_SLACK_US:
        raise AccessError(
            "end",
            "footage not yet recorded cannot be requested: watching what happens now is live "
            "view, which goes by role and camera assignment",
        )
    if not new.purpose.strip():
        raise AccessError("purpose", "state the purpose")
    impossible = [c for c in cams if not is_id(c)]
    if impossible:
        raise AccessError("camera_ids", f"no camera {impossible[0]}")
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        write_first(conn)
        known = set(conn.execute(select(CAM.c.id).where(CAM.c.id.in_(cams))).scalars())
        missing = sorted(set(cams) - known)
        if missing:
            raise AccessError("camera_ids", f"no camera {missing[0]}")
        if new.document_id is not None:
            check_document(conn, actor, new.document_id)
        request_id = int(
            conn.execute(
                insert(R)
                .values(
                    organisation_id=actor.organisation_id,
                    created_by=actor.account_id,
                    created_us=now,
                    jurisdiction=jurisdiction(conn).id,
                    action=new.action.value,
                    basis=new.basis.value,
                    purpose=new.purpose.strip(),
                    destination=new.destination.strip(),
                    destination_abroad=new.destination_abroad,
                    start_us=new.start_us,
                    end_us=new.end_us,
                    document_id=new.document_id,
                    psb_approval_ref=clean(new.psb_approval_ref),
                    judicial_approval_ref=clean(new.judicial_approval_ref),
                    manager_consent=False,  # given by the approving manager, never claimed
                    state="draft",
                )
                .returning(R.c.id)
            ).scalar_one()
        )
        conn.execute(insert(RC), [{"request_id": request_id, "camera_id": c} for c in cams])
        ledger.record(
            conn,
            actor=actor.ledger_actor,
            action=ledger.REQUEST_CREATED,
            object=f"request:{request_id}",
            details={
                "request": request_id,
                "cameras": list(cams),
                "start_us": new.start_us,
                "end_us": new.end_us,
                "start": iso(new.start_us),
                "end": iso(new.end_us),
                "action": new.action.value,
                "basis": new.basis.value,
                "purpose": new.purpose.strip(),
                "destination": new.destination.strip(),
                "document": new.document_id,
            },
            time_us=now,
        )
        hold_request_footage(
            conn,
            request_id=request_id,
            camera_ids=cams,
            start_us=new.start_us,
            end_us=new.end_us,
            until_us=None,  # until the request is decided
            cause=ledger.REQUEST_CREATED,
            by=actor.ledger_actor,
            now_us=now,
        )
    return request_id


def sign(ctx: Context, actor: Actor, request_id: int, work_id: str) -> None:
    """The actor signs as one of the staff present, with its own account and work ID."""
    need(actor, Permission.REQUEST_SIGN)
    work_id = work_id.strip()
    if not work_id:
        raise AccessError("work_id", "show your work ID")
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        write_first(conn)
        row = visible_row(conn, actor, request_id)
        if row.organisation_id != actor.organisation_id:
            raise NotAllowed("only staff of the requesting organisation sign its request")
        if row.state != "draft":
            raise AccessError("state", f"a {row.state} request can no longer be signed")
        registered = conn.execute(
            select(A.c.work_id).where(A.c.id == actor.account_id)
        ).scalar_one_or_none()
        kind = org_kind(conn, row.organisation_id)
        # a kind these rules do not know is asked for what the strictest rule asks
        article = staff_article(row.jurisdiction, kind) if kind else "Jilin Art. 28"
        if registered and registered != work_id:
            raise AccessError("work_id", "does not match the work ID registered for your account")
        if not registered and article is not None:
            # a work ID shown is one the unit can check: with none registered there is none
            raise AccessError(
                "work_id",
                f"no work ID is registered for your account, and {article} asks for one: "
                "an administrator registers it first",
            )
        signed = conn.execute(
            select(RS.c.account_id).where(
                RS.c.request_id == request_id, RS.c.account_id == actor.account_id
            )
        ).first()
        if signed is not None:
            raise AccessError("staff", "you have signed this request already")
        conn.execute(
            insert(RS).values(
                request_id=request_id, account_id=actor.account_id, work_id=work_id, signed_us=now
            )
        )
        ledger.record(
            conn,
            actor=actor.ledger_actor,
            action=ledger.REQUEST_SIGNED,
            object=f"request:{request_id}",
            details={"request": request_id, "work_id": work_id},
            time_us=now,
        )


def submit(ctx: Context, actor: Actor, request_id: int) -> None:
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        write_first(conn)
        row = visible_row(conn, actor, request_id)
        if not is_party(conn, actor, row):
            raise NotAllowed("only the requester or its signed staff submit a request")
        if row.state != "draft":
            raise AccessError("state", f"a {row.state} request cannot be submitted")
        # the manager's consent is the approver's to give: not missing yet
        found = refusals(draft_of(conn, row, manager_consent=True))
        if found:
            record_refusal(conn, actor, request_id, "submit", found, now)
        else:
            conn.execute(
                update(R).where(R.c.id == request_id).values(state="submitted", submitted_us=now)
            )
            ledger.record(
                conn,
                actor=actor.ledger_actor,
                action=ledger.REQUEST_SUBMITTED,
                object=f"request:{request_id}",
                details={"request": request_id},
                time_us=now,
            )
    if found:
        raise Refused(found)


def withdraw(ctx: Context, actor: Actor, request_id: int) -> None:
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        write_first(conn)
        row = visible_row(conn, actor, request_id)
        if not is_party(conn, actor, row):
            raise NotAllowed("only the requester or its signed staff withdraw a request")
        if row.state not in ("draft", "submitted"):
            raise AccessError("state", f"a {row.state} request cannot be withdrawn")
        conn.execute(update(R).where(R.c.id == request_id).values(state="withdrawn"))
        ledger.record(
            conn,
            actor=actor.ledger_actor,
            action=ledger.REQUEST_WITHDRAWN,
            object=f"request:{request_id}",
            details={"request": request_id},
            time_us=now,
        )
        release_request_holds(
            conn, request_id, cause=ledger.REQUEST_WITHDRAWN, by=actor.ledger_actor, now_us=now
        )
