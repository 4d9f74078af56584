"""Account changes that wait for a second person (issue 11, docs/DUTIES.md).

A change by a logged-in account that creates or empowers an account whose credentials lead
towards footage (domain/roles.py `empowers`, `powers`) is not made: it is proposed, and
takes effect only when another person of a confirming role confirms it (domain/duties.py
`confirm_refusal`: not the proposer, not the account changed, not someone whose own account
the proposer made or reset, nor someone who made or reset the proposer's). Proposals lapse
after `PENDING_TTL_US`; the proposer or any confirming account may cancel one. At
confirmation everything is checked again (the account still in the state the proposal found
it, the name still free), in the confirmation's transaction. Proposal, confirmation and
cancellation are ledger entries; the change itself is recorded as it takes effect (actor:
the confirmer; "proposed_by" in its details).

A proposed password (creation, reset) is kept as its Argon2 hash only; the account gets it as
a one-time password (services/auth.py) and `credential_by` names the proposer, who chose or
saw it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from custodes.adapters.db.engine import write_first
from custodes.domain.duties import PENDING_TTL_US, ChangeKind, confirm_refusal
from custodes.domain.roles import CONFIRMING_ROLES, Role
from custodes.services import duties, ledger
from custodes.services.accounts import effects
from custodes.services.accounts.base import (
    AC,
    A,
    AccountView,
    Actor,
    Conflict,
    NotFound,
    Refused,
    fits,
    locked_row,
    not_last_admin,
    org_row,
    view,
)
from custodes.services.context import Context

PENDING, CONFIRMED, CANCELLED = "pending", "confirmed", "cancelled"
# What confirming and cancelling answer (msgids: English, `%(name)s` for a parameter; the web
# layer translates them, locale/*.po). domain/duties.py REASONS says who may not confirm.
NO_CHANGE = "no account change %(id)s"
ALREADY_CONFIRMED = "account change %(id)s is confirmed already"
ALREADY_CANCELLED = "account change %(id)s was turned down or withdrawn already"
ALREADY_DECIDED = "account change %(id)s is %(state)s already"  # a state stored by hand
LAPSED = "account change %(id)s has lapsed: propose it again"
BY_AN_ACCOUNT = "a change is confirmed by a second person logged in with their account"
BY_AN_ENABLED_ACCOUNT = "a change is confirmed by an enabled account"
ROLE_MOVED = "%(username)s is %(role_now)s now, not %(role_proposed)s as proposed: propose it again"
ENABLED_ALREADY = "%(username)s is enabled already"
NO_SECOND_FACTOR = "%(username)s has no second factor now"
WHO_CANCELS = "only the proposer or a confirming account cancels a proposal"
MESSAGES: tuple[str, ...] = (
    NO_CHANGE,
    ALREADY_CONFIRMED,
    ALREADY_CANCELLED,
    ALREADY_DECIDED,
    LAPSED,
    BY_AN_ACCOUNT,
    BY_AN_ENABLED_ACCOUNT,
    ROLE_MOVED,
    ENABLED_ALREADY,
    NO_SECOND_FACTOR,
    WHO_CANCELS,
)


@dataclass(frozen=True)
class PendingChange:
    id: int
    kind: str  # domain/duties.py ChangeKind
    account_id: int | None  # None: the account to create
    username: str
    details: dict[str, Any]
    proposed_by: str
    proposed_us: int
    expires_us: int
    state: str  # pending | confirmed | cancelled (a lapsed one stays pending, expired)
    decided_by: str | None
    decided_us: int | None


class AwaitingConfirmation(Exception):
    """The change was proposed, not made: it waits for a second person. `password` is the
    generated password to hand over (shown this once), None when the proposer gave one."""

    def __init__(self, change: PendingChange, password: str | None = None) -> None:
        super().__init__(f"change {change.id} ({change.kind} of {change.username}) proposed")
        self.change = change
        self.password = password


def _pending(row: Row[Any]) -> PendingChange:
    try:
        details = json.loads(row.details)
    except (ValueError, TypeError):  # a row written by hand: shown without its details
        details = {}
    return PendingChange(
        id=int(row.id),
        kind=row.kind,
        account_id=row.account_id,
        username=row.username,
        details=details if isinstance(details, dict) else {},
        proposed_by=row.proposed_by,
        proposed_us=int(row.proposed_us),
        expires_us=int(row.expires_us),
        state=row.state,
        decided_by=row.decided_by,
        decided_us=row.decided_us,
    )


def propose(
    conn: Connection,
    *,
    kind: ChangeKind,
    actor: Actor,
    username: str,
    account_id: int | None,
    details: dict[str, Any],
    now: int,
    password_hash: str | None = None,
) -> PendingChange:
    """Record a proposal inside the caller's transaction."""
    change_id = int(
        conn.execute(
            insert(AC)
            .values(
                kind=kind.value,
                account_id=account_id,
                username=username,
                details=json.dumps(details, ensure_ascii=False, sort_keys=True),
                password_hash=password_hash,
                proposed_by=actor.name,
                proposed_by_account=actor.account_id,
                proposed_us=now,
                expires_us=now + PENDING_TTL_US,
                state=PENDING,
            )
            .returning(AC.c.id)
        ).scalar_one()
    )
    ledger.record(
        conn,
        actor=actor.name,
        action=ledger.ACCOUNT_CHANGE_PROPOSED,
        object=f"account:{username}",
        details={"change_id": change_id, "kind": kind.value, **details},
        time_us=now,
    )
    row = conn.execute(select(AC).where(AC.c.id == change_id)).one()
    return _pending(row)


