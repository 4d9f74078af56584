from __future__ import annotations

import stat

import pytest
from sqlalchemy import func, select

from custodes.adapters.db import schema
from custodes.paths import DataDir
from custodes.services.context import Context
from custodes.services.setup import JurisdictionRequired, initialise


@pytest.mark.real_argon2  # the admin's stored hash is the product's own
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


def test_0008_upgrades_a_database_with_accounts_in_use(database_url: str) -> None:
    """An installation of 0007 with an account that sessions and changes reference: dropping
    the old lockout columns must keep every row (a batch copy of `accounts` on SQLite was
    refused by the foreign keys pointing at it)."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from custodes.adapters.db.engine import make_engine
    from custodes.adapters.db.migrate import MIGRATIONS, upgrade

    engine = make_engine(database_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO accounts (username, password_hash, role, created_us, "
                "organisation_id, failed_logins, locked_until_us) "
                "VALUES ('bob', 'h', 'security_manager', 1, 1, 3, 5)"
            )
        )
        bob = conn.execute(text("SELECT id FROM accounts WHERE username = 'bob'")).scalar()
        conn.execute(
            text(
                "INSERT INTO web_sessions (token_sha256, account_id, csrf_token, created_us, "
                "last_seen_us, expires_us) VALUES ('t', :a, 'c', 1, 1, 2)"
            ),
            {"a": bob},
        )
        conn.execute(
            text("INSERT INTO login_throttle (key, failures, updated_us) VALUES ('name:bob', 4, 1)")
        )
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(select(schema.accounts.c.username, schema.accounts.c.role)).all() == [
            ("bob", "security_manager")
        ]
        assert conn.execute(select(schema.web_sessions.c.account_id)).scalars().all() == [bob]
        throttle = schema.login_throttle
        assert conn.execute(select(throttle.c.failures, throttle.c.refused)).all() == [(4, 0)]
        if engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
    engine.dispose()


def test_the_generated_admin_password_works_once(data_dir: DataDir) -> None:
    """Whoever ran init (an integrator, say) knows it; the administrator's own replaces it at
    the first log-in, as for every password someone else chose (issue 11 §1)."""
    import pytest

    from custodes.services import auth

    result = initialise(data_dir, "jilin")
    ctx, password = result.context, result.admin_password
    assert password is not None
    with pytest.raises(auth.PasswordChangeRequired):
        auth.login(ctx, "admin", password)
    own = "a passphrase of her own choosing"
    assert auth.login(ctx, "admin", password, new_password=own) is not None
    assert auth.login(ctx, "admin", password) is None  # spent
    assert auth.login(ctx, "admin", own) is not None
    ctx.engine.dispose()
