"""separation of duties and log-in throttling (issue 11, docs/DUTIES.md)

Revision ID: 0007
Revises: 0006

- accounts.credential_by: who created the account or last reset its password (a ledger
  actor; NULL for accounts made before, and by the installation);
- accounts.password_one_time: a password someone else chose, good for one log-in that
  replaces it;
- account_changes: changes waiting for a second privileged person;
- login_throttle: failed log-ins counted before the password is checked, per source, per
  source and user name, per user name.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("credential_by", sa.String(length=128), nullable=True))
        batch.add_column(
            sa.Column("password_one_time", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "account_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("proposed_by", sa.String(length=128), nullable=False),
        sa.Column("proposed_by_account", sa.Integer(), nullable=True),
        sa.Column("proposed_us", sa.BigInteger(), nullable=False),
        sa.Column("expires_us", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_us", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_changes_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_account"],
            ["accounts.id"],
            name=op.f("fk_account_changes_proposed_by_account_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_changes")),
    )
    op.create_index(
        "ix_account_changes_state", "account_changes", ["state", "proposed_us"], unique=False
    )
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until_us", sa.BigInteger(), nullable=True),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    op.create_index("ix_login_throttle_updated", "login_throttle", ["updated_us"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_login_throttle_updated", table_name="login_throttle")
    op.drop_table("login_throttle")
    op.drop_index("ix_account_changes_state", table_name="account_changes")
    op.drop_table("account_changes")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("password_one_time")
        batch.drop_column("credential_by")
