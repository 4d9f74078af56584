"""The grant check on every path that yields recorded footage (playback, export, originals).

A grant belongs to an approved access request: it covers the request's cameras and time range,
allows its action (view < copy < retrieve-original), is held by the request's signed staff,
and ends at its expiry or revocation. `require` is the gate: it returns the grant or raises
`NoGrant`, and a refusal is itself a ledger entry (who asked for what, and why it was refused).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, bindparam, select

from custodes.adapters.db import schema
from custodes.clock import iso
from custodes.domain.access_rules import Action
from custodes.domain.roles import Permission, Role, allows
from custodes.services import ledger
from custodes.services.access import is_bigint, is_id
from custodes.services.context import Context

G = schema.grants
GS = schema.grant_scope
A = schema.accounts
# Roles that may hold a grant: those whose members sign requests as staff present.
HOLDER_ROLES = tuple(r.value for r in Role if allows(r.value, Permission.REQUEST_SIGN))

# Which grant actions satisfy a need: a copy grant may also be played back; a view grant never
# yields a file.
SATISFIES: dict[Action, tuple[str, ...]] = {
    Action.VIEW: (Action.VIEW, Action.COPY, Action.RETRIEVE_ORIGINAL),
    Action.COPY: (Action.COPY, Action.RETRIEVE_ORIGINAL),
    Action.RETRIEVE_ORIGINAL: (Action.RETRIEVE_ORIGINAL,),
}


@dataclass(frozen=True)
class Grant:
    id: int
    request_id: int
    action: Action
    start_us: int
    end_us: int
    expires_us: int


def _find_statement(need: Action) -> Select[Any]:
    return (
        select(G.c.id, G.c.request_id, G.c.action, G.c.start_us, G.c.end_us, G.c.expires_us)
        .select_from(GS.join(G, G.c.id == GS.c.grant_id).join(A, A.c.id == GS.c.account_id))
        .where(
            GS.c.account_id == bindparam("account"),
            # the holder must still be able to hold it: enabled, in a role that signs
            # requests (a signer made auditor or administrator since holds nothing)
            A.c.disabled_us.is_(None),
            A.c.role.in_(HOLDER_ROLES),
            GS.c.camera_id == bindparam("camera"),
            G.c.revoked_us.is_(None),
            G.c.expires_us > bindparam("now"),
            G.c.start_us <= bindparam("a"),
            G.c.end_us >= bindparam("b"),
            G.c.action.in_([str(a) for a in SATISFIES[need]]),
        )
        .order_by(G.c.expires_us.desc())
        .limit(1)
    )


# Built once: on the playback path, building the statement cost more than running it
# (bench/grant_check.py).
_FIND = {need: _find_statement(need) for need in Action}


class NoGrant(PermissionError):
    """No live grant of this account covers the camera, the range and the action."""


def find(
    conn: Connection,
    *,
    account_id: int,
    camera_id: int,
    start_us: int,
    end_us: int,
    need: Action,
    now_us: int,
) -> Grant | None:
    """The live grant (latest expiry first) that covers [start_us, end_us) for `need`."""
    if not (is_id(account_id, camera_id) and is_bigint(start_us, end_us, now_us)):
        return None  # no row holds such a number (and SQLite would not bind it)
    row = conn.execute(
        _FIND[need],
        {"account": account_id, "camera": camera_id, "a": start_us, "b": end_us, "now": now_us},
    ).first()
    if row is None:
        return None
    return Grant(
        int(row.id),
        int(row.request_id),
        Action(row.action),
        int(row.start_us),
        int(row.end_us),
        int(row.expires_us),
    )


def require(
    ctx: Context,
    *,
    account_id: int,
    username: str,
    camera_id: int,
    start_us: int,
    end_us: int,
    need: Action,
) -> Grant:
    """The grant that allows this access, or NoGrant (recorded in the ledger). A camera id or
    a time no database integer holds names no footage: NoGrant, and no ledger entry naming it
    (the register reads the cameras its entries name)."""
    if not (is_id(camera_id) and is_bigint(start_us, end_us)):
        raise NoGrant(f"no camera {camera_id} from {start_us} to {end_us}")
    now = ctx.clock()
    with ctx.engine.connect() as conn:
        grant = find(
            conn,
            account_id=account_id,
            camera_id=camera_id,
            start_us=start_us,
            end_us=end_us,
            need=need,
            now_us=now,
        )
    if grant is not None:
        return grant
    reason = (
        f"no live grant of yours allows {need.value} of camera {camera_id} "
        f"from {iso(start_us)} to {iso(end_us)}: file an access request"
    )
    ledger.record_now(
        ctx,
        actor=ledger.account_actor(username),
        action=ledger.ACCESS_DENIED,
        object=f"camera:{camera_id}",
        details={"need": need.value, "start_us": start_us, "end_us": end_us, "reason": reason},
        time_us=now,
    )
    raise NoGrant(reason)
