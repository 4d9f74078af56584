"""Logging in and out: Argon2id password, optional TOTP, throttling, server-side sessions.

Every log-in, failed log-in and log-out is a ledger entry, written in the same transaction as
the change it goes with. A failed attempt records the user name tried (never the password nor
the code), and costs one Argon2 check and one write transaction whether or not the account
exists.

Before any password is checked, the attempt is counted (services/throttle.py: per source and
user name, per source, per user name; an atomic conditional increment): a key past its free
attempts waits a delay that doubles with each failure, and an attempt during a delay is
refused unchecked (`throttle.Throttled`, HTTP 429 with Retry-After: it says only that this
address or name must wait, nothing about the password). Twenty guesses at once are five
checks; a stranger slows only their own address for long, and the name every address shares
for at most a minute. The Argon2 checks themselves run in a bounded pool
(services/passwords.py, `Busy`: HTTP 503).

Refusals of the credentials, all given to the caller as the same `None` (and by the web API
as the same 401), so that nobody learns from the answer whether an account exists or is
disabled, or whether the password was right; the ledger entry says which (details "reason";
none for a wrong password or an unknown user): a wrong password, a missing, wrong or already
used TOTP code; "disabled": an account with `disabled_us` set (its sessions end too:
`resume`).

A password someone else chose (an administrator's at creation or reset, docs/DUTIES.md) is
one-time: the right one, with the right code, does not open a session but raises
`PasswordChangeRequired` until the log-in also brings `new_password`, which replaces it in the
log-in's transaction. It works once: after that it is gone, and if someone else used it
first, the owner finds out at once.

TOTP (RFC 6238: SHA-1, 6 digits, 30-s steps) is optional per account; the secret is stored
encrypted with the data directory's key. A code is accepted one step either side of now, and
only for a step later than the last one accepted (`totp_last_step`), so a code seen over
someone's shoulder cannot be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

import pyotp
from pyotp.exceptions import OTPVerificationError
from sqlalchemy import Connection, Row, delete, insert, or_, select, update

from custodes.adapters.db import schema
from custodes.adapters.keys import CredentialBox
from custodes.services import ledger, throttle
from custodes.services.context import Context
from custodes.services.passwords import Busy as Busy
from custodes.services.passwords import PasswordRuleError, check_password_rules
from custodes.services.passwords import hash_password as hash_password
from custodes.services.passwords import password_matches as password_matches
from custodes.services.throttle import Throttled as Throttled

A = schema.accounts
WS = schema.web_sessions
IDLE_TIMEOUT_US = 30 * 60 * 1_000_000  # 30 minutes without a request ends a session
ABSOLUTE_TIMEOUT_US = 12 * 3600 * 1_000_000  # and no session outlives a 12-hour shift
MAX_FAILED_LOGINS = throttle.PAIR.free  # guesses from one address before it waits
TOTP_INTERVAL_S = 30
TOTP_WINDOW = 1  # steps accepted either side of now (clock drift)
TOTP_ISSUER = "Custodes"
_TOTP_LABEL = "totp"  # the CredentialBox "user" part of a sealed TOTP secret
UNAUTHENTICATED = "unauthenticated"  # the ledger actor of a failed log-in
LOCAL = "local"  # the source of a log-in that names none
REAUTH = "re-authentication"  # the source of a logged-in account's password check (+ its id)


class PasswordChangeRequired(Exception):
    """The right one-time password: the log-in must bring a new one (`new_password`)."""


class NewPasswordRefused(ValueError):
    """The new password given with a one-time one breaks a rule (field "new_password")."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.field = "new_password"
        self.message = message


@dataclass(frozen=True)
class Session:
    token: str  # only ever in the cookie; the database holds its SHA-256
    account_id: int
    username: str
    role: str  # domain/roles.py Role, read from the account at every request
    csrf_token: str
    expires_us: int
    organisation_id: int
    display_name: str | None = None
    work_id: str | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# TOTP -----------------------------------------------------------------------------------------


def new_totp_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def totp_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret, interval=TOTP_INTERVAL_S).provisioning_uri(
        name=username, issuer_name=TOTP_ISSUER
    )


def seal_totp(box: CredentialBox, secret: str) -> bytes:
    sealed = box.seal(_TOTP_LABEL, secret)
    assert sealed is not None
    return sealed


def open_totp(box: CredentialBox, sealed: bytes) -> str:
    label, secret = box.open(sealed)
    if label != _TOTP_LABEL or not secret:
        raise ValueError("not a sealed TOTP secret")
    return secret


def totp_step(secret: str, code: str | None, now_us: int) -> int | None:
    """The time step a code is valid for (within the window around now), else None."""
    if not code or len(code) != 6 or not code.isdigit():
        return None
    try:
        return pyotp.TOTP(secret, interval=TOTP_INTERVAL_S).verify_and_get_timecode(
            code, for_time=now_us // 1_000_000, valid_window=TOTP_WINDOW
        )
    except OTPVerificationError:
        return None


