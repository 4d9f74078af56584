"""Passwords: the rules a new one must meet, and Argon2id hashing in a bounded pool.

Each Argon2 check or hash takes 64 MiB for ~100 ms (argon2-cffi's defaults), in the process
that also records: 40 log-ins at once once took it to 2.9 GB. At most `HASH_SLOTS` run at once;
a caller waits up to `HASH_WAIT_S` for a slot and is then told to come back (`Busy`, HTTP 503
with Retry-After), so the memory they can take is bounded whatever arrives.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

PASSWORD_MIN, PASSWORD_MAX = 12, 1024
HASH_SLOTS = 4  # Argon2 computations at once: 4 × 64 MiB at most
HASH_WAIT_S = 5.0  # how long a caller waits for a slot before `Busy`
RETRY_AFTER_S = 1

_hasher = PasswordHasher()
_slots = threading.BoundedSemaphore(HASH_SLOTS)
# Verified against when the user does not exist, so both paths cost one Argon2 check.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class Busy(Exception):
    """Every hashing slot stayed taken for `HASH_WAIT_S`: try again shortly."""

    retry_after_s = RETRY_AFTER_S


class PasswordRuleError(ValueError):
    """A new password breaks a rule; `field` names the input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@contextmanager
def hashing_slot(wait_s: float | None = None) -> Iterator[None]:
    """Hold one of the `HASH_SLOTS` while hashing; `Busy` after waiting `wait_s`."""
    if not _slots.acquire(timeout=HASH_WAIT_S if wait_s is None else wait_s):
        raise Busy("too many log-ins at once: try again in a moment")
    try:
        yield
    finally:
        _slots.release()


def hash_password(password: str) -> str:
    with hashing_slot():
        return _hasher.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    """One Argon2 check (against a dummy hash when there is none: equal cost)."""
    with hashing_slot():
        try:
            return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False


def check_password_rules(password: str, username: str, field: str = "password") -> None:
    if len(password) < PASSWORD_MIN:
        raise PasswordRuleError(field, f"at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise PasswordRuleError(field, f"at most {PASSWORD_MAX} characters")
    if not password.strip():
        raise PasswordRuleError(field, "not only spaces")
    if username.casefold() in password.casefold():
        raise PasswordRuleError(field, "must not contain the user name")


def generate_password(username: str) -> str:
    while True:  # 16 characters, ~96 bits; the loop only guards the user-name rule
        password = secrets.token_urlsafe(12)
        if username.casefold() not in password.casefold():
            return password
