"""Engine creation: SQLite in WAL mode by default, PostgreSQL through psycopg 3."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url


def make_engine(url: str, *, schema: str | None = None) -> Engine:
    """An engine for `url`. `schema` sets PostgreSQL's search_path (tests use one each)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {}
    if schema:
        connect_args["options"] = f"-csearch_path={schema}"
    return create_engine(url, connect_args=connect_args, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a committed index row survives power loss, not only a process crash.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def write_first(conn: Connection) -> None:
    """Make a transaction that reads before it writes take SQLite's write lock first.

    A deferred SQLite transaction that reads and then writes must upgrade its lock; if another
    connection wrote meanwhile the upgrade fails at once (SQLITE_BUSY, no waiting). A write
    statement first — one that changes nothing — takes the lock up front, waiting its turn
    under busy_timeout. PostgreSQL needs nothing: rows are locked as they are written.
    """
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("UPDATE settings SET value = value WHERE 0")