# Log-in ---------------------------------------------------------------------------------------


def login(
    ctx: Context,
    username: str,
    password: str,
    totp: str | None = None,
    *,
    now: int | None = None,
    source: str = LOCAL,
    new_password: str | None = None,
) -> Session | None:
    """A new session, or None for every refusal of the credentials alike (see the module's
    doc). Raises `Throttled` (nothing checked), `Busy` (no hashing slot),
    `PasswordChangeRequired` and `NewPasswordRefused` (one-time passwords)."""
    now = now or ctx.clock()
    if new_password is not None:
        try:
            check_password_rules(new_password, username, "new_password")
        except PasswordRuleError as exc:
            raise NewPasswordRefused(exc.message) from None
    try:
        throttle.admit(ctx, source, username, now)
    except Throttled as exc:
        if exc.noted:  # the 1st, 10th, 100th … refusal: not one entry per request
            _failure(ctx, username, now, _throttled(exc, source=source))
        raise
    with ctx.engine.connect() as conn:
        row = conn.execute(select(A).where(A.c.username == username)).first()
    password_ok = password_matches(row.password_hash if row else None, password)
    if row is None or not password_ok:
        _failure(ctx, username, now, {"source": source}, known=row is not None)
        return None
    if row.disabled_us is not None:
        _failure(ctx, username, now, {"reason": "disabled", "source": source})
        return None
    step = None
    if row.totp_secret is not None:
        step = totp_step(open_totp(ctx.credentials, row.totp_secret), totp, now)
        if step is None or (row.totp_last_step is not None and step <= row.totp_last_step):
            why = "missing" if not totp else ("wrong" if step is None else "replayed")
            _failure(ctx, username, now, {"reason": "totp", "totp": why, "source": source})
            return None
    replacement = None
    if row.password_one_time:
        if new_password is None:
            with ctx.engine.begin() as conn:
                throttle.succeeded(conn, source, username, now)
                _record_failure(
                    conn, username, now, {"reason": "one-time-password", "source": source}, True
                )
            raise PasswordChangeRequired(
                "this password was set by someone else and works once: choose a new one"
            )
        if new_password == password:
            raise NewPasswordRefused("must differ from the one-time password")
        replacement = hash_password(new_password)
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = now + IDLE_TIMEOUT_US
    with ctx.engine.begin() as conn:
        # The write first, and conditional: a disabling, a new password or a use of the same
        # code that committed since the read above wins.
        conditions = [
            A.c.id == row.id,
            A.c.disabled_us.is_(None),
            A.c.password_hash == row.password_hash,
        ]
        values: dict[str, Any] = {"password_hash": row.password_hash}  # the write, at least
        if step is not None:
            conditions.append(or_(A.c.totp_last_step.is_(None), A.c.totp_last_step < step))
            values["totp_last_step"] = step
        if replacement is not None:
            values.update(password_hash=replacement, password_one_time=False)
        if conn.execute(update(A).where(*conditions).values(**values)).rowcount != 1:
            _record_failure(conn, username, now, {"reason": "changed-meanwhile"}, known=True)
            return None
        throttle.succeeded(conn, source, username, now)
        conn.execute(delete(WS).where(WS.c.expires_us < now))
        conn.execute(
            insert(WS).values(
                token_sha256=_digest(token),
                account_id=row.id,
                csrf_token=csrf,
                created_us=now,
                last_seen_us=now,
                expires_us=expires,
            )
        )
        if replacement is not None:
            ledger.record(
                conn,
                actor=ledger.account_actor(row.username),
                action=ledger.ACCOUNT_CHANGED,
                object=f"account:{row.username}",
                details={"change": "password-changed", "one_time_replaced": True},
                time_us=now,
            )
        ledger.record(
            conn,
            actor=ledger.account_actor(row.username),
            action=ledger.LOGIN,
            object=f"account:{row.username}",
            details={"role": row.role, "session": _session_ref(token)},
            time_us=now,
        )
    return _session(token, row, csrf, expires)


def _failure(
    ctx: Context, username: str, now: int, extra: dict[str, Any], known: bool = True
) -> None:
    with ctx.engine.begin() as conn:
        _record_failure(conn, username, now, extra, known=known)


def _record_failure(
    conn: Connection, username: str, now: int, extra: dict[str, Any], known: bool
) -> None:
    # Not authenticated: the actor is nobody; the name tried is the object (clipped to fit).
    ledger.record(
        conn,
        actor=UNAUTHENTICATED,
        action=ledger.LOGIN_FAILED,
        object=_object(username),
        details={"username": username[:256], "account_exists": known, **extra},
        time_us=now,
    )


