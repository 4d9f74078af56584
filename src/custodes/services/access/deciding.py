"""The security manager's steps: approve a submitted request (the rules run again with the
approver's own consent, and a grant is made for its signed staff), reject it, revoke a grant."""

from __future__ import annotations

from sqlalchemy import insert, select, update

from custodes.adapters.db.engine import write_first
from custodes.adapters.db.limits import is_id
from custodes.clock import iso
from custodes.domain.access_rules import NOBODY_SIGNED, Refusal, refusals
from custodes.domain.roles import Permission
from custodes.services import duties, ledger
from custodes.services.access.model import (
    DEFAULT_VALIDITY_US,
    MAX_VALIDITY_US,
    AccessError,
    Actor,
    NotFound,
    Refused,
)
from custodes.services.access.rows import (
    GS,
    RS,
    G,
    R,
    cameras_of,
    decidable,
    draft_of,
    need,
    record_refusal,
    register_article,
)
from custodes.services.context import Context
from custodes.services.retention import hold_request_footage, release_request_holds


def approve(
    ctx: Context,
    actor: Actor,
    request_id: int,
    *,
    note: str = "",
    validity_us: int = DEFAULT_VALIDITY_US,
    manager_consent: bool = False,
) -> int:
    """Approve a submitted request: the grant's id. The approver is a security manager of the
    operating unit who is neither the requester nor among the staff. `manager_consent` is the
    approver's own consent as the unit's manager (Shenzhen Art. 33, 35): a requester cannot
    claim it, so the rules run here with the approver's answer."""
    need(actor, Permission.REQUEST_DECIDE)
    if not 0 < validity_us <= MAX_VALIDITY_US:
        raise AccessError("validity", "a grant lasts more than nothing and at most 90 days")
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        write_first(conn)
        row = decidable(conn, actor, request_id)
        found = refusals(draft_of(conn, row, manager_consent=manager_consent))
        found += duties.approval_refusals(conn, request_id, actor.account_id, row.jurisdiction)
        holders = list(
            conn.execute(select(RS.c.account_id).where(RS.c.request_id == request_id)).scalars()
        )
        if not holders:
            found.append(Refusal("staff", NOBODY_SIGNED, register_article(row)))
        if found:
            record_refusal(conn, actor, request_id, "approve", found, now)
            grant_id = None
        else:
            expires = now + validity_us
            grant_id = int(
                conn.execute(
                    insert(G)
                    .values(
                        request_id=request_id,
                        action=row.action,
                        start_us=row.start_us,
                        end_us=row.end_us,
                        granted_by=actor.account_id,
                        granted_us=now,
                        expires_us=expires,
                    )
                    .returning(G.c.id)
                ).scalar_one()
            )
            cams = cameras_of(conn, request_id)
            conn.execute(
                insert(GS),
                [
                    {"grant_id": grant_id, "account_id": h, "camera_id": c}
                    for h in holders
                    for c in cams
                ],
            )
            conn.execute(
                update(R)
                .where(R.c.id == request_id)
                .values(
                    state="approved",
                    decided_by=actor.account_id,
                    decided_us=now,
                    decision_note=note.strip() or None,
                    manager_consent=manager_consent,
                )
            )
            ledger.record(
                conn,
                actor=actor.ledger_actor,
                action=ledger.REQUEST_APPROVED,
                object=f"request:{request_id}",
                details={
                    "request": request_id,
                    "grant": grant_id,
                    "action": row.action,
                    "cameras": list(cams),
                    "start_us": row.start_us,
                    "end_us": row.end_us,
                    "expires_us": expires,
                    "expires": iso(expires),
                    "holders": holders,
                    "manager_consent": manager_consent,
                    "note": note.strip(),
                },
                time_us=now,
            )
            # the footage stays held while the grant runs: the open-ended hold is renewed
            # as one that ends with the grant's expiry (a revocation ends it sooner)
            hold_request_footage(
                conn,
                request_id=request_id,
                camera_ids=cams,
                start_us=int(row.start_us),
                end_us=int(row.end_us),
                until_us=expires,
                cause=ledger.REQUEST_APPROVED,
                by=actor.ledger_actor,
                now_us=now,
                grant_id=grant_id,
            )
    if grant_id is None:
        raise Refused(found)
    return grant_id


def reject(ctx: Context, actor: Actor, request_id: int, *, note: str) -> None:
    need(actor, Permission.REQUEST_DECIDE)
    if not note.strip():
        raise AccessError("note", "say why the request is rejected")
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        write_first(conn)
        decidable(conn, actor, request_id)
        conn.execute(
            update(R)
            .where(R.c.id == request_id)
            .values(
                state="rejected",
                decided_by=actor.account_id,
                decided_us=now,
                decision_note=note.strip(),
            )
        )
        ledger.record(
            conn,
            actor=actor.ledger_actor,
            action=ledger.REQUEST_REJECTED,
            object=f"request:{request_id}",
            details={"request": request_id, "note": note.strip()},
            time_us=now,
        )
        release_request_holds(
            conn, request_id, cause=ledger.REQUEST_REJECTED, by=actor.ledger_actor, now_us=now
        )


def revoke(ctx: Context, actor: Actor, grant_id: int, *, reason: str) -> None:
    need(actor, Permission.GRANT_REVOKE)
    if not reason.strip():
        raise AccessError("reason", "say why the grant is revoked")
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        write_first(conn)
        row = conn.execute(select(G).where(G.c.id == grant_id)).first() if is_id(grant_id) else None
        if row is None:
            raise NotFound(f"no grant {grant_id}")
        if row.revoked_us is not None:
            raise AccessError("state", "the grant is revoked already")
        conn.execute(
            update(G)
            .where(G.c.id == grant_id)
            .values(revoked_by=actor.account_id, revoked_us=now, revoke_reason=reason.strip())
        )
        ledger.record(
            conn,
            actor=actor.ledger_actor,
            action=ledger.GRANT_REVOKED,
            object=f"grant:{grant_id}",
            details={"request": int(row.request_id), "grant": grant_id, "reason": reason.strip()},
            time_us=now,
        )
        release_request_holds(
            conn,
            int(row.request_id),
            cause=ledger.GRANT_REVOKED,
            by=actor.ledger_actor,
            now_us=now,
        )
