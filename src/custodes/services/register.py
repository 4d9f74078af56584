"""The access register (调取登记): every view, copy and retrieval of recorded footage, with who
recorded or copied it (录制人员), who retrieved it (with work IDs), when, why, where it went,
who approved it, on what approval and under which grant — Jilin Art. 21(3), 28(4); Liaoning
Art. 14(4); Chongqing Art. 11(1); Shenzhen Art. 24(3), 34(3), 35 (docs/REGISTER.md maps each
column to its article).

The register is not a table of its own: it is a view of the ledger (services/ledger.py), whose
entries are append-only, hash-chained and signed, joined with the access tables for the names,
work IDs, purposes and documents those entries refer to by id. So the register cannot say
anything the ledger does not, and every row carries its ledger seq and entry hash.

Reading is two steps: one query over the ledger, filtered on its (action, time_us) index and,
for cameras, organisations and accounts, on the request ids in the entries' details; then a
fixed handful of queries for the page's requests, grants, exports, staff, accounts and cameras
(never one per row). An export is pinned to the ledger head when it begins (`extent`) and
recorded in the ledger before it is written (`record_export`), so its entry says exactly what
it holds.

Total over what is stored: an entry's details are whatever was recorded. A value of the wrong
type or an id no row can have leaves its cell empty; a time is kept as the number it is, of
any size, and the renderers print one no calendar holds as that number. Never a failed page.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB

from custodes.adapters.db import schema
from custodes.clock import iso
from custodes.domain.access_rules import REGISTER_ARTICLE
from custodes.services import ledger
from custodes.services.access import OPERATING_UNIT_ID, is_id
from custodes.services.context import Context
from custodes.services.retention import jurisdiction_id

L = schema.ledger
LC = schema.ledger_checkpoints
R = schema.access_requests
RC = schema.request_cameras
RS = schema.request_staff
G = schema.grants
A = schema.accounts
O = schema.organisations  # noqa: E741
D = schema.documents
CAM = schema.cameras
EX = schema.exports

# Event kinds are the ledger actions themselves; two names stand for groups of them.
ACCESS_KINDS = (
    ledger.REQUEST_APPROVED,  # the registration of an approved access (and its grant)
    ledger.MEDIA_VIEWED,  # playback
    ledger.EXPORT_CREATED,  # a copy made
    ledger.EXPORT_DOWNLOADED,  # a copy taken away
)
REFUSAL_KINDS = (
    ledger.REQUEST_REJECTED,
    ledger.GRANT_REVOKED,
    ledger.ACCESS_DENIED,
)
KINDS = ACCESS_KINDS + REFUSAL_KINDS
GROUPS: dict[str, tuple[str, ...]] = {"access": ACCESS_KINDS, "refusals": REFUSAL_KINDS}
# Kinds whose entry is the act of a security manager (the approver, 审批人).
MANAGER_KINDS = frozenset({ledger.REQUEST_APPROVED, ledger.REQUEST_REJECTED, ledger.GRANT_REVOKED})
MAX_LIMIT = 1000
ACTION_TIME_INDEX = "ix_ledger_action_time"
ACCOUNT_PREFIX = ledger.account_actor("")


class BadFilter(ValueError):
    """A filter that names no kind, or is out of range; names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class TooManyRows(ValueError):
    """More rows match than one printout holds."""


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
    try:
        return iso(us)
    except (OverflowError, ValueError, OSError):
        return None


@dataclass(frozen=True)
class Filters:
    """What a register read or printout is restricted to (times: ledger time, [start, end))."""

    start_us: int | None = None
    end_us: int | None = None
    camera_id: int | None = None
    organisation_id: int | None = None
    account: str | None = None  # a username: its own acts and the requests it is staff of
    kinds: tuple[str, ...] = field(default=KINDS)
    up_to_seq: int | None = None  # an export's rows: the ledger as it stood (seq <= this)

    def to_json(self) -> dict[str, Any]:
        return {
            "start_us": self.start_us,
            "end_us": self.end_us,
            "camera_id": self.camera_id,
            "organisation_id": self.organisation_id,
            "account": self.account,
            "kinds": list(self.kinds),
        }


def kinds_from(names: Iterable[str] | None) -> tuple[str, ...]:
    """Kinds and group names ("access", "refusals") to ledger actions, in KINDS order."""
    if names is None:
        return KINDS
    wanted: set[str] = set()
    for name in names:
        if name in GROUPS:
            wanted.update(GROUPS[name])
        elif name in KINDS:
            wanted.add(name)
        else:
            choices = ", ".join((*GROUPS, *KINDS))
            raise BadFilter("kind", f"{name!r} is not one of {choices}")
    if not wanted:
        raise BadFilter("kind", "name at least one kind")
    return tuple(k for k in KINDS if k in wanted)


