"""Organisations, accounts, second factors and camera assignments (issue 5, part 1).

Rules (each refusal a typed exception below, with the field at fault where there is one):
- the operating unit is organisation 1 (made by the migration) and the only one of its kind;
  its staff hold unit roles, never the external officer role, and an account of any other
  organisation holds only that role (domain/roles.py `role_fits_organisation`);
- the last enabled system administrator can be neither disabled nor demoted, and nobody
  changes their own role, disables themselves or resets their own password (a stolen
  session must not be able to lock the owner out: one's own password is changed with the
  old one, `change_own_password`);
- passwords: at least `PASSWORD_MIN` characters, and not containing the user name;
- a TOTP second factor takes effect only once a first code from the new secret is confirmed;
  changing one's own password or second factor asks for the password again
  (auth.check_password: failures count towards the lockout);
- cameras are assigned only to duty operators (other roles see all cameras or none).

Every change is a ledger entry written in the same transaction as the change, its actor the
acting account ("account:<name>") or the command-line user ("cli:<name>"). ACCOUNT_CHANGED
entries carry "change": fields | disabled | enabled | password-reset | password-changed |
totp-removed. Passwords and TOTP secrets never reach the ledger.

Row locks, in one order everywhere: the enabled system administrators (by id), then the
account changed, then the ledger head — so two administrators demoting each other queue
instead of both succeeding (or deadlocking).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy import Connection, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from custodes.adapters.db import schema
from custodes.adapters.db.engine import write_first
from custodes.domain.access_rules import OrgKind
from custodes.domain.roles import OUTSIDE_ROLES, Role, parse_role, role_fits_organisation
from custodes.services import auth, ledger
from custodes.services.access import OPERATING_UNIT_ID as OPERATING_UNIT_ID
from custodes.services.context import Context

A = schema.accounts
ORG = schema.organisations
CA = schema.camera_assignments
C = schema.cameras

PASSWORD_MIN, PASSWORD_MAX = 12, 1024
USERNAME_MAX, NAME_MAX, WORK_ID_MAX, ORG_NAME_MAX = 64, 128, 64, 128
USERNAME_PATTERN = re.compile(r"\w[\w.@-]*")  # letters (any script), digits, . _ @ -
ENROLMENT_TTL_US = 10 * 60 * 1_000_000  # a begun TOTP enrolment must be confirmed within
_ENROL_LABEL = "totp-enrolment"


# Errors ---------------------------------------------------------------------------------------


class AccountError(Exception):
    """Base of every refusal; `field` names the input at fault, where one is."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(AccountError, LookupError):
    """No such account or organisation (HTTP 404)."""


class Invalid(AccountError, ValueError):
    """An input breaks a rule (HTTP 422 naming the field)."""

    field: str

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", field)


class WrongPassword(Invalid):
    """The password given to re-authenticate is wrong (or the account is locked)."""


class Conflict(AccountError):
    """The state of things forbids it: a name taken, the last administrator (HTTP 409)."""


class LastAdministrator(Conflict):
    pass


class Refused(AccountError):
    """Nobody may do this to their own account (HTTP 403)."""


# Who acts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who makes a change: the ledger actor, and the account behind it (None: the CLI)."""

    name: str
    account_id: int | None = None

    @classmethod
    def of(cls, session: auth.Session) -> Actor:
        return cls(ledger.account_actor(session.username), session.account_id)


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
    locked_until_us: int | None  # only while the lock lasts
    created_us: int
    cameras: tuple[int, ...]  # assigned for live view (duty operators)


@dataclass(frozen=True)
class TotpEnrolment:
    """Shown once: the secret (and its otpauth:// URI for a QR code), and the sealed token
    that `confirm_totp` takes back with the first code."""

    secret: str
    uri: str
    enrolment: str
    expires_us: int


# Organisations --------------------------------------------------------------------------------


def _org(row: Row[Any]) -> Organisation:
    return Organisation(int(row.id), row.name, row.kind, int(row.created_us))


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
        return _org_row(conn, org_id)


def find_organisation(ctx: Context, ref: str) -> Organisation:
    """By id (digits) or by exact name."""
    with ctx.engine.connect() as conn:
        if ref.isdigit():
            return _org_row(conn, int(ref))
        row = conn.execute(select(ORG).where(ORG.c.name == ref)).first()
    if row is None:
        raise NotFound(f"no organisation {ref!r}", "organisation")
    return _org(row)


