"""What a reader sees: a request with its staff, document, grant and what the rules say now;
the requests an actor may list; the grants an account holds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, exists, false, func, select

from custodes.domain.access_rules import Refusal, refusals
from custodes.domain.roles import Permission, allows
from custodes.services.access.model import OPERATING_UNIT_ID, AccessError, Actor
from custodes.services.access.rows import (
    GS,
    RS,
    A,
    D,
    G,
    O,
    R,
    cameras_of,
    draft_of,
    register_article,
    visible_row,
)
from custodes.services.context import Context


@dataclass(frozen=True)
class StaffView:
    account_id: int
    username: str
    display_name: str | None
    work_id: str
    signed_us: int


@dataclass(frozen=True)
class GrantView:
    id: int
    request_id: int
    action: str
    start_us: int
    end_us: int
    granted_by: str
    granted_us: int
    expires_us: int
    revoked_us: int | None
    revoke_reason: str | None
    camera_ids: tuple[int, ...]

    def live(self, now_us: int) -> bool:
        return self.revoked_us is None and self.expires_us > now_us


@dataclass(frozen=True)
class RequestView:
    id: int
    state: str
    organisation_id: int
    organisation: str
    organisation_kind: str
    created_by: str
    created_us: int
    jurisdiction: str
    action: str
    basis: str
    purpose: str
    destination: str
    destination_abroad: bool
    start_us: int
    end_us: int
    camera_ids: tuple[int, ...]
    staff: tuple[StaffView, ...]
    document: dict[str, Any] | None
    psb_approval_ref: str | None
    judicial_approval_ref: str | None
    manager_consent: bool
    submitted_us: int | None
    decided_by: str | None
    decided_us: int | None
    decision_note: str | None
    grant: GrantView | None
    refusals: tuple[Refusal, ...]  # what the rules say now (empty when it may go ahead)


def get_request(ctx: Context, actor: Actor, request_id: int) -> RequestView:
    with ctx.engine.connect() as conn:
        return _view(conn, visible_row(conn, actor, request_id))


# What waits for the actor (`awaiting`): its signature, or its decision.
AWAITING = ("sign", "decide")


def _awaits(actor: Actor, awaiting: str) -> ColumnElement[bool]:
    """The requests that wait for the actor's step, as the steps themselves would allow it:
    - "sign": a draft of the actor's own organisation it has not signed (filing.py `sign`);
    - "decide": a submitted request, for a deciding role of the operating unit, that the
      actor neither filed nor signed (rows.py `decidable`: another manager decides those).
    A role without the step's permission is awaited by nothing."""
    mine = exists().where(RS.c.request_id == R.c.id, RS.c.account_id == actor.account_id)
    if awaiting == "sign":
        if not allows(actor.role, Permission.REQUEST_SIGN):
            return false()
        return and_(R.c.state == "draft", R.c.organisation_id == actor.organisation_id, ~mine)
    if awaiting == "decide":
        if (
            not allows(actor.role, Permission.REQUEST_DECIDE)
            or actor.organisation_id != OPERATING_UNIT_ID
        ):
            return false()
        return and_(R.c.state == "submitted", R.c.created_by != actor.account_id, ~mine)
    raise ValueError(f"awaiting: one of {', '.join(AWAITING)}, not {awaiting!r}")


def _visible(actor: Actor) -> ColumnElement[bool] | None:
    if allows(actor.role, Permission.REQUESTS_READ_ALL):
        return None
    return R.c.organisation_id == actor.organisation_id


def list_requests(
    ctx: Context,
    actor: Actor,
    *,
    state: str | None = None,
    awaiting: str | None = None,
    limit: int = 200,
) -> list[RequestView]:
    """The requests the actor may see, newest first; only those in `state`, and only those
    waiting for the actor's step (`awaiting`, one of AWAITING), when given."""
    query = select(R).order_by(R.c.id.desc()).limit(limit)
    visible = _visible(actor)
    if visible is not None:
        query = query.where(visible)
    if state is not None:
        query = query.where(R.c.state == state)
    if awaiting is not None:
        query = query.where(_awaits(actor, awaiting))
    with ctx.engine.connect() as conn:
        return [_view(conn, row) for row in conn.execute(query)]


