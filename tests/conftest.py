"""Shared fixtures: a database on SQLite and on PostgreSQL, a data directory, media helpers."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from custodes.adapters.archive import IMMUTABLE_ENV
from custodes.paths import DATABASE_URL_ENV, DataDir
from custodes.services.context import Context
from custodes.services.setup import initialise

PG_ADMIN_URL = os.environ.get(
    "CUSTODES_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("CUSTODES_REQUIRE_POSTGRES") == "1"
# Sealed files are made immutable (chattr +i) where the process may; test data directories
# must stay removable, so tests opt in explicitly (tests/test_protection.py).
os.environ[IMMUTABLE_ENV] = "off"


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


@pytest.fixture
def ctx(data_dir: DataDir) -> Iterator[Context]:
    context = initialise(data_dir, "jilin").context
    yield context
    context.engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