def _org_row(conn: Connection, org_id: int) -> Organisation:
    row = conn.execute(select(ORG).where(ORG.c.id == org_id)).first()
    if row is None:
        raise NotFound(f"no organisation {org_id}", "organisation_id")
    return _org(row)


# Reading accounts -----------------------------------------------------------------------------


def _views(conn: Connection, now: int, account_id: int | None = None) -> list[AccountView]:
    query = (
        select(A, ORG.c.name.label("organisation"))
        .join(ORG, ORG.c.id == A.c.organisation_id)
        .order_by(A.c.id)
    )
    cams = select(CA.c.account_id, CA.c.camera_id).order_by(CA.c.camera_id)
    if account_id is not None:
        query = query.where(A.c.id == account_id)
        cams = cams.where(CA.c.account_id == account_id)
    assigned: dict[int, list[int]] = {}
    for a, c in conn.execute(cams):
        assigned.setdefault(int(a), []).append(int(c))
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
            locked_until_us=(
                r.locked_until_us if r.locked_until_us and r.locked_until_us > now else None
            ),
            created_us=int(r.created_us),
            cameras=tuple(assigned.get(int(r.id), ())),
        )
        for r in conn.execute(query)
    ]


def list_accounts(ctx: Context) -> list[AccountView]:
    with ctx.engine.connect() as conn:
        return _views(conn, ctx.clock())


def get_account(ctx: Context, account_id: int) -> AccountView:
    with ctx.engine.connect() as conn:
        return _view(conn, account_id, ctx.clock())


def find_account(ctx: Context, ref: str) -> AccountView:
    """By user name, or by id (digits) when no account has that name."""
    with ctx.engine.connect() as conn:
        found = conn.execute(select(A.c.id).where(A.c.username == ref)).scalar_one_or_none()
        if found is None and ref.isdigit():
            found = int(ref)
        if found is None:
            raise NotFound(f"no account {ref!r}", "account")
        return _view(conn, int(found), ctx.clock())


def _view(conn: Connection, account_id: int, now: int) -> AccountView:
    views = _views(conn, now, account_id)
    if not views:
        raise NotFound(f"no account {account_id}", "account_id")
    return views[0]


def assigned_cameras(ctx: Context, account_id: int) -> frozenset[int]:
    """The cameras the account may watch live by assignment (duty operators)."""
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(CA.c.camera_id).where(CA.c.account_id == account_id))
        return frozenset(int(c) for c in rows.scalars())


# Rules ----------------------------------------------------------------------------------------