def count_awaiting(ctx: Context, actor: Actor) -> dict[str, int]:
    """How many visible requests wait for each of the actor's steps (the navigation's
    badges): {"sign": n, "decide": m}, 0 for a step the role does not take."""
    counts: dict[str, int] = {}
    with ctx.engine.connect() as conn:
        for awaiting in AWAITING:
            where = _awaits(actor, awaiting)
            visible = _visible(actor)
            query = select(func.count()).select_from(R).where(where)
            if visible is not None:
                query = query.where(visible)
            counts[awaiting] = int(conn.execute(query).scalar_one())
    return counts


def my_grants(ctx: Context, actor: Actor) -> list[GrantView]:
    """The grants the actor holds (live or not), newest first."""
    with ctx.engine.connect() as conn:
        ids = conn.execute(
            select(GS.c.grant_id).where(GS.c.account_id == actor.account_id).distinct()
        ).scalars()
        return [_grant_view(conn, g) for g in sorted(ids, reverse=True)]


def _grant_view(conn: Connection, grant_id: int) -> GrantView:
    g = conn.execute(
        select(G, A.c.username).join(A, A.c.id == G.c.granted_by).where(G.c.id == grant_id)
    ).one()
    cams = tuple(
        conn.execute(select(GS.c.camera_id).where(GS.c.grant_id == grant_id).distinct()).scalars()
    )
    return GrantView(
        id=int(g.id),
        request_id=int(g.request_id),
        action=g.action,
        start_us=int(g.start_us),
        end_us=int(g.end_us),
        granted_by=g.username,
        granted_us=int(g.granted_us),
        expires_us=int(g.expires_us),
        revoked_us=g.revoked_us,
        revoke_reason=g.revoke_reason,
        camera_ids=tuple(sorted(cams)),
    )


def _view(conn: Connection, row: Any) -> RequestView:
    org = conn.execute(select(O.c.name, O.c.kind).where(O.c.id == row.organisation_id)).one()
    names = {
        r.id: r.username
        for r in conn.execute(
            select(A.c.id, A.c.username).where(
                A.c.id.in_([i for i in (row.created_by, row.decided_by) if i is not None])
            )
        )
    }
    staff = tuple(
        StaffView(int(s.account_id), s.username, s.display_name, s.work_id, int(s.signed_us))
        for s in conn.execute(
            select(RS.c.account_id, RS.c.work_id, RS.c.signed_us, A.c.username, A.c.display_name)
            .join(A, A.c.id == RS.c.account_id)
            .where(RS.c.request_id == row.id)
            .order_by(RS.c.signed_us)
        )
    )
    document = None
    if row.document_id is not None:
        d = conn.execute(select(D).where(D.c.id == row.document_id)).one()
        document = {
            "id": int(d.id),
            "filename": d.filename,
            "sha256": d.sha256,
            "media_type": d.media_type,
            "bytes": int(d.bytes),
        }
    grant_id = conn.execute(select(G.c.id).where(G.c.request_id == row.id)).scalar_one_or_none()
    pending = row.state in ("draft", "submitted")
    return RequestView(
        id=int(row.id),
        state=row.state,
        organisation_id=int(row.organisation_id),
        organisation=org.name,
        organisation_kind=org.kind,
        created_by=names[row.created_by],
        created_us=int(row.created_us),
        jurisdiction=row.jurisdiction,
        action=row.action,
        basis=row.basis,
        purpose=row.purpose,
        destination=row.destination or "",
        destination_abroad=bool(row.destination_abroad),
        start_us=int(row.start_us),
        end_us=int(row.end_us),
        camera_ids=cameras_of(conn, int(row.id)),
        staff=staff,
        document=document,
        psb_approval_ref=row.psb_approval_ref,
        judicial_approval_ref=row.judicial_approval_ref,
        manager_consent=bool(row.manager_consent),
        submitted_us=row.submitted_us,
        decided_by=names.get(row.decided_by) if row.decided_by is not None else None,
        decided_us=row.decided_us,
        decision_note=row.decision_note,
        grant=_grant_view(conn, int(grant_id)) if grant_id is not None else None,
        refusals=_pending_refusals(conn, row) if pending else (),
    )


def _pending_refusals(conn: Connection, row: Any) -> tuple[Refusal, ...]:
    try:
        return tuple(refusals(draft_of(conn, row, manager_consent=True)))
    except AccessError as exc:  # a stored value the rules do not know: shown, never a 500
        return (Refusal(exc.field, exc.message, register_article(row)),)
