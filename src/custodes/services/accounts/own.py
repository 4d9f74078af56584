"""One's own credentials: the password (with the old one) and the TOTP second factor (with the
password; it takes effect once a first code from the new secret is confirmed). Every check of
the password here is throttled like a log-in (services/auth.py `check_password`)."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.fernet import InvalidToken
from sqlalchemy import update

from custodes.services import auth, ledger
from custodes.services.accounts.base import (
    A,
    AccountView,
    Actor,
    Invalid,
    WrongPassword,
    changed,
    check_password_rules,
    locked_row,
    view,
)
from custodes.services.context import Context

ENROLMENT_TTL_US = 10 * 60 * 1_000_000  # a begun TOTP enrolment must be confirmed within
_ENROL_LABEL = "totp-enrolment"


@dataclass(frozen=True)
class TotpEnrolment:
    """Shown once: the secret (and its otpauth:// URI for a QR code), and the sealed token
    that `confirm_totp` takes back with the first code."""

    secret: str
    uri: str
    enrolment: str
    expires_us: int


def change_own_password(
    ctx: Context, session: auth.Session, old_password: str, new_password: str
) -> None:
    """The account's own password, given the old one; its other sessions end. Who made the
    account (`credential_by`) is kept: they may be the one changing it (docs/DUTIES.md)."""
    check_password_rules(new_password, session.username, "new_password")
    if not auth.check_password(ctx, session.account_id, old_password):
        raise WrongPassword("old_password", "wrong password")
    password_hash = auth.hash_password(new_password)
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        row = locked_row(conn, session.account_id)
        conn.execute(
            update(A)
            .where(A.c.id == row.id)
            .values(password_hash=password_hash, password_one_time=False)
        )
        ended = auth.end_sessions(conn, row.id, keep_token=session.token)
        changed(
            conn, Actor.of(session).name, row, now, change="password-changed", sessions_ended=ended
        )


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
        row = locked_row(conn, session.account_id)
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
        return view(conn, row.id, now)
