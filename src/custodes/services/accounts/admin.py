"""Creating and changing accounts (an administrator, or the host's command line).

Rules (each refusal a typed exception in base.py, with the field at fault where there is one):
- the operating unit is organisation 1 (made by the migration) and the only one of its kind;
  its staff hold unit roles, never the external officer role, and an account of any other
  organisation holds only that role (domain/roles.py `role_fits_organisation`);
- the last enabled system administrator can be neither disabled nor demoted, and nobody
  changes their own role, disables themselves or resets their own password (a stolen
  session must not be able to lock the owner out: one's own password is changed with the
  old one, own.py);
- passwords: at least `PASSWORD_MIN` characters, and not containing the user name;
- one person is never enough (docs/DUTIES.md): when a logged-in account creates or empowers
  an account whose credentials lead towards footage — a new account of such a role, a role
  that gains such a permission, a password reset, enabling or removing the second factor of
  such an account — the change is proposed, not made (`AwaitingConfirmation`), and waits for
  a second person (pending.py). Changes that take power away (disabling, a lesser role),
  names, work IDs, and changes of accounts that lead nowhere (auditors) are made at once.
- the host's command line (an `Actor` without an account) makes its changes at once: whoever
  holds the data directory holds the database and the keys, and nothing in this process can
  stand between them and the data (docs/DUTIES.md says what that means);
- a password someone else set is one-time (services/auth.py), and the account remembers who
  set it (`credential_by`, for the approval rule of services/duties.py).

Every change is a ledger entry written in the same transaction as the change, its actor the
acting account ("account:<name>") or the command-line user ("cli:<name>"). ACCOUNT_CHANGED
entries carry "change": fields | disabled | enabled | password-reset | password-changed |
totp-removed. Passwords and TOTP secrets never reach the ledger.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from custodes.adapters.db.engine import write_first
from custodes.domain.duties import ChangeKind
from custodes.domain.roles import Role, empowers, powers
from custodes.services import auth, throttle
from custodes.services.accounts import effects
from custodes.services.accounts.base import (
    NAME_MAX,
    NAME_TAKEN,
    OPERATING_UNIT_ID,
    WORK_ID_MAX,
    A,
    AccountView,
    Actor,
    Conflict,
    Invalid,
    WrongPassword,
    changed,
    check_password_rules,
    fits,
    generate_password,
    locked_row,
    not_last_admin,
    not_own,
    org_row,
    role_ok,
    text,
    username_ok,
    view,
)
from custodes.services.accounts.pending import AwaitingConfirmation, propose
from custodes.services.context import Context

UPDATABLE = frozenset({"role", "display_name", "work_id"})


def _second_person(actor: Actor) -> bool:
    """Whether this actor's empowering changes wait for a second person."""
    return actor.account_id is not None


def create_account(
    ctx: Context,
    *,
    username: str,
    role: str,
    password: str,
    organisation_id: int = OPERATING_UNIT_ID,
    display_name: str | None = None,
    work_id: str | None = None,
    actor: Actor,
    one_time: bool | None = None,
    generated: bool = False,
) -> AccountView:
    """Create an account; raises `AwaitingConfirmation` when it waits for a second person.
    `one_time` (default: whenever a person chose the password) makes the password good for
    one log-in; `generated` says the password is to be shown (with a pending proposal)."""
    username = username_ok(username)
    the_role = role_ok(role)
    check_password_rules(password, username)
    display_name = text("display_name", display_name, NAME_MAX)
    work_id = text("work_id", work_id, WORK_ID_MAX)
    password_hash = auth.hash_password(password)
    now = ctx.clock()
    try:
        with ctx.engine.begin() as conn:
            write_first(conn)
            org = org_row(conn, organisation_id)
            fits(the_role, org)
            if conn.execute(A.select().where(A.c.username == username)).first():
                raise Conflict(NAME_TAKEN, "username", params={"username": repr(username)})
            if _second_person(actor) and empowers(None, the_role):
                change = propose(
                    conn,
                    kind=ChangeKind.CREATE,
                    actor=actor,
                    username=username,
                    account_id=None,
                    details={
                        "role": the_role.value,
                        "organisation_id": org.id,
                        "organisation": org.name,
                        "display_name": display_name,
                        "work_id": work_id,
                    },
                    now=now,
                    password_hash=password_hash,
                )
                pending = AwaitingConfirmation(change, password if generated else None)
            else:
                account_id = effects.insert_account(
                    conn,
                    username=username,
                    role=the_role,
                    password_hash=password_hash,
                    org=org,
                    display_name=display_name,
                    work_id=work_id,
                    one_time=actor.person is not None if one_time is None else one_time,
                    credential_by=actor.person,
                    by=actor.name,
                    now=now,
                )
                return view(conn, account_id, now)
    except IntegrityError:  # a concurrent insert of the same name
        raise Conflict(NAME_TAKEN, "username", params={"username": repr(username)}) from None
    raise pending


