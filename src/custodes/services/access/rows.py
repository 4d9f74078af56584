"""What the steps share: the request's rows as an actor may see them, its parties, and the
request read back into the rules' Draft (domain/access_rules.py) with its refusals recorded."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from custodes.adapters.db import schema
from custodes.adapters.db.limits import is_id
from custodes.domain.access_rules import (
    REGISTER_ARTICLE,
    UNKNOWN_VALUE,
    Action,
    Basis,
    Draft,
    OrgKind,
    Refusal,
    Staff,
)
from custodes.domain.roles import Permission, allows
from custodes.services import ledger
from custodes.services.access.model import (
    OPERATING_UNIT_ID,
    AccessError,
    Actor,
    NotAllowed,
    NotFound,
)

R = schema.access_requests
RC = schema.request_cameras
RS = schema.request_staff
G = schema.grants
GS = schema.grant_scope
A = schema.accounts
O = schema.organisations  # noqa: E741
D = schema.documents
CAM = schema.cameras


def need(actor: Actor, permission: Permission) -> None:
    if not allows(actor.role, permission):
        raise NotAllowed(f"the role {actor.role} does not allow {permission.value}")


def clean(value: str | None) -> str | None:
    return value.strip() or None if value else None


def check_document(conn: Connection, actor: Actor, document_id: int) -> None:
    org = (
        conn.execute(select(D.c.organisation_id).where(D.c.id == document_id)).scalar_one_or_none()
        if is_id(document_id)
        else None
    )
    if org is None or org != actor.organisation_id:
        raise AccessError("document_id", f"no document {document_id} of your organisation")


def visible_row(conn: Connection, actor: Actor, request_id: int) -> Any:
    row = conn.execute(select(R).where(R.c.id == request_id)).first() if is_id(request_id) else None
    if row is None or (
        row.organisation_id != actor.organisation_id
        and not allows(actor.role, Permission.REQUESTS_READ_ALL)
    ):
        raise NotFound(f"no request {request_id}")
    return row


def is_party(conn: Connection, actor: Actor, row: Any) -> bool:
    if row.created_by == actor.account_id:
        return True
    return (
        conn.execute(
            select(RS.c.account_id).where(
                RS.c.request_id == row.id, RS.c.account_id == actor.account_id
            )
        ).first()
        is not None
    )


def decidable(conn: Connection, actor: Actor, request_id: int) -> Any:
    if actor.organisation_id != OPERATING_UNIT_ID:
        raise NotAllowed("only the operating unit's security manager decides requests")
    row = visible_row(conn, actor, request_id)
    if is_party(conn, actor, row):
        raise NotAllowed(
            "you are the requester or among the staff of this request: another manager decides"
        )
    if row.state != "submitted":
        raise AccessError("state", f"a {row.state} request cannot be decided")
    return row


def cameras_of(conn: Connection, request_id: int) -> tuple[int, ...]:
    return tuple(
        conn.execute(
            select(RC.c.camera_id).where(RC.c.request_id == request_id).order_by(RC.c.camera_id)
        ).scalars()
    )


def register_article(row: Any) -> str:
    return REGISTER_ARTICLE.get(row.jurisdiction, "")


def org_kind(conn: Connection, organisation_id: int) -> OrgKind | None:
    """The organisation's kind; None for a stored value these rules do not know."""
    kind = conn.execute(select(O.c.kind).where(O.c.id == organisation_id)).scalar_one()
    return OrgKind(kind) if kind in {k.value for k in OrgKind} else None


def draft_of(conn: Connection, row: Any, *, manager_consent: bool) -> Draft:
    """The request as the rules read it; AccessError for a stored value they do not know."""
    kind = org_kind(conn, row.organisation_id)
    if (
        kind is None
        or row.action not in {a.value for a in Action}
        or row.basis not in {b.value for b in Basis}
    ):
        raise AccessError("basis", UNKNOWN_VALUE)
    staff = tuple(
        Staff(int(s.account_id), s.work_id, s.registered)
        for s in conn.execute(
            select(RS.c.account_id, RS.c.work_id, A.c.work_id.label("registered"))
            .join(A, A.c.id == RS.c.account_id)
            .where(RS.c.request_id == row.id)
        )
    )
    return Draft(
        jurisdiction=row.jurisdiction,
        action=Action(row.action),
        basis=Basis(row.basis),
        org_kind=kind,
        purpose=row.purpose,
        staff=staff,
        approval_document=row.document_id is not None,
        destination=row.destination or "",
        destination_abroad=bool(row.destination_abroad),
        psb_approval=bool(row.psb_approval_ref),
        judicial_approval_county=bool(row.judicial_approval_ref),
        manager_consent=manager_consent,
    )


def record_refusal(
    conn: Connection, actor: Actor, request_id: int, step: str, found: list[Refusal], now: int
) -> None:
    ledger.record(
        conn,
        actor=actor.ledger_actor,
        action=ledger.REQUEST_REFUSED,
        object=f"request:{request_id}",
        details={
            "request": request_id,
            "step": step,
            "refusals": [{"item": r.item, "reason": r.reason, "article": r.article} for r in found],
        },
        time_us=now,
    )
