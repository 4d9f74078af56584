from __future__ import annotations

import stat

from sqlalchemy import func, select

from custodes.adapters.db import schema
from custodes.paths import DataDir
from custodes.services.context import Context
from custodes.services.setup import initialise


def test_init_creates_everything_once(data_dir: DataDir) -> None:
    first = initialise(data_dir, "shenzhen")
    assert first.admin_password
    assert first.jurisdiction == "shenzhen"
    mode = stat.S_IMODE(data_dir.signing_key.stat().st_mode)
    assert mode == 0o600
    key_before = data_dir.signing_key.read_bytes()
    second = initialise(data_dir)
    assert second.admin_password is None
    assert second.jurisdiction == "shenzhen"
    assert data_dir.signing_key.read_bytes() == key_before
    with second.context.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.accounts)).scalar() == 1
        stored = conn.execute(select(schema.accounts.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert first.admin_password not in stored
    first.context.engine.dispose()
    second.context.engine.dispose()


def test_init_refuses_to_switch_jurisdiction(data_dir: DataDir) -> None:
    initialise(data_dir, "jilin").context.engine.dispose()
    try:
        initialise(data_dir, "liaoning")
    except ValueError as exc:
        assert "jilin" in str(exc)
    else:
        raise AssertionError("switching jurisdiction by re-init must be refused")


def test_migrations_build_exactly_the_declared_schema(ctx: Context) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from custodes.adapters.db.schema import metadata

    with ctx.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