def list_changes(ctx: Context, *, state: str | None = PENDING) -> list[PendingChange]:
    query = select(AC).order_by(AC.c.id.desc()).limit(500)
    if state is not None:
        query = query.where(AC.c.state == state)
    with ctx.engine.connect() as conn:
        return [_pending(r) for r in conn.execute(query)]


def count_open(ctx: Context) -> int:
    """How many changes wait for a second person now (pending, not lapsed)."""
    now = ctx.clock()
    query = select(func.count()).select_from(AC).where(AC.c.state == PENDING, AC.c.expires_us > now)
    with ctx.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def open_changes(ctx: Context) -> list[PendingChange]:
    """The changes that wait for a second person now, oldest first: pending, not lapsed (a
    decided or lapsed one can be neither confirmed nor turned down)."""
    now = ctx.clock()
    query = (
        select(AC).where(AC.c.state == PENDING, AC.c.expires_us > now).order_by(AC.c.id).limit(500)
    )
    with ctx.engine.connect() as conn:
        return [_pending(r) for r in conn.execute(query)]


def get_change(ctx: Context, change_id: int) -> PendingChange:
    with ctx.engine.connect() as conn:
        return _pending(_change_row(conn, change_id))


def _change_row(conn: Connection, change_id: int) -> Row[Any]:
    row = (
        conn.execute(select(AC).where(AC.c.id == change_id)).first()
        if 1 <= change_id <= 2**31 - 1
        else None
    )
    if row is None:
        raise NotFound(NO_CHANGE, "change_id", params={"id": str(change_id)})
    return row


def _open(conn: Connection, change_id: int, now: int) -> Row[Any]:
    write_first(conn)
    row = (
        conn.execute(select(AC).where(AC.c.id == change_id).with_for_update()).first()
        if (1 <= change_id <= 2**31 - 1)
        else None
    )
    number = {"id": str(change_id)}
    if row is None:
        raise NotFound(NO_CHANGE, "change_id", params=number)
    if row.state != PENDING:
        decided = {CONFIRMED: ALREADY_CONFIRMED, CANCELLED: ALREADY_CANCELLED}
        raise Conflict(
            decided.get(row.state, ALREADY_DECIDED), params={**number, "state": str(row.state)}
        )
    if row.expires_us <= now:
        raise Conflict(LAPSED, params=number)
    return row


def _decided(conn: Connection, row: Row[Any], actor: Actor, decision: str, now: int) -> None:
    conn.execute(
        update(AC)
        .where(AC.c.id == row.id)
        .values(state=decision, decided_by=actor.name, decided_us=now)
    )
    ledger.record(
        conn,
        actor=actor.name,
        action=ledger.ACCOUNT_CHANGE_DECIDED,
        object=f"account:{row.username}",
        details={
            "change_id": int(row.id),
            "kind": row.kind,
            "decision": decision,
            "proposed_by": row.proposed_by,
        },
        time_us=now,
    )


