"""The register's one query over the ledger: the entries of its kinds on the (action, time_us)
index, with cameras, organisations and accounts matched through the request ids the entries'
details name — on SQLite and PostgreSQL, whatever those details hold."""

from __future__ import annotations

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
from custodes.services import ledger
from custodes.services.register.filters import Filters

L = schema.ledger
R = schema.access_requests
RC = schema.request_cameras
RS = schema.request_staff
A = schema.accounts
ACTION_TIME_INDEX = "ix_ledger_action_time"
ACCOUNT_PREFIX = ledger.account_actor("")


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


def entries_query(conn: Connection, f: Filters) -> Any:
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