def _throttled(exc: Throttled, **where: str) -> dict[str, Any]:
    return {"reason": "throttled", "key": exc.kind, "refused": exc.refused, **where}


def _object(username: str) -> str:
    return f"account:{username[: ledger.OBJECT_MAX - 8]}"


def check_password(ctx: Context, account_id: int, password: str, *, now: int | None = None) -> bool:
    """Re-authentication of a logged-in account before it changes its own credentials.

    Throttled like a log-in (a stolen session must not become a way to guess the password:
    `Throttled` past the free attempts), and a disabled account is refused.
    """
    now = now or ctx.clock()
    with ctx.engine.connect() as conn:
        row = conn.execute(select(A).where(A.c.id == account_id)).first()
    if row is None:
        return False
    # the account's own source: a shared one would let a few accounts' wrong passwords make
    # every account wait before it can change its own password or second factor
    source = f"{REAUTH}:{int(row.id)}"
    try:
        throttle.admit(ctx, source, row.username, now)
    except Throttled as exc:
        if exc.noted:
            _failure(ctx, row.username, now, _throttled(exc, during=REAUTH))
        raise
    ok = password_matches(row.password_hash, password)
    if row.disabled_us is not None:
        _failure(ctx, row.username, now, {"reason": "disabled", "during": REAUTH})
        return False
    if not ok:
        _failure(ctx, row.username, now, {"during": REAUTH})
        return False
    with ctx.engine.begin() as conn:
        throttle.succeeded(conn, source, row.username, now)
    return True


def _session(token: str, row: Row[Any], csrf: str, expires: int) -> Session:
    return Session(
        token=token,
        account_id=int(row.id),
        username=row.username,
        role=row.role,
        csrf_token=csrf,
        expires_us=expires,
        organisation_id=int(row.organisation_id),
        display_name=row.display_name,
        work_id=row.work_id,
    )


def _session_ref(token: str) -> str:
    """A session's name in the ledger: a prefix of the stored digest (it cannot log anyone in,
    and ties a log-out to its log-in)."""
    return _digest(token)[:16]


def resume(ctx: Context, token: str, *, now: int | None = None) -> Session | None:
    """The live session behind a cookie token; slides its idle expiry forward. The account's
    role and details are read afresh; a disabled account's sessions end here at once."""
    now = now or ctx.clock()
    with ctx.engine.begin() as conn:
        row = conn.execute(
            select(
                WS,
                A.c.username,
                A.c.role,
                A.c.organisation_id,
                A.c.display_name,
                A.c.work_id,
                A.c.disabled_us,
            )
            .join(A, A.c.id == WS.c.account_id)
            .where(WS.c.token_sha256 == _digest(token))
        ).first()
        if row is None:
            return None
        if (
            row.expires_us <= now
            or now - row.created_us >= ABSOLUTE_TIMEOUT_US
            or row.disabled_us is not None
        ):
            conn.execute(delete(WS).where(WS.c.token_sha256 == row.token_sha256))
            return None
        expires = min(now + IDLE_TIMEOUT_US, row.created_us + ABSOLUTE_TIMEOUT_US)
        if now - row.last_seen_us > 10 * 1_000_000:  # write at most every 10 s per session
            conn.execute(
                update(WS)
                .where(WS.c.token_sha256 == row.token_sha256)
                .values(last_seen_us=now, expires_us=expires)
            )
        else:
            expires = row.expires_us
    return Session(
        token=token,
        account_id=int(row.account_id),
        username=row.username,
        role=row.role,
        csrf_token=row.csrf_token,
        expires_us=expires,
        organisation_id=int(row.organisation_id),
        display_name=row.display_name,
        work_id=row.work_id,
    )


def end_sessions(conn: Connection, account_id: int, *, keep_token: str | None = None) -> int:
    """End an account's sessions (all, or all but one) inside the caller's transaction."""
    stmt = delete(WS).where(WS.c.account_id == account_id)
    if keep_token is not None:
        stmt = stmt.where(WS.c.token_sha256 != _digest(keep_token))
    return int(conn.execute(stmt).rowcount)


def logout(ctx: Context, token: str) -> None:
    with ctx.engine.begin() as conn:
        # the write first (takes SQLite's write lock before any read; see services/ledger.py)
        gone = conn.execute(
            delete(WS).where(WS.c.token_sha256 == _digest(token)).returning(WS.c.account_id)
        ).first()
        if gone is None:
            return
        username = conn.execute(select(A.c.username).where(A.c.id == gone.account_id)).scalar_one()
        ledger.record(
            conn,
            actor=ledger.account_actor(username),
            action=ledger.LOGOUT,
            object=f"account:{username}",
            details={"session": _session_ref(token)},
            time_us=ctx.clock(),
        )


def csrf_matches(session: Session, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(session.csrf_token, presented)
