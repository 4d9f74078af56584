"""Logging in and out: Argon2id password check, server-side sessions with expiry.

Every log-in, failed log-in and log-out is a ledger entry, written in the same transaction as
the session change. A failed attempt records the user name tried (never the password), and
costs one ledger write whether or not the account exists, like the Argon2 check.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select, update

from custodes.adapters.db import schema
from custodes.services import ledger
from custodes.services.context import Context

A = schema.accounts
WS = schema.web_sessions
IDLE_TIMEOUT_US = 30 * 60 * 1_000_000  # 30 minutes without a request ends a session
ABSOLUTE_TIMEOUT_US = 12 * 3600 * 1_000_000  # and no session outlives a 12-hour shift
UNAUTHENTICATED = "unauthenticated"  # the ledger actor of a failed log-in
_hasher = PasswordHasher()
# Verified against when the user does not exist, so both paths cost one Argon2 check.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Session:
    token: str  # only ever in the cookie; the database holds its SHA-256
    account_id: int
    username: str
    role: str
    csrf_token: str
    expires_us: int


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login(ctx: Context, username: str, password: str, *, now: int | None = None) -> Session | None:
    """A new session, or None for a wrong user or password (indistinguishable to the caller)."""
    now = now or ctx.clock()
    with ctx.engine.connect() as conn:
        row = conn.execute(
            select(A.c.id, A.c.username, A.c.role, A.c.password_hash).where(
                A.c.username == username
            )
        ).first()
    try:
        _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        _record_failure(ctx, username, now, known=row is not None)
        return None
    if row is None:
        _record_failure(ctx, username, now, known=False)
        return None
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = now + IDLE_TIMEOUT_US
    with ctx.engine.begin() as conn:
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
        ledger.record(
            conn,
            actor=ledger.account_actor(row.username),
            action=ledger.LOGIN,
            object=f"account:{row.username}",
            details={"role": row.role, "session": _session_ref(token)},
            time_us=now,
        )
    return Session(token, int(row.id), row.username, row.role, csrf, expires)


def _record_failure(ctx: Context, username: str, now: int, *, known: bool) -> None:
    # Not authenticated: the actor is nobody; the name tried is the object (clipped to fit).
    ledger.record_now(
        ctx,
        actor=UNAUTHENTICATED,
        action=ledger.LOGIN_FAILED,
        object=f"account:{username[: ledger.OBJECT_MAX - 8]}",
        details={"username": username[:256], "account_exists": known},
        time_us=now,
    )


def _session_ref(token: str) -> str:
    """A session's name in the ledger: a prefix of the stored digest (it cannot log anyone in,
    and ties a log-out to its log-in)."""
    return _digest(token)[:16]


def resume(ctx: Context, token: str, *, now: int | None = None) -> Session | None:
    """The live session behind a cookie token; slides its idle expiry forward."""
    now = now or ctx.clock()
    with ctx.engine.begin() as conn:
        row = conn.execute(
            select(WS, A.c.username, A.c.role)
            .join(A, A.c.id == WS.c.account_id)
            .where(WS.c.token_sha256 == _digest(token))
        ).first()
        if row is None:
            return None
        if row.expires_us <= now or now - row.created_us >= ABSOLUTE_TIMEOUT_US:
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
    return Session(token, int(row.account_id), row.username, row.role, row.csrf_token, expires)


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
