"""Retention in the database: each camera's policy, holds, and the gate every deletion passes.

No interface deletes footage except through `request_deletion` (a person asking) or the
sweep (services/sweep.py), and both ask `deletion_refusal` first. A refused request is
recorded in the ledger with its reason and article before the refusal is returned.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from custodes.adapters.db import schema
from custodes.adapters.db.engine import write_first
from custodes.domain.retention import (
    Hold,
    Jurisdiction,
    Policy,
    Refusal,
    camera_policy,
    deletion_refusal,
    important_until,
)
from custodes.rules.jurisdictions import load
from custodes.services import ledger
from custodes.services.context import Context

CAM = schema.cameras
HOLDS = schema.holds
S = schema.segments
HOLD_KINDS = ("important", "case")


class RetentionRefused(RuntimeError):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(f"{refusal.reason} ({refusal.article})")
        self.refusal = refusal


class HoldError(ValueError):
    """A hold request that cannot be carried out (unknown hold, same person twice …)."""


def jurisdiction(conn: Connection) -> Jurisdiction:
    value = conn.execute(
        select(schema.settings.c.value).where(schema.settings.c.key == "jurisdiction")
    ).scalar_one_or_none()
    return load(str(value or "jilin"))


def policy_for(conn: Connection, camera_id: int) -> Policy:
    row = conn.execute(
        select(CAM.c.retention_days, CAM.c.key_target).where(CAM.c.id == camera_id)
    ).one()
    return camera_policy(
        jurisdiction(conn), key_target=bool(row.key_target), operator_days=row.retention_days
    )


def holds_for(conn: Connection, camera_id: int) -> list[Hold]:
    """The camera's holds that are not released (expired important holds included: the
    caller asks `Hold.active`)."""
    rows = conn.execute(
        select(HOLDS).where(HOLDS.c.camera_id == camera_id, HOLDS.c.released_us.is_(None))
    ).all()
    return [Hold(r.id, r.kind, r.start_us, r.end_us, r.until_us, r.reference) for r in rows]


@dataclass(frozen=True)
class HoldView:
    id: int
    kind: str
    camera_id: int
    start_us: int
    end_us: int
    reason: str
    reference: str | None
    created_by: str
    until_us: int | None
    release_requested_by: str | None
    released_by: str | None


def place_hold(
    ctx: Context,
    *,
    camera_id: int,
    start_us: int,
    end_us: int,
    kind: str,
    reason: str,
    actor: str,
    reference: str | None = None,
) -> int:
    if kind not in HOLD_KINDS:
        raise HoldError(f"kind: must be one of {', '.join(HOLD_KINDS)}")
    if end_us <= start_us:
        raise HoldError("a hold's end must be after its start")
    if not reason.strip():
        raise HoldError("reason: say why the footage is held")
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        write_first(conn)
        until = important_until(end_us, jurisdiction(conn)) if kind == "important" else None
        hold_id = conn.execute(
            insert(HOLDS)
            .values(
                kind=kind,
                camera_id=camera_id,
                start_us=start_us,
                end_us=end_us,
                reason=reason,
                reference=reference,
                created_by=actor,
                created_us=now,
                until_us=until,
            )
            .returning(HOLDS.c.id)
        ).scalar_one()
        ledger.record(
            conn,
            actor=actor,
            action=ledger.HOLD_PLACED,
            object=f"hold:{hold_id}",
            details={
                "camera_id": camera_id,
                "kind": kind,
                "start_us": start_us,
                "end_us": end_us,
                "until_us": until,
                "reason": reason,
                "reference": reference,
            },
            time_us=now,
        )
    return int(hold_id)


def release_hold(ctx: Context, hold_id: int, *, actor: str) -> str:
    """The first account asks, a second, different account confirms. Returns "requested" or
    "released"."""
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        write_first(conn)
        row = conn.execute(select(HOLDS).where(HOLDS.c.id == hold_id)).first()
        if row is None:
            raise HoldError(f"no hold {hold_id}")
        if row.released_us is not None:
            raise HoldError(f"hold {hold_id} was released already")
        if row.release_requested_by is None:
            conn.execute(
                update(HOLDS)
                .where(HOLDS.c.id == hold_id)
                .values(release_requested_by=actor, release_requested_us=now)
            )
            action, outcome = ledger.HOLD_RELEASE_REQUESTED, "requested"
        elif row.release_requested_by == actor:
            raise HoldError(
                f"hold {hold_id}: the release asked by {actor} needs a second, different "
                "account to confirm it"
            )
        else:
            conn.execute(
                update(HOLDS)
                .where(HOLDS.c.id == hold_id)
                .values(released_by=actor, released_us=now)
            )
            action, outcome = ledger.HOLD_RELEASED, "released"
        ledger.record(
            conn,
            actor=actor,
            action=action,
            object=f"hold:{hold_id}",
            details={"camera_id": row.camera_id, "requested_by": row.release_requested_by},
            time_us=now,
        )
    return outcome


def list_holds(ctx: Context, camera_id: int | None = None) -> list[HoldView]:
    with ctx.engine.connect() as conn:
        query = select(HOLDS).order_by(HOLDS.c.id)
        if camera_id is not None:
            query = query.where(HOLDS.c.camera_id == camera_id)
        return [
            HoldView(
                r.id,
                r.kind,
                r.camera_id,
                r.start_us,
                r.end_us,
                r.reason,
                r.reference,
                r.created_by,
                r.until_us,
                r.release_requested_by,
                r.released_by,
            )
            for r in conn.execute(query)
        ]


def check_deletion(
    ctx: Context, camera_id: int, start_us: int, end_us: int, *, actor: str, via: str
) -> None:
    """Raise RetentionRefused (and record the refusal in the ledger) when any footage of the
    camera in [start_us, end_us) is retained or held."""
    now = ctx.clock()
    with ctx.engine.connect() as conn:
        policy = policy_for(conn, camera_id)
        holds = holds_for(conn, camera_id)
        newest_end = conn.execute(
            select(S.c.end_us)
            .where(S.c.camera_id == camera_id, S.c.start_us < end_us, S.c.end_us > start_us)
            .order_by(S.c.end_us.desc())
            .limit(1)
        ).scalar_one_or_none()
    if newest_end is None:
        return
    refusal = deletion_refusal(start_us, min(end_us, newest_end), now, policy, holds)
    if refusal is None:
        return
    ledger.record_now(
        ctx,
        actor=actor,
        action=ledger.DELETION_REFUSED,
        object=f"camera:{camera_id}",
        details={
            "start_us": start_us,
            "end_us": end_us,
            "via": via,
            "reason": refusal.reason,
            "article": refusal.article,
        },
        time_us=now,
    )
    raise RetentionRefused(refusal)