def make_filters(
    *,
    start_us: int | None = None,
    end_us: int | None = None,
    camera_id: int | None = None,
    organisation_id: int | None = None,
    account: str | None = None,
    kinds: Iterable[str] | None = None,
) -> Filters:
    if start_us is not None and end_us is not None and end_us <= start_us:
        raise BadFilter("to", "must be after from")
    return Filters(start_us, end_us, camera_id, organisation_id, account, kinds_from(kinds))


def rows(
    ctx: Context,
    *,
    start_us: int | None = None,
    end_us: int | None = None,
    camera_id: int | None = None,
    organisation_id: int | None = None,
    account: str | None = None,
    kinds: Iterable[str] | None = None,
    limit: int,
    offset: int = 0,
    newest_first: bool = False,
) -> list[RegisterRow]:
    """One page of the register, in ledger order (oldest first unless newest_first)."""
    filters = make_filters(
        start_us=start_us,
        end_us=end_us,
        camera_id=camera_id,
        organisation_id=organisation_id,
        account=account,
        kinds=kinds,
    )
    with ctx.engine.connect() as conn:
        return page(conn, filters, limit=limit, offset=offset, newest_first=newest_first)


def page(
    conn: Connection,
    filters: Filters,
    *,
    limit: int,
    offset: int = 0,
    after_seq: int | None = None,
    newest_first: bool = False,
) -> list[RegisterRow]:
    if not 1 <= limit <= MAX_LIMIT:
        raise BadFilter("limit", f"1 to {MAX_LIMIT}")
    if offset < 0:
        raise BadFilter("offset", "0 or more")
    query = _entries_query(conn, filters)
    if after_seq is not None:
        query = query.where(L.c.seq > after_seq)
    order = L.c.seq.desc() if newest_first else L.c.seq
    entries = conn.execute(query.order_by(order).limit(limit).offset(offset)).all()
    return _build(conn, entries)


def iterate(conn: Connection, filters: Filters, *, batch: int = 500) -> Iterator[RegisterRow]:
    """Every matching row, oldest first, a batch at a time (keyset on seq, no offsets)."""
    after: int | None = None
    while True:
        got = page(conn, filters, limit=batch, after_seq=after)
        yield from got
        if len(got) < batch:
            return
        after = got[-1].seq


def stream(ctx: Context, filters: Filters) -> Iterator[RegisterRow]:
    """`iterate` on a connection of its own, held while the caller reads (an export)."""
    with ctx.engine.connect() as conn:
        yield from iterate(conn, filters)


@dataclass(frozen=True)
class Extent:
    """What an export holds: the rows matching its filters among the entries up to the head."""

    filters: Filters  # with up_to_seq set
    rows: int
    first_seq: int | None
    last_seq: int | None


def extent(ctx: Context, filters: Filters, *, max_rows: int) -> Extent:
    """Pin an export to the ledger as it stands: the head now, and how many rows match up to it
    (the ledger only grows, so the same filters up to the same seq give the same rows, however
    long the export takes to write). TooManyRows past max_rows."""
    head, _ = ledger.current_head(ctx)  # the head commits with its entry: all up to it exist
    pinned = replace(filters, up_to_seq=head)
    with ctx.engine.connect() as conn:
        matching = _entries_query(conn, pinned).subquery()
        count, first, last = conn.execute(
            select(func.count(), func.min(matching.c.seq), func.max(matching.c.seq))
        ).one()
    if count > max_rows:
        raise TooManyRows(
            f"{count:,} rows match, more than {max_rows:,} in one export: narrow the filters"
        )
    return Extent(
        pinned,
        int(count),
        None if first is None else int(first),
        None if last is None else int(last),
    )


@dataclass(frozen=True)
class ExportRecord:
    """The ledger entry that records a register export: printed on the copy, so the paper can
    be tied to the signed ledger (its hash covers every entry before it, the rows included)."""

    seq: int
    hash: str
    time_us: int


def record_export(ctx: Context, *, actor: str, fmt: str, extent: Extent) -> ExportRecord:
    """Record the export (before its file is written): who, which format, which filters, and
    the rows it holds (count, seq range, up to which ledger seq)."""
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        seq = ledger.record(
            conn,
            actor=actor,
            action=ledger.LEDGER_EXPORTED,
            object="register",
            details={
                "register": True,
                "format": fmt,
                "filters": extent.filters.to_json(),
                "up_to_seq": extent.filters.up_to_seq,
                "rows": extent.rows,
                "first_seq": extent.first_seq,
                "last_seq": extent.last_seq,
            },
            time_us=now,
        )
        digest = conn.execute(select(L.c.hash).where(L.c.seq == seq)).scalar_one()
    return ExportRecord(seq, str(digest), now)


def latest_checkpoint(ctx: Context) -> tuple[int, int, str] | None:
    """The newest signed ledger checkpoint: (seq, time_us, key id)."""
    with ctx.engine.connect() as conn:
        row = conn.execute(
            select(LC.c.seq, LC.c.time_us, LC.c.key_id).order_by(LC.c.seq.desc()).limit(1)
        ).first()
    return None if row is None else (int(row.seq), int(row.time_us), str(row.key_id))


