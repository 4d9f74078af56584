"""throttled log-ins counted, not each recorded; the lockout columns the throttle replaced

Revision ID: 0008
Revises: 0007

- login_throttle.refused: attempts refused while the key waits out its delay. The ledger
  records the first refusal of a delay and then the 10th, 100th, 1000th … (with the count),
  so a stranger hammering the log-in cannot grow the ledger at request rate.
- accounts.failed_logins, accounts.locked_until_us: the per-account lockout of 0001, replaced
  by login_throttle in 0007 (written since, read by nothing). Dropped in place: on SQLite a
  batch copy of `accounts` would drop the table that sessions, grants and requests reference,
  which foreign keys refuse; SQLite older than 3.35 has no DROP COLUMN and keeps the two
  (they have defaults, nothing reads them).
"""

import sqlite3

import sqlalchemy as sa
from alembic import op

_NATIVE_DROP = sqlite3.sqlite_version_info >= (3, 35, 0)

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    with op.batch_alter_table("login_throttle", recreate="never") as batch:
        batch.add_column(sa.Column("refused", sa.Integer(), nullable=False, server_default="0"))
    if op.get_bind().dialect.name != "sqlite" or _NATIVE_DROP:
        with op.batch_alter_table("accounts", recreate="never") as batch:
            batch.drop_column("failed_logins")
            batch.drop_column("locked_until_us")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite" or _NATIVE_DROP:
        with op.batch_alter_table("accounts", recreate="never") as batch:
            batch.add_column(sa.Column("locked_until_us", sa.BigInteger(), nullable=True))
            batch.add_column(
                sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
            )
    with op.batch_alter_table("login_throttle", recreate="never") as batch:
        batch.drop_column("refused")
