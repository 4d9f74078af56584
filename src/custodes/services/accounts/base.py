"""What every part of services/accounts shares: errors, who acts, views, validation, locks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, select

from custodes.adapters.db import schema
from custodes.adapters.db.engine import write_first
from custodes.domain.access_rules import OrgKind, fill
from custodes.domain.roles import OUTSIDE_ROLES, Role, parse_role, role_fits_organisation
from custodes.services import auth, ledger, passwords, throttle

A = schema.accounts
ORG = schema.organisations
CA = schema.camera_assignments
C = schema.cameras
AC = schema.account_changes
T = schema.login_throttle

OPERATING_UNIT_ID = 1  # the operating unit (made by migration 0005)
PASSWORD_MIN, PASSWORD_MAX = passwords.PASSWORD_MIN, passwords.PASSWORD_MAX
USERNAME_MAX, NAME_MAX, WORK_ID_MAX, ORG_NAME_MAX = 64, 128, 64, 128
USERNAME_PATTERN = re.compile(r"\w[\w.@-]*")  # letters (any script), digits, . _ @ -


# Errors ---------------------------------------------------------------------------------------


class AccountError(Exception):
    """Base of every refusal; `field` names the input at fault, where one is. Given `params`,
    `message` is a msgid (English, `%(name)s` for each parameter) that the web layer
    translates (`msgid`, `params`); `message` is then the English, filled in."""

    def __init__(
        self, message: str, field: str | None = None, *, params: Mapping[str, str] | None = None
    ) -> None:
        self.msgid = message
        self.params: Mapping[str, str] = dict(params or {})
        self.message = fill(message, self.params)
        super().__init__(self.message)
        self.field = field


class NotFound(AccountError, LookupError):
    """No such account, organisation or pending change (HTTP 404)."""


class Invalid(AccountError, ValueError):
    """An input breaks a rule (HTTP 422 naming the field)."""

    field: str

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", field)


class WrongPassword(Invalid):
    """The password given to re-authenticate is wrong."""


# msgid (entrypoints/web/locale/*.po): the name is shown quoted, as repr() quotes it
NAME_TAKEN = "an account named %(username)s exists"


class Conflict(AccountError):
    """The state of things forbids it: a name taken, the last administrator (HTTP 409)."""


class LastAdministrator(Conflict):
    pass


class Refused(AccountError):
    """Nobody may do this (to their own account, or as the same person twice) (HTTP 403)."""


# Who acts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who makes a change: the ledger actor, and the account behind it (None: the host — the
    command line, or the installation itself)."""

    name: str
    account_id: int | None = None

    @classmethod
    def of(cls, session: auth.Session) -> Actor:
        return cls(ledger.account_actor(session.username), session.account_id)

    @property
    def person(self) -> str | None:
        """Who, as a person, chose or saw a password this actor set: an account or a command
        line user; None for the installation ("system:…", the demo's cast)."""
        return self.name if self.name.startswith(("account:", "cli:")) else None


# Views ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Organisation:
    id: int
    name: str
    kind: str  # domain/access_rules.py OrgKind
    created_us: int

    @property
    def operating_unit(self) -> bool:
        return self.kind == OrgKind.OPERATING_UNIT


@dataclass(frozen=True)
class AccountView:
    """What may be shown about an account: never its password hash or TOTP secret."""

    id: int
    username: str
    role: str
    organisation_id: int
    organisation: str
    display_name: str | None
    work_id: str | None
    totp: bool
    disabled_us: int | None
    locked_until_us: int | None  # while log-ins under its name wait out a delay
    created_us: int
    cameras: tuple[int, ...]  # assigned for live view (duty operators)
    credential_by: str | None = None  # who made it or last reset its password
    one_time_password: bool = False  # must choose a new password at the next log-in


def _org(row: Row[Any]) -> Organisation:
    return Organisation(int(row.id), row.name, row.kind, int(row.created_us))


def org_row(conn: Connection, org_id: int) -> Organisation:
    row = conn.execute(select(ORG).where(ORG.c.id == org_id)).first()
    if row is None:
        raise NotFound(f"no organisation {org_id}", "organisation_id")
    return _org(row)


