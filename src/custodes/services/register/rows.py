"""A page of ledger entries made register rows: each entry joined with the request, grant,
export, staff, accounts and cameras it names (one query per table, never one per row), total
over whatever the details hold."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, or_, select

from custodes.adapters.db import schema
from custodes.adapters.db.limits import is_id
from custodes.clock import iso
from custodes.services import ledger
from custodes.services.register.filters import MANAGER_KINDS
from custodes.services.register.query import ACCOUNT_PREFIX

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
R = schema.access_requests
RC = schema.request_cameras
RS = schema.request_staff
G = schema.grants
A = schema.accounts
O = schema.organisations  # noqa: E741
D = schema.documents
CAM = schema.cameras
EX = schema.exports


@dataclass(frozen=True)
class Person:
    username: str
    name: str | None  # the account's display name
    work_id: str | None  # for retrieving staff: the work ID they signed with

    @property
    def label(self) -> str:
        return self.name or self.username


@dataclass(frozen=True)
class CameraRef:
    id: int
    name: str | None  # None: no such camera (any more)


@dataclass(frozen=True)
class DocumentRef:
    filename: str
    sha256: str


@dataclass(frozen=True)
class GrantRef:
    id: int
    action: str
    start_us: int
    end_us: int
    expires_us: int
    revoked_us: int | None


@dataclass(frozen=True)
class RegisterRow:
    seq: int  # the ledger entry
    time_us: int
    kind: str  # the ledger action (KINDS)
    actor: str  # the entry's actor as recorded
    acted_by: Person | None  # the account that did it (viewer, exporter, deciding manager …)
    # 录制人员 (Jilin Art. 21(3); Liaoning Art. 14(4)): the staff who recorded or copied the
    # footage — the exporter of a copy; nobody for a playback, a decision or a refusal
    recorded_by: Person | None
    approved_by: Person | None  # 审批人: the security manager who decided, or granted it
    retrieved_by: tuple[Person, ...]  # 调取人: the request's signed staff, with work IDs
    organisation_id: int | None  # the requesting organisation
    organisation: str | None
    organisation_kind: str | None
    cameras: tuple[CameraRef, ...]
    footage_start_us: int | None
    footage_end_us: int | None
    purpose: str | None  # 事由
    basis: str | None
    destination: str | None  # 去向
    destination_abroad: bool
    document: DocumentRef | None  # 审批文件
    psb_approval_ref: str | None
    judicial_approval_ref: str | None
    grant: GrantRef | None
    request_id: int | None
    export_id: str | None
    note: str | None  # the decision note, revocation or refusal reason
    hash: str  # the ledger entry's hash

    @property
    def time(self) -> str | None:
        return iso_or_none(self.time_us)


def iso_or_none(us: int | None) -> str | None:
    """ISO 8601 UTC, or None where the value is no time a calendar holds (a stored value of
    any size must not make a register fail: the _us field keeps the number)."""
    if us is None:
        return None
    try:  # clock.iso is total (it writes such a value as its number); here it is None
        _EPOCH + timedelta(microseconds=us)
    except (OverflowError, ValueError, TypeError):
        return None
    return iso(us)


def _details(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    """A time from details: ints only (bools and text are no times), of any size."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _id(value: Any) -> int | None:
    """An id from details: an int a row's id can be (the databases refuse to bind others)."""
    got = _int(value)
    return got if got is not None and is_id(got) else None


