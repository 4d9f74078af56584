"""Shared fixtures: a database on SQLite and on PostgreSQL, a data directory, media helpers."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from custodes.adapters.archive import IMMUTABLE_ENV
from custodes.adapters.db.engine import make_engine
from custodes.adapters.db.migrate import upgrade
from custodes.paths import DATABASE_URL_ENV, DataDir
from custodes.services import passwords, setup
from custodes.services.context import Context
from custodes.services.setup import initialise

from .grant_setup import TEST_HASHER

PG_ADMIN_URL = os.environ.get(
    "CUSTODES_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("CUSTODES_REQUIRE_POSTGRES") == "1"
# Sealed files are made immutable (chattr +i) where the process may; test data directories
# must stay removable, so tests opt in explicitly (tests/test_protection.py).
os.environ[IMMUTABLE_ENV] = "off"
# The command line speaks its locale's language, chosen once when it is imported: in this
# process (CliRunner) English, whatever the machine's locale; tests of Chinese start their
# own processes (tests/test_cli_language.py).
os.environ["CUSTODES_LANG"] = "en"


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return str(exc).splitlines()[0]


_PG_PROBLEM = _pg_available()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database; PostgreSQL gets a schema of its own, dropped after."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'custodes.db'}"
        return
    if _PG_PROBLEM is not None:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL required (CUSTODES_REQUIRE_POSTGRES=1): {_PG_PROBLEM}")
        pytest.skip(f"NOTICE: PostgreSQL not reachable, its variant skipped: {_PG_PROBLEM}")
    schema = "t_" + secrets.token_hex(6)
    admin = create_engine(PG_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def data_dir(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> DataDir:
    monkeypatch.setenv(DATABASE_URL_ENV, database_url)
    return DataDir(tmp_path / "data")


# Argon2 at argon2-cffi's defaults costs ~150 ms a hash or check here, and every installation
# hashes its admin's password: a thousand tests spent minutes on it. A test that is not about
# hashing gets the cheap parameters of tests/grant_setup.py for every password it makes (the
# admin's at init, hash_password, the equal-cost dummy of unknown names; a check costs what
# the stored hash's parameters say). `@pytest.mark.real_argon2` keeps the product's.
_CHEAP_DUMMY_HASH = TEST_HASHER.hash(secrets.token_urlsafe(16))


@pytest.fixture(autouse=True)
def _cheap_argon2(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("real_argon2") is not None:
        return
    monkeypatch.setattr(passwords, "_hasher", TEST_HASHER)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", _CHEAP_DUMMY_HASH)
    monkeypatch.setattr(setup, "PasswordHasher", lambda: TEST_HASHER)


# The migrations, run once per database kind and session: each `ctx` starts from a copy of
# the migrated database (~0.2 s of Alembic each, a thousand times) and `initialise` then
# finds it at head. SQLite: the migrated file, copied. PostgreSQL: every statement the
# migrations sent (DDL, the seeded rows, the sequence set), replayed as sent into the test's
# own schema: pg_dump of a replayed schema is that of a migrated one, byte for byte.
# Tests of initialising and migrating (tests/test_init.py) start from empty databases.
Statement = tuple[str, Any, bool]  # statement, parameters, executemany


@pytest.fixture(scope="session")
def _sqlite_migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("migrated") / "custodes.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    assert not path.with_name(path.name + "-wal").exists()  # all in the file itself
    return path


@pytest.fixture(scope="session")
def _pg_migration() -> Iterator[list[Statement]]:
    schema = "t_" + secrets.token_hex(6)
    admin = create_engine(PG_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}")
    sent: list[Statement] = []
    try:
        with engine.connect():
            pass  # the dialect's own first queries, before listening
        event.listen(
            engine,
            "before_cursor_execute",
            lambda _c, _cur, statement, params, _ctx, many: sent.append((statement, params, many)),
        )
        upgrade(engine)
        yield sent
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _migrate_from_template(request: pytest.FixtureRequest, url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        target = Path(str(parsed.database))
        if not target.exists():
            shutil.copyfile(request.getfixturevalue("_sqlite_migrated"), target)
            target.chmod(0o600)  # as SQLite makes it under the data directory's umask
        return
    statements: list[Statement] = request.getfixturevalue("_pg_migration")
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for statement, params, many in statements:
            (cur.executemany if many else cur.execute)(statement, params)
        raw.commit()
    finally:
        raw.close()
        engine.dispose()


@pytest.fixture
def ctx(request: pytest.FixtureRequest, data_dir: DataDir) -> Iterator[Context]:
    _migrate_from_template(request, data_dir.database_url())
    context = initialise(data_dir, "jilin").context
    yield context
    context.engine.dispose()


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulated cameras' clips, for the whole session: ensure_clip encodes each clip
    (its name, codec, size and every other parameter are in its file name) once, and the
    simulators only read them."""
    return tmp_path_factory.mktemp("clips")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# The browser tests' fixtures (tests/browser_env.py), here so that pytest finds them by name;
# last, because that module uses what this one defines.
from .browser_env import browser, page, server, view_grants  # noqa: E402, F401 (fixtures, by name)