def views(conn: Connection, now: int, account_id: int | None = None) -> list[AccountView]:
    query = (
        select(A, ORG.c.name.label("organisation"))
        .join(ORG, ORG.c.id == A.c.organisation_id)
        .order_by(A.c.id)
    )
    cams = select(CA.c.account_id, CA.c.camera_id).order_by(CA.c.camera_id)
    waits = select(T.c.key, T.c.blocked_until_us).where(
        T.c.key.like("name:%"), T.c.blocked_until_us > now
    )
    if account_id is not None:
        query = query.where(A.c.id == account_id)
        cams = cams.where(CA.c.account_id == account_id)
    assigned: dict[int, list[int]] = {}
    for a, c in conn.execute(cams):
        assigned.setdefault(int(a), []).append(int(c))
    rows = list(conn.execute(query))
    if account_id is not None and rows:
        waits = waits.where(T.c.key == f"name:{rows[0].username}"[: throttle.KEY_MAX])
    waiting = {k.removeprefix("name:"): int(u) for k, u in conn.execute(waits)}
    return [
        AccountView(
            id=int(r.id),
            username=r.username,
            role=r.role,
            organisation_id=int(r.organisation_id),
            organisation=r.organisation,
            display_name=r.display_name,
            work_id=r.work_id,
            totp=r.totp_secret is not None,
            disabled_us=r.disabled_us,
            locked_until_us=waiting.get(r.username),
            created_us=int(r.created_us),
            cameras=tuple(assigned.get(int(r.id), ())),
            credential_by=r.credential_by,
            one_time_password=bool(r.password_one_time),
        )
        for r in rows
    ]


def view(conn: Connection, account_id: int, now: int) -> AccountView:
    found = views(conn, now, account_id)
    if not found:
        raise NotFound(f"no account {account_id}", "account_id")
    return found[0]


# Rules ----------------------------------------------------------------------------------------


def check_password_rules(password: str, username: str, field: str = "password") -> None:
    try:
        passwords.check_password_rules(password, username, field)
    except passwords.PasswordRuleError as exc:
        raise Invalid(exc.field, exc.message) from None


generate_password = passwords.generate_password


def username_ok(value: str) -> str:
    if not 1 <= len(value) <= USERNAME_MAX:
        raise Invalid("username", f"1 to {USERNAME_MAX} characters")
    if not USERNAME_PATTERN.fullmatch(value):
        raise Invalid(
            "username", "letters, digits and . _ @ - only, starting with a letter or digit"
        )
    return value


def text(field: str, value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > limit:
        raise Invalid(field, f"at most {limit} characters")
    return value or None


def role_ok(value: str) -> Role:
    try:
        return parse_role(value)
    except ValueError as exc:
        raise Invalid("role", str(exc).removeprefix("role: ")) from None


def fits(role: Role, org: Organisation) -> None:
    if role_fits_organisation(role, operating_unit=org.operating_unit):
        return
    if org.operating_unit:
        raise Invalid("role", f"the operating unit's staff never hold the role {role.value}")
    allowed = ", ".join(sorted(r.value for r in OUTSIDE_ROLES))
    raise Invalid(
        "role", f"an account of {org.name!r} ({org.kind}) may only hold the role {allowed}"
    )


# Locks ----------------------------------------------------------------------------------------
# Row locks, in one order everywhere: the enabled system administrators (by id), then the
# account changed, then the ledger head — so two administrators demoting each other queue
# instead of both succeeding (or deadlocking).


def lock_admins(conn: Connection) -> list[int]:
    """The enabled system administrators, their rows locked (PostgreSQL; SQLite: write_first)."""
    rows = conn.execute(
        select(A.c.id)
        .where(A.c.role == Role.SYSTEM_ADMIN.value, A.c.disabled_us.is_(None))
        .order_by(A.c.id)
        .with_for_update()
    )
    return [int(i) for i in rows.scalars()]


def locked_row(conn: Connection, account_id: int) -> Row[Any]:
    """Take the locks (administrators, then the account) and read the account."""
    write_first(conn)
    lock_admins(conn)
    row = conn.execute(select(A).where(A.c.id == account_id).with_for_update()).first()
    if row is None:
        raise NotFound(f"no account {account_id}", "account_id")
    return row


def not_last_admin(conn: Connection, row: Row[Any], doing: str) -> None:
    if row.role == Role.SYSTEM_ADMIN and row.disabled_us is None:
        others = [i for i in lock_admins(conn) if i != row.id]
        if not others:
            raise LastAdministrator(
                f"{row.username} is the last enabled system administrator and cannot be "
                f"{doing}; make another account system administrator first"
            )


def not_own(actor: Actor, row: Row[Any], doing: str) -> None:
    if actor.account_id == row.id:
        raise Refused(f"nobody may {doing} their own account")


def changed(conn: Connection, actor: str, row: Row[Any], now: int, **details: Any) -> None:
    ledger.record(
        conn,
        actor=actor,
        action=ledger.ACCOUNT_CHANGED,
        object=f"account:{row.username}",
        details=details,
        time_us=now,
    )