def check_password_rules(password: str, username: str, field: str = "password") -> None:
    if len(password) < PASSWORD_MIN:
        raise Invalid(field, f"at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise Invalid(field, f"at most {PASSWORD_MAX} characters")
    if not password.strip():
        raise Invalid(field, "not only spaces")
    if username.casefold() in password.casefold():
        raise Invalid(field, "must not contain the user name")


def generate_password(username: str) -> str:
    while True:  # 16 characters, ~96 bits; the loop only guards the user-name rule
        password = secrets.token_urlsafe(12)
        if username.casefold() not in password.casefold():
            return password


def _username(value: str) -> str:
    if not 1 <= len(value) <= USERNAME_MAX:
        raise Invalid("username", f"1 to {USERNAME_MAX} characters")
    if not USERNAME_PATTERN.fullmatch(value):
        raise Invalid(
            "username", "letters, digits and . _ @ - only, starting with a letter or digit"
        )
    return value


def _text(field: str, value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > limit:
        raise Invalid(field, f"at most {limit} characters")
    return value or None


def _role(value: str) -> Role:
    try:
        return parse_role(value)
    except ValueError as exc:
        raise Invalid("role", str(exc).removeprefix("role: ")) from None


def _fits(role: Role, org: Organisation) -> None:
    if role_fits_organisation(role, operating_unit=org.operating_unit):
        return
    if org.operating_unit:
        raise Invalid("role", f"the operating unit's staff never hold the role {role.value}")
    allowed = ", ".join(sorted(r.value for r in OUTSIDE_ROLES))
    raise Invalid(
        "role", f"an account of {org.name!r} ({org.kind}) may only hold the role {allowed}"
    )


def _lock_admins(conn: Connection) -> list[int]:
    """The enabled system administrators, their rows locked (PostgreSQL; SQLite: write_first)."""
    rows = conn.execute(
        select(A.c.id)
        .where(A.c.role == Role.SYSTEM_ADMIN.value, A.c.disabled_us.is_(None))
        .order_by(A.c.id)
        .with_for_update()
    )
    return [int(i) for i in rows.scalars()]


def _locked_row(conn: Connection, account_id: int) -> Row[Any]:
    """Take the locks (administrators, then the account) and read the account."""
    write_first(conn)
    _lock_admins(conn)
    row = conn.execute(select(A).where(A.c.id == account_id).with_for_update()).first()
    if row is None:
        raise NotFound(f"no account {account_id}", "account_id")
    return row


def _not_last_admin(conn: Connection, row: Row[Any], doing: str) -> None:
    if row.role == Role.SYSTEM_ADMIN and row.disabled_us is None:
        others = [i for i in _lock_admins(conn) if i != row.id]
        if not others:
            raise LastAdministrator(
                f"{row.username} is the last enabled system administrator and cannot be "
                f"{doing}; make another account system administrator first"
            )


def _not_own(actor: Actor, row: Row[Any], doing: str) -> None:
    if actor.account_id == row.id:
        raise Refused(f"nobody may {doing} their own account")


def _changed(conn: Connection, actor: Actor, row: Row[Any], now: int, **details: Any) -> None:
    ledger.record(
        conn,
        actor=actor.name,
        action=ledger.ACCOUNT_CHANGED,
        object=f"account:{row.username}",
        details=details,
        time_us=now,
    )


# Creating and changing accounts ---------------------------------------------------------------


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
) -> AccountView:
    username = _username(username)
    the_role = _role(role)
    check_password_rules(password, username)
    display_name = _text("display_name", display_name, NAME_MAX)
    work_id = _text("work_id", work_id, WORK_ID_MAX)
    password_hash = auth.hash_password(password)
    now = ctx.clock()
    try:
        with ctx.engine.begin() as conn:
            write_first(conn)
            org = _org_row(conn, organisation_id)
            _fits(the_role, org)
            if conn.execute(select(A.c.id).where(A.c.username == username)).first():
                raise Conflict(f"an account named {username!r} exists", "username")
            new = conn.execute(
                insert(A).values(
                    username=username,
                    password_hash=password_hash,
                    role=the_role.value,
                    created_us=now,
                    organisation_id=org.id,
                    display_name=display_name,
                    work_id=work_id,
                )
            ).inserted_primary_key
            assert new is not None
            ledger.record(
                conn,
                actor=actor.name,
                action=ledger.ACCOUNT_CREATED,
                object=f"account:{username}",
                details={
                    "role": the_role.value,
                    "organisation_id": org.id,
                    "organisation": org.name,
                    "display_name": display_name,
                    "work_id": work_id,
                },
                time_us=now,
            )
            return _view(conn, int(new[0]), now)
    except IntegrityError:  # a concurrent insert of the same name
        raise Conflict(f"an account named {username!r} exists", "username") from None


UPDATABLE = frozenset({"role", "display_name", "work_id"})


def update_account(
    ctx: Context, account_id: int, changes: Mapping[str, str | None], *, actor: Actor
) -> AccountView:
    """Change the role, display name or work ID (None clears a name or work ID)."""
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise Invalid(sorted(unknown)[0], "cannot be changed here")
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        row = _locked_row(conn, account_id)
        new: dict[str, Any] = {}
        if "display_name" in changes:
            new["display_name"] = _text("display_name", changes["display_name"], NAME_MAX)
        if "work_id" in changes:
            new["work_id"] = _text("work_id", changes["work_id"], WORK_ID_MAX)
        unassigned: list[int] = []
        if "role" in changes:
            value = changes["role"]
            if value is None:
                raise Invalid("role", "must not be null")
            role = _role(value)
            if role != row.role:
                _not_own(actor, row, "change the role of")
                _fits(role, _org_row(conn, row.organisation_id))
                if row.role == Role.SYSTEM_ADMIN:
                    _not_last_admin(conn, row, "demoted")
                if role != Role.DUTY_OPERATOR:  # assignments mean nothing to other roles
                    unassigned = sorted(
                        int(c)
                        for c in conn.execute(
                            delete(CA).where(CA.c.account_id == row.id).returning(CA.c.camera_id)
                        ).scalars()
                    )
            new["role"] = role.value
        diff = {k: [row._mapping[k], v] for k, v in new.items() if row._mapping[k] != v}
        if diff:
            conn.execute(update(A).where(A.c.id == row.id).values(**new))
            extra = {"cameras_unassigned": unassigned} if unassigned else {}
            _changed(
                conn,
                actor,
                row,
                now,
                change="fields",
                fields=sorted(diff),
                values={k: diff[k] for k in sorted(diff)},
                **extra,
            )
        return _view(conn, row.id, now)


def set_role(ctx: Context, account_id: int, role: str, *, actor: Actor) -> AccountView:
    return update_account(ctx, account_id, {"role": role}, actor=actor)


def disable_account(ctx: Context, account_id: int, *, actor: Actor) -> AccountView:
    """Disable an account: it cannot log in and its sessions end now. Idempotent."""
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        row = _locked_row(conn, account_id)
        if row.disabled_us is None:
            _not_own(actor, row, "disable")
            _not_last_admin(conn, row, "disabled")
            conn.execute(update(A).where(A.c.id == row.id).values(disabled_us=now))
            ended = auth.end_sessions(conn, row.id)
            _changed(conn, actor, row, now, change="disabled", sessions_ended=ended)
        return _view(conn, row.id, now)


def enable_account(ctx: Context, account_id: int, *, actor: Actor) -> AccountView:
    """Enable a disabled account, and lift a lockout. Idempotent."""
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        row = _locked_row(conn, account_id)
        locked = row.locked_until_us is not None and row.locked_until_us > now
        if row.disabled_us is not None or locked or row.failed_logins:
            conn.execute(
                update(A)
                .where(A.c.id == row.id)
                .values(disabled_us=None, locked_until_us=None, failed_logins=0)
            )
            _changed(
                conn,
                actor,
                row,
                now,
                change="enabled",
                was_disabled=row.disabled_us is not None,
                was_locked=locked,
            )
        return _view(conn, row.id, now)


def reset_password(
    ctx: Context, account_id: int, password: str | None = None, *, actor: Actor
) -> str:
    """Give an account a new password (generated when None, to be shown once); its sessions
    end and a lockout is lifted. Returns the password."""
    now = ctx.clock()
    with ctx.engine.connect() as conn:
        username = _view(conn, account_id, now).username
    if password is None:
        password = generate_password(username)
    check_password_rules(password, username)
    password_hash = auth.hash_password(password)
    with ctx.engine.begin() as conn:
        row = _locked_row(conn, account_id)
        _not_own(actor, row, "reset the password of")
        conn.execute(
            update(A)
            .where(A.c.id == row.id)
            .values(password_hash=password_hash, failed_logins=0, locked_until_us=None)
        )
        ended = auth.end_sessions(conn, row.id)
        _changed(conn, actor, row, now, change="password-reset", sessions_ended=ended)
    return password


def change_own_password(
    ctx: Context, session: auth.Session, old_password: str, new_password: str
) -> None:
    """The account's own password, given the old one; its other sessions end."""
    check_password_rules(new_password, session.username, "new_password")
    if not auth.check_password(ctx, session.account_id, old_password):
        raise WrongPassword("old_password", "wrong password")
    password_hash = auth.hash_password(new_password)
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        row = _locked_row(conn, session.account_id)
        conn.execute(update(A).where(A.c.id == row.id).values(password_hash=password_hash))
        ended = auth.end_sessions(conn, row.id, keep_token=session.token)
        _changed(conn, Actor.of(session), row, now, change="password-changed", sessions_ended=ended)


# TOTP -----------------------------------------------------------------------------------------


def begin_totp(ctx: Context, session: auth.Session, password: str) -> TotpEnrolment:
    """A new secret for the account, not yet in effect: `confirm_totp` with a first code."""
    if not auth.check_password(ctx, session.account_id, password):
        raise WrongPassword("password", "wrong password")
    secret = auth.new_totp_secret()
    expires = ctx.clock() + ENROLMENT_TTL_US
    label = f"{_ENROL_LABEL}:{session.account_id}:{expires}"
    sealed = ctx.credentials.seal(label, secret)
    assert sealed is not None
    return TotpEnrolment(
        secret=secret,
        uri=auth.totp_uri(secret, session.username),
        enrolment=sealed.decode("ascii"),
        expires_us=expires,
    )


def confirm_totp(ctx: Context, session: auth.Session, enrolment: str, code: str) -> AccountView:
    """Put the enrolment's secret into effect, once a code from it checks out."""
    now = ctx.clock()
    try:
        label, secret = ctx.credentials.open(enrolment.encode("ascii"))
    except (InvalidToken, UnicodeError, ValueError):
        raise Invalid("enrolment", "not an enrolment this installation issued") from None
    kind, _, rest = (label or "").partition(":")
    owner, _, expires = rest.partition(":")
    if kind != _ENROL_LABEL or owner != str(session.account_id) or not secret:
        raise Invalid("enrolment", "not an enrolment of this account")
    if not expires.isdigit() or int(expires) <= now:
        raise Invalid("enrolment", "expired: begin the enrolment again")
    step = auth.totp_step(secret, code, now)
    if step is None:
        raise Invalid("code", "wrong code: check the device's clock and try the next code")
    with ctx.engine.begin() as conn:
        row = _locked_row(conn, session.account_id)
        conn.execute(
            update(A)
            .where(A.c.id == row.id)
            .values(totp_secret=auth.seal_totp(ctx.credentials, secret), totp_last_step=step)
        )
        ledger.record(
            conn,
            actor=Actor.of(session).name,
            action=ledger.TOTP_ENROLLED,
            object=f"account:{row.username}",
            details={"replaced": row.totp_secret is not None},
            time_us=now,
        )
        return _view(conn, row.id, now)


def remove_totp(
    ctx: Context, account_id: int, *, actor: Actor, password: str | None = None
) -> AccountView:
    """Remove the second factor: one's own with the password; another's (a lost device) by an
    administrator. Idempotent."""
    if actor.account_id == account_id and (
        password is None or not auth.check_password(ctx, account_id, password)
    ):
        raise WrongPassword("password", "wrong password")
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        row = _locked_row(conn, account_id)
        if row.totp_secret is not None:
            conn.execute(
                update(A).where(A.c.id == row.id).values(totp_secret=None, totp_last_step=None)
            )
            _changed(conn, actor, row, now, change="totp-removed")
        return _view(conn, row.id, now)


# Camera assignments ---------------------------------------------------------------------------


def set_cameras(
    ctx: Context, account_id: int, camera_ids: Iterable[int], *, actor: Actor
) -> AccountView:
    """The whole list of cameras a duty operator may watch live (replaces the old one)."""
    wanted = sorted(set(camera_ids))
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        row = _locked_row(conn, account_id)
        if row.role != Role.DUTY_OPERATOR:
            raise Conflict(
                f"cameras are assigned to duty operators; {row.username} is {row.role}",
                "cameras",
            )
        if wanted:
            known = {
                int(r.id): r.retired_us
                for r in conn.execute(select(C.c.id, C.c.retired_us).where(C.c.id.in_(wanted)))
            }
            for cam in wanted:
                if cam not in known:
                    raise Invalid("cameras", f"no camera {cam}")
                if known[cam] is not None:
                    raise Invalid("cameras", f"camera {cam} is retired")
        before = sorted(
            int(c)
            for c in conn.execute(select(CA.c.camera_id).where(CA.c.account_id == row.id)).scalars()
        )
        if before != wanted:
            conn.execute(delete(CA).where(CA.c.account_id == row.id))
            if wanted:
                conn.execute(insert(CA), [{"account_id": row.id, "camera_id": c} for c in wanted])
            ledger.record(
                conn,
                actor=actor.name,
                action=ledger.CAMERAS_ASSIGNED,
                object=f"account:{row.username}",
                details={
                    "cameras": wanted,
                    "added": sorted(set(wanted) - set(before)),
                    "removed": sorted(set(before) - set(wanted)),
                },
                time_us=now,
            )
        return _view(conn, row.id, now)
