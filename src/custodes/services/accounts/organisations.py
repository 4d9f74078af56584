"""Organisations: the operating unit (organisation 1, the only one of its kind) and those that
may ask for footage (public security organs, judicial organs, others)."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from custodes.adapters.db.engine import write_first
from custodes.domain.access_rules import OrgKind
from custodes.services import ledger
from custodes.services.accounts.base import (
    ORG,
    ORG_NAME_MAX,
    Actor,
    Conflict,
    Invalid,
    NotFound,
    Organisation,
    _org,
    org_row,
)
from custodes.services.context import Context


def add_organisation(ctx: Context, name: str, kind: str, *, actor: Actor) -> Organisation:
    name = name.strip()
    if not 1 <= len(name) <= ORG_NAME_MAX:
        raise Invalid("name", f"1 to {ORG_NAME_MAX} characters")
    try:
        org_kind = OrgKind(kind)
    except ValueError:
        raise Invalid("kind", f"one of {', '.join(k.value for k in OrgKind)}") from None
    if org_kind is OrgKind.OPERATING_UNIT:
        raise Invalid("kind", "there is one operating unit, organisation 1")
    now = ctx.clock()
    try:
        with ctx.engine.begin() as conn:
            write_first(conn)
            if conn.execute(select(ORG.c.id).where(ORG.c.name == name)).first() is not None:
                raise Conflict(f"an organisation named {name!r} exists", "name")
            new = conn.execute(
                insert(ORG).values(name=name, kind=org_kind.value, created_us=now)
            ).inserted_primary_key
            assert new is not None
            org_id = int(new[0])
            ledger.record(
                conn,
                actor=actor.name,
                action=ledger.ORGANISATION_ADDED,
                object=f"organisation:{org_id}",
                details={"name": name, "kind": org_kind.value},
                time_us=now,
            )
    except IntegrityError:  # a concurrent insert of the same name
        raise Conflict(f"an organisation named {name!r} exists", "name") from None
    return Organisation(org_id, name, org_kind.value, now)


def list_organisations(ctx: Context) -> list[Organisation]:
    with ctx.engine.connect() as conn:
        return [_org(r) for r in conn.execute(select(ORG).order_by(ORG.c.id))]


def get_organisation(ctx: Context, org_id: int) -> Organisation:
    with ctx.engine.connect() as conn:
        return org_row(conn, org_id)


def find_organisation(ctx: Context, ref: str) -> Organisation:
    """By id (digits) or by exact name."""
    with ctx.engine.connect() as conn:
        if ref.isdigit():
            return org_row(conn, int(ref))
        row = conn.execute(select(ORG).where(ORG.c.name == ref)).first()
    if row is None:
        raise NotFound(f"no organisation {ref!r}", "organisation")
    return _org(row)
