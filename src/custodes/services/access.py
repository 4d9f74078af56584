"""Access requests and their decisions: the gate to recorded footage (issue 5, parts 3–4).

draft ──sign (each staff member, own account, work ID)──▶ draft
draft ──submit (rules pass)──▶ submitted ──approve (security manager, not a requester)──▶
approved (+ grant) | rejected; draft/submitted ──withdraw──▶ withdrawn. A grant can be revoked.

The footage a request names is held from its creation (an automatic "access" hold per camera,
services/retention.py) until it is rejected or withdrawn; at approval the hold is renewed to
run until the grant expires, and a revocation ends it. Each is done in the step's transaction.

The rules themselves are pure (domain/access_rules.py) and run twice: at submission and again
at approval, so a request cannot be approved if anything it relies on changed meanwhile. Every
step is a ledger entry in the same transaction as the change; every refusal by the rules is
one too. A step the actor's role or part does not allow is refused without an entry (nothing
changed; the route answers 403).
Visibility: an actor sees its own organisation's requests; roles that may read all
(REQUESTS_READ_ALL) see every one. Another organisation's request is "not found", never
"forbidden", so ids cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from custodes.adapters.db import schema
from custodes.adapters.db.engine import write_first
from custodes.clock import iso
from custodes.domain.access_rules import (
    REGISTER_ARTICLE,
    Action,
    Basis,
    Draft,
    OrgKind,
    Refusal,
    Staff,
    refusals,
)
from custodes.domain.roles import Permission, allows
from custodes.services import duties, ledger
from custodes.services.context import Context
from custodes.services.retention import (
    hold_request_footage,
    jurisdiction,
    release_request_holds,
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

OPERATING_UNIT_ID = 1
MAX_RANGE_US = 31 * 86_400_000_000  # one request covers at most 31 days of footage
DEFAULT_VALIDITY_US = 7 * 86_400_000_000
MAX_VALIDITY_US = 90 * 86_400_000_000
MAX_CAMERAS = 64
FUTURE_SLACK_US = 60_000_000  # "until now" typed by hand may run a little past the clock
# What the columns hold: ids are INTEGER (32 bits on PostgreSQL), times BIGINT. A number
# outside names no row, and the database refuses to bind it (SQLite: OverflowError beyond 64
# bits; PostgreSQL: "integer out of range" beyond 32), so it is answered before any query.
ID_MAX = 2**31 - 1
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


def is_id(*values: int) -> bool:
    """Whether every value can be a row's id (1 … ID_MAX)."""
    return all(1 <= v <= ID_MAX for v in values)


def is_bigint(*values: int) -> bool:
    """Whether every value fits a BIGINT column (times in µs)."""
    return all(BIGINT_MIN <= v <= BIGINT_MAX for v in values)


class AccessError(ValueError):
    """A request that cannot be made as asked (bad field, wrong state); names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFound(LookupError):
    """No such request or grant visible to the actor."""


class NotAllowed(PermissionError):
    """The actor's role or part in the request does not allow the step."""


class Refused(Exception):
    """The rules refuse the request; each refusal names its article."""

    def __init__(self, items: list[Refusal]) -> None:
        super().__init__("; ".join(f"{r.reason} ({r.article})" for r in items))
        self.items = items


@dataclass(frozen=True)
class Actor:
    """Who acts: an authenticated account (the web session or a named CLI account)."""

    account_id: int
    username: str
    role: str
    organisation_id: int

    @property
    def ledger_actor(self) -> str:
        return ledger.account_actor(self.username)


@dataclass(frozen=True)
class NewRequest:
    camera_ids: tuple[int, ...]
    start_us: int
    end_us: int
    action: Action
    basis: Basis
    purpose: str
    destination: str = ""
    destination_abroad: bool = False
    document_id: int | None = None
    psb_approval_ref: str | None = None
    judicial_approval_ref: str | None = None


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


# --- creating and signing ----------------------------------------------------------------


def create_request(ctx: Context, actor: Actor, new: NewRequest) -> int:
    _need(actor, Permission.REQUEST_CREATE)
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
            _check_document(conn, actor, new.document_id)
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
                    psb_approval_ref=_clean(new.psb_approval_ref),
                    judicial_approval_ref=_clean(new.judicial_approval_ref),
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
    _need(actor, Permission.REQUEST_SIGN)
    work_id = work_id.strip()
    if not work_id:
        raise AccessError("work_id", "show your work ID")
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        write_first(conn)
        row = _visible_row(conn, actor, request_id)
        if row.organisation_id != actor.organisation_id:
            raise NotAllowed("only staff of the requesting organisation sign its request")
        if row.state != "draft":
            raise AccessError("state", f"a {row.state} request can no longer be signed")
        registered = conn.execute(
            select(A.c.work_id).where(A.c.id == actor.account_id)
        ).scalar_one_or_none()
        if registered and registered != work_id:
            raise AccessError("work_id", "does not match the work ID registered for your account")
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
        row = _visible_row(conn, actor, request_id)
        if not _is_party(conn, actor, row):
            raise NotAllowed("only the requester or its signed staff submit a request")
        if row.state != "draft":
            raise AccessError("state", f"a {row.state} request cannot be submitted")
        # the manager's consent is the approver's to give: not missing yet
        found = refusals(_draft(conn, row, manager_consent=True))
        if found:
            _record_refusal(conn, actor, request_id, "submit", found, now)
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
        row = _visible_row(conn, actor, request_id)
        if not _is_party(conn, actor, row):
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