def update_account(
    ctx: Context, account_id: int, changes: Mapping[str, str | None], *, actor: Actor
) -> AccountView:
    """Change the role, display name or work ID (None clears a name or work ID). A role that
    empowers, by a logged-in account, is proposed (`AwaitingConfirmation`, after the other
    fields are changed)."""
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise Invalid(sorted(unknown)[0], "cannot be changed here")
    now = ctx.clock()
    pending = None
    with ctx.engine.begin() as conn:
        row = locked_row(conn, account_id)
        new: dict[str, Any] = {}
        if "display_name" in changes:
            new["display_name"] = text("display_name", changes["display_name"], NAME_MAX)
        if "work_id" in changes:
            new["work_id"] = text("work_id", changes["work_id"], WORK_ID_MAX)
        role = None
        if "role" in changes:
            value = changes["role"]
            if value is None:
                raise Invalid("role", "must not be null")
            role = role_ok(value)
            if role == row.role:
                role = None
            else:
                not_own(actor, row, "change the role of")
                fits(role, org_row(conn, row.organisation_id))
                if row.role == Role.SYSTEM_ADMIN:
                    not_last_admin(conn, row, "demoted")
        diff = {k: [row._mapping[k], v] for k, v in new.items() if row._mapping[k] != v}
        if diff:
            conn.execute(update(A).where(A.c.id == row.id).values(**new))
            changed(
                conn,
                actor.name,
                row,
                now,
                change="fields",
                fields=sorted(diff),
                values={k: diff[k] for k in sorted(diff)},
            )
        if role is not None:
            if _second_person(actor) and empowers(row.role, role):
                details = {"from": row.role, "to": role.value}
                pending = AwaitingConfirmation(
                    propose(
                        conn,
                        kind=ChangeKind.ROLE,
                        actor=actor,
                        username=row.username,
                        account_id=row.id,
                        details=details,
                        now=now,
                    )
                )
            else:
                effects.apply_role(conn, row, role, by=actor.name, now=now, extra={})
        result = view(conn, row.id, now)
    if pending is not None:
        raise pending
    return result


def set_role(ctx: Context, account_id: int, role: str, *, actor: Actor) -> AccountView:
    return update_account(ctx, account_id, {"role": role}, actor=actor)


def disable_account(ctx: Context, account_id: int, *, actor: Actor) -> AccountView:
    """Disable an account: it cannot log in and its sessions end now. Idempotent."""
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        row = locked_row(conn, account_id)
        if row.disabled_us is None:
            not_own(actor, row, "disable")
            not_last_admin(conn, row, "disabled")
            conn.execute(update(A).where(A.c.id == row.id).values(disabled_us=now))
            ended = auth.end_sessions(conn, row.id)
            changed(conn, actor.name, row, now, change="disabled", sessions_ended=ended)
        return view(conn, row.id, now)


def enable_account(ctx: Context, account_id: int, *, actor: Actor) -> AccountView:
    """Enable a disabled account, and lift the delay on its log-ins. Idempotent. Enabling an
    empowered account by a logged-in account is proposed (`AwaitingConfirmation`)."""
    now = ctx.clock()
    pending = None
    with ctx.engine.begin() as conn:
        row = locked_row(conn, account_id)
        if row.disabled_us is not None and _second_person(actor) and powers(row.role):
            pending = AwaitingConfirmation(
                propose(
                    conn,
                    kind=ChangeKind.ENABLE,
                    actor=actor,
                    username=row.username,
                    account_id=row.id,
                    details={"role": row.role},
                    now=now,
                )
            )
        elif row.disabled_us is not None:
            effects.apply_enable(conn, row, by=actor.name, now=now, extra={})
        elif throttle.lift(conn, row.username):
            changed(
                conn, actor.name, row, now, change="enabled", was_disabled=False, was_locked=True
            )
        result = view(conn, row.id, now)
    if pending is not None:
        raise pending
    return result


def reset_password(
    ctx: Context, account_id: int, password: str | None = None, *, actor: Actor
) -> str:
    """Give an account a new one-time password (generated when None, to be shown once); its
    sessions end and the delay on its log-ins is lifted. Returns the password. Of an
    empowered account, by a logged-in account: proposed (`AwaitingConfirmation`, carrying
    the generated password)."""
    now = ctx.clock()
    with ctx.engine.connect() as conn:
        username = view(conn, account_id, now).username
    given = password is not None
    if password is None:
        password = generate_password(username)
    check_password_rules(password, username)
    password_hash = auth.hash_password(password)
    pending = None
    with ctx.engine.begin() as conn:
        row = locked_row(conn, account_id)
        not_own(actor, row, "reset the password of")
        if _second_person(actor) and powers(row.role):
            pending = AwaitingConfirmation(
                propose(
                    conn,
                    kind=ChangeKind.PASSWORD_RESET,
                    actor=actor,
                    username=row.username,
                    account_id=row.id,
                    details={"role": row.role},
                    now=now,
                    password_hash=password_hash,
                ),
                None if given else password,
            )
        else:
            effects.apply_password(
                conn,
                row,
                password_hash,
                one_time=actor.person is not None,
                credential_by=actor.person,
                by=actor.name,
                now=now,
                extra={},
            )
    if pending is not None:
        raise pending
    return password


def remove_totp(
    ctx: Context, account_id: int, *, actor: Actor, password: str | None = None
) -> AccountView:
    """Remove the second factor: one's own with the password; another's (a lost device) by
    an administrator — proposed, for an empowered account (`AwaitingConfirmation`), or by
    the host's command line. Idempotent."""
    own = actor.account_id == account_id
    if own and (password is None or not auth.check_password(ctx, account_id, password)):
        raise WrongPassword("password", "wrong password")
    now = ctx.clock()
    pending = None
    with ctx.engine.begin() as conn:
        row = locked_row(conn, account_id)
        if row.totp_secret is not None:
            if not own and _second_person(actor) and powers(row.role):
                pending = AwaitingConfirmation(
                    propose(
                        conn,
                        kind=ChangeKind.TOTP_REMOVE,
                        actor=actor,
                        username=row.username,
                        account_id=row.id,
                        details={"role": row.role},
                        now=now,
                    )
                )
            else:
                effects.apply_totp_removal(conn, row, by=actor.name, now=now, extra={})
        result = view(conn, row.id, now)
    if pending is not None:
        raise pending
    return result
