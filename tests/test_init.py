from __future__ import annotations

import stat

from sqlalchemy import func, select

from custodes.adapters.db import schema
from custodes.paths import DataDir
from custodes.services.context import Context
from custodes.services.setup import JurisdictionRequired, initialise


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


def test_a_new_installation_must_name_its_jurisdiction(data_dir: DataDir) -> None:
    """No default: a Shenzhen unit initialised without one would keep 15 days, not 30."""
    try:
        initialise(data_dir)
    except JurisdictionRequired as exc:
        assert "shenzhen" in str(exc) and "jilin" in str(exc)
    else:
        raise AssertionError("a new installation without a jurisdiction must be refused")
    with initialise(data_dir, "shenzhen").context.engine.connect() as conn:  # then it works
        value = conn.execute(
            select(schema.settings.c.value).where(schema.settings.c.key == "jurisdiction")
        ).scalar_one()
    assert value == "shenzhen"


def test_cli_init_without_jurisdiction_fails_and_names_the_choices(data_dir: DataDir) -> None:
    from typer.testing import CliRunner

    from custodes.entrypoints.cli import app

    res = CliRunner().invoke(app, ["init", "--data", str(data_dir.root)])
    assert res.exit_code == 2, res.output
    assert "--jurisdiction" in res.output and "chongqing" in res.output
    res = CliRunner().invoke(
        app, ["init", "--data", str(data_dir.root), "--jurisdiction", "liaoning"]
    )
    assert res.exit_code == 0, res.output
    assert "liaoning" in res.output


def test_migrations_build_exactly_the_declared_schema(ctx: Context) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from custodes.adapters.db.schema import metadata

    with ctx.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