def confirm(ctx: Context, change_id: int, *, actor: Actor) -> AccountView:
    """A second person confirms: the change takes effect now. Only a logged-in account of a
    confirming role, other than the proposer, the account changed, or anyone whose own
    account the proposer made or reset."""
    if actor.account_id is None:
        raise Refused(BY_AN_ACCOUNT)
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        row = _open(conn, change_id, now)
        me = conn.execute(select(A).where(A.c.id == actor.account_id)).first()
        if me is None or me.disabled_us is not None:
            raise Refused(BY_AN_ENABLED_ACCOUNT)
        target = ledger.account_actor(row.username) if row.kind != ChangeKind.CREATE.value else None
        people = [int(me.id)]
        if row.proposed_by_account is not None:
            people.append(int(row.proposed_by_account))
        known = duties.credentials(conn, people)
        why = confirm_refusal(
            proposer=row.proposed_by,
            confirmer=known[int(me.id)],
            confirmer_role=me.role,
            target=target,
            proposer_credential=(
                known.get(int(row.proposed_by_account))
                if row.proposed_by_account is not None
                else None
            ),
        )
        if why is not None:
            raise Refused(why.msgid, params=why.params)
        details = _pending(row).details
        extra = {"proposed_by": row.proposed_by, "change_id": int(row.id)}
        if row.kind == ChangeKind.CREATE.value:
            account_id = effects.insert_account(
                conn,
                username=row.username,
                role=Role(details["role"]),
                password_hash=row.password_hash,
                org=org_row(conn, int(details["organisation_id"])),
                display_name=details.get("display_name"),
                work_id=details.get("work_id"),
                one_time=True,
                credential_by=row.proposed_by,
                by=actor.name,
                now=now,
                extra=extra,
            )
        else:
            account_id = int(row.account_id)
            acc = locked_row(conn, account_id)
            _apply(conn, row, acc, details, actor, now, extra)
        _decided(conn, row, actor, CONFIRMED, now)
        return view(conn, account_id, now)


def _apply(
    conn: Connection,
    change: Row[Any],
    acc: Row[Any],
    details: dict[str, Any],
    actor: Actor,
    now: int,
    extra: dict[str, Any],
) -> None:
    kind = ChangeKind(change.kind)
    if kind is ChangeKind.ROLE:
        if acc.role != details.get("from"):
            raise Conflict(
                ROLE_MOVED,
                params={
                    "username": acc.username,
                    "role_now": str(acc.role),
                    "role_proposed": str(details.get("from")),
                },
            )
        role = Role(details["to"])
        fits(role, org_row(conn, acc.organisation_id))
        if acc.role == Role.SYSTEM_ADMIN:
            not_last_admin(conn, acc, "demoted")
        effects.apply_role(conn, acc, role, by=actor.name, now=now, extra=extra)
    elif kind is ChangeKind.PASSWORD_RESET:
        effects.apply_password(
            conn,
            acc,
            change.password_hash,
            one_time=True,
            credential_by=change.proposed_by,
            by=actor.name,
            now=now,
            extra=extra,
        )
    elif kind is ChangeKind.ENABLE:
        if acc.disabled_us is None:
            raise Conflict(ENABLED_ALREADY, params={"username": acc.username})
        effects.apply_enable(conn, acc, by=actor.name, now=now, extra=extra)
    else:
        if acc.totp_secret is None:
            raise Conflict(NO_SECOND_FACTOR, params={"username": acc.username})
        effects.apply_totp_removal(conn, acc, by=actor.name, now=now, extra=extra)


def cancel(ctx: Context, change_id: int, *, actor: Actor, role: str) -> PendingChange:
    """The proposer withdraws a proposal, or a confirming account turns it down."""
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        row = _open(conn, change_id, now)
        try:
            confirming = Role(role) in CONFIRMING_ROLES
        except ValueError:
            confirming = False
        if row.proposed_by != actor.name and not confirming:
            raise Refused(WHO_CANCELS)
        _decided(conn, row, actor, CANCELLED, now)
        return _pending(conn.execute(select(AC).where(AC.c.id == row.id)).one())
