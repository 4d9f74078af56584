"""Log-in throttling: attempts counted atomically before any password is checked.

Each attempt names three keys: its source and user name together ("pair"), its source
("source": one address spraying many names) and the user name ("name": many addresses after
one account). Before the Argon2 check, one transaction counts the attempt as a failure on
every key, with a conditional UPDATE that matches only a key not waiting out a delay; if any
key is waiting, the transaction rolls back, nothing is counted and nothing is hashed (the
caller answers 429 with Retry-After). So N parallel guesses are N increments of one row,
serialised by the database (a row lock on PostgreSQL, the write lock on SQLite), and no more
than a key's free attempts are ever checked in a burst.

Past its free attempts a key waits, progressively: 1 s, 2 s, 4 s … up to its cap. A success
clears the pair and the name (the source only gives back the one attempt). Failures older
than `WINDOW_US` are forgotten.

Nobody is locked out for long by a stranger: the pair and the source only slow the
stranger's own address; the name key, the one every address shares, is capped at a minute.

A refused attempt costs one small UPDATE (`refused` + 1 on the key that refused it) and no
ledger entry, except the 1st, 10th, 100th … refusal of a key since it was last admitted
(`Throttled.noted`), which the caller records with the count: a stranger sending thousands
of log-ins a second grows the ledger by a few entries, not by thousands.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from custodes.adapters.db import schema
from custodes.adapters.db.engine import write_first
from custodes.services.context import Context

T = schema.login_throttle
SECOND_US = 1_000_000
WINDOW_US = 3600 * SECOND_US  # failures older than an hour are forgotten
BASE_DELAY_US = SECOND_US
KEY_MAX = 400  # the column


@dataclass(frozen=True)
class Limit:
    kind: str
    free: int  # attempts before the first delay
    cap_us: int  # the longest delay


PAIR = Limit("pair", 5, 15 * 60 * SECOND_US)
SOURCE = Limit("source", 30, 15 * 60 * SECOND_US)
NAME = Limit("name", 20, 60 * SECOND_US)
LIMITS = (PAIR, SOURCE, NAME)


class Throttled(Exception):
    """A key is waiting out its delay: nothing was counted or checked. `refused`: how many
    attempts this key has refused since it last admitted one (this one included)."""

    def __init__(self, kind: str, retry_after_us: int, refused: int = 1) -> None:
        super().__init__(f"{kind} throttled")
        self.kind = kind
        self.retry_after_us = retry_after_us
        self.refused = refused

    @property
    def noted(self) -> bool:
        """Whether this refusal goes into the ledger: the 1st, 10th, 100th … of its key."""
        return is_power_of_ten(self.refused)

    @property
    def retry_after_s(self) -> int:
        return max(1, -(-self.retry_after_us // SECOND_US))


def is_power_of_ten(n: int) -> bool:
    while n >= 10 and n % 10 == 0:
        n //= 10
    return n == 1


class _Blocked(Exception):
    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key


def keys(source: str, username: str) -> list[tuple[str, Limit]]:
    return [
        (f"pair:{source} {username}"[:KEY_MAX], PAIR),
        (f"source:{source}"[:KEY_MAX], SOURCE),
        (f"name:{username}"[:KEY_MAX], NAME),
    ]


def delay_us(failures: int, limit: Limit) -> int:
    """How long a key waits after its `failures`-th failure (0 within the free attempts)."""
    if failures < limit.free:
        return 0
    return min(BASE_DELAY_US << min(failures - limit.free, 40), limit.cap_us)


def _ensure(conn: Connection, key: str, now: int) -> None:
    values = {"key": key, "failures": 0, "blocked_until_us": None, "updated_us": now}
    if conn.dialect.name == "postgresql":
        conn.execute(postgresql.insert(T).values(**values).on_conflict_do_nothing())
    else:
        conn.execute(sqlite.insert(T).values(**values).on_conflict_do_nothing())


def admit(ctx: Context, source: str, username: str, now: int) -> None:
    """Count one attempt as a failure on every key, or raise `Throttled` (nothing counted)."""
    try:
        with ctx.engine.begin() as conn:
            write_first(conn)
            for key, limit in keys(source, username):
                _ensure(conn, key, now)
                count = case((T.c.updated_us < now - WINDOW_US, 1), else_=T.c.failures + 1)
                steps = [
                    (count == n, now + delay_us(n, limit))
                    for n in range(limit.free, limit.free + 41)
                    if delay_us(n, limit) < limit.cap_us
                ]
                until = case((count < limit.free, None), *steps, else_=now + limit.cap_us)
                done = conn.execute(
                    update(T)
                    .where(
                        T.c.key == key,
                        or_(T.c.blocked_until_us.is_(None), T.c.blocked_until_us <= now),
                    )
                    .values(failures=count, blocked_until_us=until, updated_us=now, refused=0)
                ).rowcount
                if done != 1:
                    raise _Blocked(limit.kind, key)
    except _Blocked as blocked:
        with ctx.engine.begin() as conn:
            refused = conn.execute(
                update(T)
                .where(T.c.key == blocked.key)
                .values(refused=T.c.refused + 1)
                .returning(T.c.refused)
            ).scalar_one_or_none()
            waits = conn.execute(
                select(T.c.blocked_until_us).where(
                    T.c.key.in_([k for k, _ in keys(source, username)])
                )
            ).scalars()
            longest = max((w for w in waits if w is not None), default=now + SECOND_US)
        raise Throttled(blocked.kind, max(longest - now, SECOND_US), refused or 1) from None


def succeeded(conn: Connection, source: str, username: str, now: int) -> None:
    """A right password (and code): the pair and the name start again; the source gets its
    one attempt back. Forgotten keys are removed."""
    pair, src, name = (k for k, _ in keys(source, username))
    conn.execute(
        update(T)
        .where(T.c.key.in_([pair, name]))
        .values(failures=0, blocked_until_us=None, updated_us=now)
    )
    conn.execute(
        update(T)
        .where(T.c.key == src, T.c.failures > 0)
        .values(failures=T.c.failures - 1, updated_us=now)
    )
    conn.execute(
        delete(T).where(
            T.c.updated_us < now - WINDOW_US,
            or_(T.c.blocked_until_us.is_(None), T.c.blocked_until_us <= now),
        )
    )


def lift(conn: Connection, username: str) -> bool:
    """Lift every delay on a user name (an administrator's `enable`); whether one was on."""
    name = f"name:{username}"[:KEY_MAX]
    pairs = T.c.key.like(f"pair:% {_escape(username)}", escape="\\")
    rows = conn.execute(
        delete(T).where(or_(T.c.key == name, pairs)).returning(T.c.blocked_until_us)
    ).scalars()
    return any(r is not None for r in rows)


def blocked_until(conn: Connection, username: str, now: int) -> int | None:
    """Until when the user name waits on its shared key (None: it does not)."""
    until = conn.execute(
        select(T.c.blocked_until_us).where(T.c.key == f"name:{username}"[:KEY_MAX])
    ).scalar_one_or_none()
    return until if until is not None and until > now else None


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