def organisation_name(ctx: Context, organisation_id: int) -> str | None:
    with ctx.engine.connect() as conn:
        name = conn.execute(select(O.c.name).where(O.c.id == organisation_id)).scalar_one_or_none()
    return None if name is None else str(name)


def camera_name(ctx: Context, camera_id: int) -> str | None:
    with ctx.engine.connect() as conn:
        name = conn.execute(select(CAM.c.name).where(CAM.c.id == camera_id)).scalar_one_or_none()
    return None if name is None else str(name)


def unit_heading(ctx: Context) -> tuple[str, str | None]:
    """The operating unit's name and the register article of the installation's jurisdiction."""
    with ctx.engine.connect() as conn:
        unit = conn.execute(select(O.c.name).where(O.c.id == OPERATING_UNIT_ID)).scalar_one()
        where = jurisdiction_id(conn)  # never fails: a register must print without it
    return str(unit), REGISTER_ARTICLE.get(where or "")


# --- the ledger query ------------------------------------------------------------------------


def _json_key(conn: Connection, key: str) -> ColumnElement[Any]:
    """details[key]: an integer on SQLite (json_extract), text on PostgreSQL (->>), so that a
    malformed value never makes the query fail (text is compared, never cast).

    PostgreSQL's JSON types refuse the escape \\u0000 anywhere in a document, and one such
    entry would fail every filtered read for good: it is read as \\u0020 (the replacement
    keeps any escaping backslash before it, so the text stays valid JSON; ids are numbers and
    never contain it). SQLite reads details that are no JSON at all as having no key."""
    if conn.dialect.name == "postgresql":
        safe = func.replace(L.c.details, "\\u0000", "\\u0020")
        value: ColumnElement[Any] = cast(safe, JSONB)[key].astext
        return value
    return case(
        (func.json_valid(L.c.details) == 1, func.json_extract(L.c.details, f"$.{key}")),
        else_=None,
    )


def _id_value(conn: Connection, column: Any) -> Any:
    """An id column in the type `_json_key` yields on this database."""
    return cast(column, Text) if conn.dialect.name == "postgresql" else column


def _entries_query(conn: Connection, f: Filters) -> Any:
    """The ledger entries of the register: action IN kinds and the time range on the
    (action, time_us) index; cameras, organisations and accounts through the request ids."""
    query = select(L.c.seq, L.c.time_us, L.c.actor, L.c.action, L.c.object, L.c.details, L.c.hash)
    query = query.where(L.c.action.in_(f.kinds))
    # SQLite would walk the whole ledger in seq order for ORDER BY seq LIMIT and test each
    # entry's action; through the index the cost is the register's rows, not the ledger's
    # (PostgreSQL's planner weighs both on its own)
    query = query.with_hint(L, f"INDEXED BY {ACTION_TIME_INDEX}", "sqlite")
    if f.start_us is not None:
        query = query.where(L.c.time_us >= f.start_us)
    if f.end_us is not None:
        query = query.where(L.c.time_us < f.end_us)
    if f.up_to_seq is not None:
        query = query.where(L.c.seq <= f.up_to_seq)
    request = _json_key(conn, "request")
    if f.camera_id is not None:
        camera = _json_key(conn, "camera")
        query = query.where(
            or_(
                L.c.object == f"camera:{f.camera_id}",
                camera == _id_literal(conn, f.camera_id),
                # an entry naming no camera of its own: the request's cameras
                and_(
                    camera.is_(None),
                    ~L.c.object.startswith("camera:"),
                    request.in_(
                        select(_id_value(conn, RC.c.request_id)).where(
                            RC.c.camera_id == f.camera_id
                        )
                    ),
                ),
            )
        )
    if f.organisation_id is not None:
        query = query.where(
            or_(
                request.in_(
                    select(_id_value(conn, R.c.id)).where(R.c.organisation_id == f.organisation_id)
                ),
                # no request (a refused access, a view from before grants): the actor's own
                and_(
                    request.is_(None),
                    L.c.actor.in_(
                        select(literal(ACCOUNT_PREFIX) + A.c.username).where(
                            A.c.organisation_id == f.organisation_id
                        )
                    ),
                ),
            )
        )
    if f.account is not None:
        query = query.where(
            or_(
                L.c.actor == ledger.account_actor(f.account),
                request.in_(
                    select(_id_value(conn, RS.c.request_id))
                    .join(A, A.c.id == RS.c.account_id)
                    .where(A.c.username == f.account)
                ),
            )
        )
    return query


def _id_literal(conn: Connection, value: int) -> Any:
    return str(value) if conn.dialect.name == "postgresql" else value


# --- building rows ---------------------------------------------------------------------------


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


def _build(conn: Connection, entries: Sequence[Any]) -> list[RegisterRow]:
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