# --- deciding --------------------------------------------------------------------------


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
    _need(actor, Permission.REQUEST_DECIDE)
    if not 0 < validity_us <= MAX_VALIDITY_US:
        raise AccessError("validity", "a grant lasts more than nothing and at most 90 days")
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        write_first(conn)
        row = _decidable(conn, actor, request_id)
        found = refusals(_draft(conn, row, manager_consent=manager_consent))
        found += duties.approval_refusals(conn, request_id, actor.account_id, row.jurisdiction)
        holders = list(
            conn.execute(select(RS.c.account_id).where(RS.c.request_id == request_id)).scalars()
        )
        if not holders:
            found.append(
                Refusal("staff", "nobody has signed: a grant needs a holder", _register(row))
            )
        if found:
            _record_refusal(conn, actor, request_id, "approve", found, now)
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
            cams = _cameras(conn, request_id)
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
    _need(actor, Permission.REQUEST_DECIDE)
    if not note.strip():
        raise AccessError("note", "say why the request is rejected")
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        write_first(conn)
        _decidable(conn, actor, request_id)
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
    _need(actor, Permission.GRANT_REVOKE)
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


# --- reading ---------------------------------------------------------------------------


def get_request(ctx: Context, actor: Actor, request_id: int) -> RequestView:
    with ctx.engine.connect() as conn:
        return _view(conn, _visible_row(conn, actor, request_id))


def list_requests(
    ctx: Context, actor: Actor, *, state: str | None = None, limit: int = 200
) -> list[RequestView]:
    query = select(R).order_by(R.c.id.desc()).limit(limit)
    if not allows(actor.role, Permission.REQUESTS_READ_ALL):
        query = query.where(R.c.organisation_id == actor.organisation_id)
    if state is not None:
        query = query.where(R.c.state == state)
    with ctx.engine.connect() as conn:
        return [_view(conn, row) for row in conn.execute(query)]


def my_grants(ctx: Context, actor: Actor) -> list[GrantView]:
    """The grants the actor holds (live or not), newest first."""
    with ctx.engine.connect() as conn:
        ids = conn.execute(
            select(GS.c.grant_id).where(GS.c.account_id == actor.account_id).distinct()
        ).scalars()
        return [_grant_view(conn, g) for g in sorted(ids, reverse=True)]


# --- internals -------------------------------------------------------------------------


def _need(actor: Actor, permission: Permission) -> None:
    if not allows(actor.role, permission):
        raise NotAllowed(f"the role {actor.role} does not allow {permission.value}")


def _clean(value: str | None) -> str | None:
    return value.strip() or None if value else None


def _check_document(conn: Connection, actor: Actor, document_id: int) -> None:
    org = (
        conn.execute(select(D.c.organisation_id).where(D.c.id == document_id)).scalar_one_or_none()
        if is_id(document_id)
        else None
    )
    if org is None or org != actor.organisation_id:
        raise AccessError("document_id", f"no document {document_id} of your organisation")


def _visible_row(conn: Connection, actor: Actor, request_id: int) -> Any:
    row = conn.execute(select(R).where(R.c.id == request_id)).first() if is_id(request_id) else None
    if row is None or (
        row.organisation_id != actor.organisation_id
        and not allows(actor.role, Permission.REQUESTS_READ_ALL)
    ):
        raise NotFound(f"no request {request_id}")
    return row


def _is_party(conn: Connection, actor: Actor, row: Any) -> bool:
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


def _decidable(conn: Connection, actor: Actor, request_id: int) -> Any:
    if actor.organisation_id != OPERATING_UNIT_ID:
        raise NotAllowed("only the operating unit's security manager decides requests")
    row = _visible_row(conn, actor, request_id)
    if _is_party(conn, actor, row):
        raise NotAllowed(
            "you are the requester or among the staff of this request: another manager decides"
        )
    if row.state != "submitted":
        raise AccessError("state", f"a {row.state} request cannot be decided")
    return row


def _cameras(conn: Connection, request_id: int) -> tuple[int, ...]:
    return tuple(
        conn.execute(
            select(RC.c.camera_id).where(RC.c.request_id == request_id).order_by(RC.c.camera_id)
        ).scalars()
    )


def _register(row: Any) -> str:
    return REGISTER_ARTICLE.get(row.jurisdiction, "")


def _draft(conn: Connection, row: Any, *, manager_consent: bool) -> Draft:
    kind = conn.execute(select(O.c.kind).where(O.c.id == row.organisation_id)).scalar_one()
    staff = tuple(
        Staff(int(s.account_id), s.work_id)
        for s in conn.execute(select(RS).where(RS.c.request_id == row.id))
    )
    return Draft(
        jurisdiction=row.jurisdiction,
        action=Action(row.action),
        basis=Basis(row.basis),
        org_kind=OrgKind(kind),
        purpose=row.purpose,
        staff=staff,
        approval_document=row.document_id is not None,
        destination=row.destination or "",
        destination_abroad=bool(row.destination_abroad),
        psb_approval=bool(row.psb_approval_ref),
        judicial_approval_county=bool(row.judicial_approval_ref),
        manager_consent=manager_consent,
    )


def _record_refusal(
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
        camera_ids=_cameras(conn, int(row.id)),
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
        refusals=tuple(refusals(_draft(conn, row, manager_consent=True))) if pending else (),
    )
