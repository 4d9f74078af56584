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
from custodes.adapters.db.limits import is_bigint, is_id
from custodes.clock import iso
from custodes.domain.access_rules import Action
from custodes.domain.roles import Permission, Role, allows
from custodes.services import ledger
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


def _find_statement(need: Action, *, named: bool) -> Select[Any]:
    query = (
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
    return query.where(G.c.id == bindparam("grant")) if named else query


# Built once: on the playback path, building the statement cost more than running it
# (bench/grant_check.py). Keyed by (need, whether one grant is named).
_FIND = {
    (need, named): _find_statement(need, named=named) for need in Action for named in (False, True)
}
# How a refusal names what was asked for.
_NEED_WORDS = {
    Action.VIEW: "playback",
    Action.COPY: "a copy",
    Action.RETRIEVE_ORIGINAL: "the originals",
}


class NoGrant(PermissionError):
    """No live grant of this account covers the camera, the range and the action. Its text is
    the ledger's English reason; `msgid` and `params` (need, camera, start_us, end_us, and
    grant, other) let the web say it in the user's language and the site's time zone."""

    def __init__(self, reason: str, msgid: str = "", params: dict[str, str] | None = None):
        super().__init__(reason)
        self.msgid = msgid
        self.params = params or {}


# msgids (entrypoints/web/locale/*.po)
NO_GRANT = (
    "no live grant of yours allows %(need)s of camera %(camera)s from %(start)s to %(end)s: "
    "file an access request"
)
NOT_COVERED = "grant %(grant)s does not cover %(start)s to %(end)s"
NOT_A_COPY = "grant %(grant)s allows %(need)s, not a copy"
OTHER_GRANT = (
    "grant %(grant)s does not allow you %(need)s of camera %(camera)s from %(start)s to "
    "%(end)s (grant %(other)s does)"
)


def find(
    conn: Connection,
    *,
    account_id: int,
    camera_id: int,
    start_us: int,
    end_us: int,
    need: Action,
    now_us: int,
    grant_id: int | None = None,
) -> Grant | None:
    """The live grant (latest expiry first) that covers [start_us, end_us) for `need`; with
    `grant_id`, that grant or None."""
    if not (is_id(account_id, camera_id) and is_bigint(start_us, end_us, now_us)):
        return None  # no row holds such a number (and SQLite would not bind it)
    if grant_id is not None and not is_id(grant_id):
        return None
    values: dict[str, int | None] = {"account": account_id, "camera": camera_id}
    values |= {"a": start_us, "b": end_us}
    values |= {"now": now_us, "grant": grant_id}
    row = conn.execute(_FIND[need, grant_id is not None], values).first()
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
    grant_id: int | None = None,
) -> Grant:
    """The grant that allows this access (with `grant_id`: that grant), or NoGrant (recorded in
    the ledger). A camera id or a time no database integer holds names no footage: NoGrant,
    and no ledger entry naming it (the register reads the cameras its entries name)."""
    if not (is_id(camera_id) and is_bigint(start_us, end_us)):
        raise NoGrant(
            f"no camera {camera_id} from {start_us} to {end_us}",
            "no camera %(n)s",
            {"n": str(camera_id)},
        )
    now = ctx.clock()
    with ctx.engine.connect() as conn:

        def lookup(named: int | None) -> Grant | None:
            return find(
                conn,
                account_id=account_id,
                camera_id=camera_id,
                start_us=start_us,
                end_us=end_us,
                need=need,
                now_us=now,
                grant_id=named,
            )

        grant = lookup(grant_id)
        other = lookup(None) if grant is None and grant_id is not None else None
    if grant is not None:
        return grant
    shown = {"need": need.value, "camera": str(camera_id), "start_us": str(start_us)}
    shown["end_us"] = str(end_us)
    if other is None:
        msgid = NO_GRANT
    else:
        msgid = OTHER_GRANT
        shown |= {"grant": str(grant_id), "other": str(other.id)}
    # the ledger's reason in English, its times in UTC; the web words it (NoGrant)
    reason = msgid % {
        **shown,
        "need": need.value if other is None else _NEED_WORDS[need],
        "start": iso(start_us),
        "end": iso(end_us),
    }
    details: dict[str, Any] = {"need": need.value, "start_us": start_us, "end_us": end_us}
    if grant_id is not None:
        details["grant"] = grant_id
    ledger.record_now(
        ctx,
        actor=ledger.account_actor(username),
        action=ledger.ACCESS_DENIED,
        object=f"camera:{camera_id}",
        details={**details, "reason": reason},
        time_us=now,
    )
    raise NoGrant(reason, msgid, shown)