def _text(value: Any) -> str | None:
    """A text from details: strings and numbers as text, anything else (lists, objects) none."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int | float):
        return str(value) or None
    return None


def _username(actor: str) -> str | None:
    return actor[len(ACCOUNT_PREFIX) :] if actor.startswith(ACCOUNT_PREFIX) else None


def _object_camera(obj: str) -> int | None:
    if obj.startswith("camera:"):
        try:
            return _id(int(obj[len("camera:") :]))
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class _Account:
    id: int
    username: str
    name: str | None
    work_id: str | None
    organisation_id: int
    organisation: str | None
    organisation_kind: str | None

    def person(self) -> Person:
        return Person(self.username, self.name, self.work_id)


@dataclass
class _Lookups:
    """What a page of entries refers to, fetched in one query per table."""

    requests: dict[int, Any] = field(default_factory=dict)
    staff: dict[int, list[Person]] = field(default_factory=dict)
    request_cameras: dict[int, list[int]] = field(default_factory=dict)
    grants: dict[int, Any] = field(default_factory=dict)
    grant_of_request: dict[int, int] = field(default_factory=dict)
    export_creators: dict[str, int] = field(default_factory=dict)  # export id → account id
    by_username: dict[str, _Account] = field(default_factory=dict)
    by_id: dict[int, _Account] = field(default_factory=dict)
    camera_names: dict[int, str] = field(default_factory=dict)


def build(conn: Connection, entries: Sequence[Any]) -> list[RegisterRow]:
    parsed = [(e, _details(e.details)) for e in entries]
    request_ids = {i for _, d in parsed if (i := _id(d.get("request"))) is not None}
    grant_ids = {i for _, d in parsed if (i := _id(d.get("grant"))) is not None}
    export_ids = {
        x
        for e, d in parsed
        if e.action == ledger.EXPORT_DOWNLOADED and (x := _text(d.get("export"))) is not None
    }
    usernames = {n for e, _ in parsed if (n := _username(e.actor)) is not None}
    found = _Lookups()
    if request_ids:
        _fetch_requests(conn, request_ids, found)
    if request_ids or grant_ids:
        for grant_row in conn.execute(
            select(G).where(or_(G.c.request_id.in_(request_ids), G.c.id.in_(grant_ids)))
        ):
            found.grants[int(grant_row.id)] = grant_row
            found.grant_of_request[int(grant_row.request_id)] = int(grant_row.id)
    if export_ids:  # who made the copy a download took away (its 录制人)
        found.export_creators = {
            str(x.id): int(x.created_by)
            for x in conn.execute(select(EX.c.id, EX.c.created_by).where(EX.c.id.in_(export_ids)))
        }
    account_ids = {int(g.granted_by) for g in found.grants.values()}
    account_ids |= set(found.export_creators.values())
    account_ids |= {int(r.decided_by) for r in found.requests.values() if r.decided_by is not None}
    if usernames or account_ids:
        _fetch_accounts(conn, usernames, account_ids, found)
    cameras = [_entry_cameras(e, d, found.request_cameras) for e, d in parsed]
    all_cameras = {c for cams in cameras for c in cams}
    if all_cameras:
        found.camera_names = {
            int(c.id): str(c.name)
            for c in conn.execute(select(CAM.c.id, CAM.c.name).where(CAM.c.id.in_(all_cameras)))
        }
    return [_row(e, d, cams, found) for (e, d), cams in zip(parsed, cameras, strict=True)]


def _fetch_requests(conn: Connection, ids: set[int], found: _Lookups) -> None:
    for r in conn.execute(
        select(
            R.c.id,
            R.c.organisation_id,
            R.c.basis,
            R.c.purpose,
            R.c.destination,
            R.c.destination_abroad,
            R.c.start_us,
            R.c.end_us,
            R.c.psb_approval_ref,
            R.c.judicial_approval_ref,
            R.c.decided_by,
            R.c.decision_note,
            O.c.name.label("organisation"),
            O.c.kind.label("organisation_kind"),
            D.c.filename,
            D.c.sha256,
        )
        .join(O, O.c.id == R.c.organisation_id)
        .outerjoin(D, D.c.id == R.c.document_id)
        .where(R.c.id.in_(ids))
    ):
        found.requests[int(r.id)] = r
    for s in conn.execute(
        select(RS.c.request_id, RS.c.work_id, A.c.username, A.c.display_name)
        .join(A, A.c.id == RS.c.account_id)
        .where(RS.c.request_id.in_(ids))
        .order_by(RS.c.request_id, RS.c.signed_us, A.c.username)
    ):
        found.staff.setdefault(int(s.request_id), []).append(
            Person(s.username, s.display_name, s.work_id)
        )
    for c in conn.execute(
        select(RC.c.request_id, RC.c.camera_id)
        .where(RC.c.request_id.in_(ids))
        .order_by(RC.c.request_id, RC.c.camera_id)
    ):
        found.request_cameras.setdefault(int(c.request_id), []).append(int(c.camera_id))


def _fetch_accounts(conn: Connection, usernames: set[str], ids: set[int], found: _Lookups) -> None:
    for a in conn.execute(
        select(
            A.c.id,
            A.c.username,
            A.c.display_name,
            A.c.work_id,
            A.c.organisation_id,
            O.c.name.label("organisation"),
            O.c.kind.label("organisation_kind"),
        )
        .outerjoin(O, O.c.id == A.c.organisation_id)
        .where(or_(A.c.username.in_(usernames), A.c.id.in_(ids)))
    ):
        acc = _Account(
            int(a.id),
            a.username,
            a.display_name,
            a.work_id,
            int(a.organisation_id),
            a.organisation,
            a.organisation_kind,
        )
        found.by_username[acc.username] = acc
        found.by_id[acc.id] = acc


def _row(e: Any, d: Mapping[str, Any], cams: list[int], found: _Lookups) -> RegisterRow:
    request_id = _id(d.get("request"))
    req = found.requests.get(request_id) if request_id is not None else None
    grant_id = _id(d.get("grant"))
    if grant_id is None and request_id is not None:
        grant_id = found.grant_of_request.get(request_id)
    g = found.grants.get(grant_id) if grant_id is not None else None
    username = _username(e.actor)
    actor_acc = found.by_username.get(username) if username is not None else None
    acted_by = actor_acc.person() if actor_acc else None
    if acted_by is None and username is not None:
        acted_by = Person(username, None, None)  # an account since removed or renamed
    manager_act = e.action in MANAGER_KINDS

    # 审批人: the manager deciding (approve, reject, revoke); for a use of a grant, the manager
    # who granted it; none for what the system refused on its own
    approved_by: Person | None = None
    if manager_act:
        approved_by = acted_by
    elif g is not None and int(g.granted_by) in found.by_id:
        approved_by = found.by_id[int(g.granted_by)].person()
    elif req is not None and req.decided_by is not None and int(req.decided_by) in found.by_id:
        approved_by = found.by_id[int(req.decided_by)].person()

    # 录制人员 (Jilin Art. 21(3)): who recorded or copied the footage — the exporter of a copy,
    # and for its download the one who made that copy; a playback copies nothing
    export = _text(d.get("export"))
    recorded_by: Person | None = None
    if e.action == ledger.EXPORT_CREATED:
        recorded_by = acted_by
    elif e.action == ledger.EXPORT_DOWNLOADED and export is not None:
        maker = found.export_creators.get(export)
        recorded_by = found.by_id[maker].person() if maker in found.by_id else None

    # 调取人: the request's signed staff; without a request, whoever asked
    retrieved: tuple[Person, ...] = ()
    if req is not None:
        retrieved = tuple(found.staff.get(int(req.id), ()))
    elif not manager_act and acted_by is not None:
        retrieved = (acted_by,)

    start, end = _int(d.get("start_us")), _int(d.get("end_us"))
    if start is None or end is None:
        source = g if g is not None else req
        start, end = (None, None) if source is None else (int(source.start_us), int(source.end_us))

    org_id: int | None = None
    org: str | None = None
    org_kind: str | None = None
    if req is not None:
        org_id, org, org_kind = int(req.organisation_id), req.organisation, req.organisation_kind
    elif actor_acc is not None and not manager_act:
        org_id, org, org_kind = (
            actor_acc.organisation_id,
            actor_acc.organisation,
            actor_acc.organisation_kind,
        )

    note = _text(d.get("note")) or _text(d.get("reason"))
    if not note and e.action == ledger.REQUEST_REJECTED and req is not None:
        note = req.decision_note
    return RegisterRow(
        seq=int(e.seq),
        time_us=int(e.time_us),
        kind=e.action,
        actor=e.actor,
        acted_by=acted_by,
        recorded_by=recorded_by,
        approved_by=approved_by,
        retrieved_by=retrieved,
        organisation_id=org_id,
        organisation=org,
        organisation_kind=org_kind,
        cameras=tuple(CameraRef(c, found.camera_names.get(c)) for c in cams),
        footage_start_us=start,
        footage_end_us=end,
        purpose=req.purpose if req is not None else None,
        basis=req.basis if req is not None else None,
        destination=(req.destination or None) if req is not None else None,
        destination_abroad=bool(req.destination_abroad) if req is not None else False,
        document=(
            DocumentRef(req.filename, req.sha256)
            if req is not None and req.sha256 is not None
            else None
        ),
        psb_approval_ref=req.psb_approval_ref if req is not None else None,
        judicial_approval_ref=req.judicial_approval_ref if req is not None else None,
        grant=None
        if g is None
        else GrantRef(
            int(g.id),
            g.action,
            int(g.start_us),
            int(g.end_us),
            int(g.expires_us),
            None if g.revoked_us is None else int(g.revoked_us),
        ),
        request_id=request_id,
        export_id=export,
        note=note or None,
        hash=str(e.hash),
    )


def _entry_cameras(
    e: Any, d: Mapping[str, Any], request_cams: Mapping[int, list[int]]
) -> list[int]:
    """The camera the entry names (details or object), else its own list, else the request's."""
    own = _id(d.get("camera"))
    if own is None:
        own = _object_camera(e.object)
    if own is not None:
        return [own]
    listed = d.get("cameras")
    if isinstance(listed, list):
        cams = [c for c in (_id(x) for x in listed) if c is not None]
        if cams:
            return sorted(set(cams))
    request_id = _id(d.get("request"))
    if request_id is not None:
        return list(request_cams.get(request_id, ()))
    return []
