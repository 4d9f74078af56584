"""what an alarm says, as data (issue 12, "One language at a time")

Revision ID: 0012
Revises: 0011

- alarms.message_key: the alarm's message as a key of domain/alarm_wording.py `MESSAGES`
  (null for the rows raised before: they show their stored English `message`);
- alarms.message_params: its parameters, a JSON object of strings.

The English `message` stays, rendered from the same catalogue at raise time: for the rows
before this one, the logs and the ledger.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    with op.batch_alter_table("alarms", recreate="never") as batch:
        batch.add_column(sa.Column("message_key", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("message_params", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alarms", recreate="never") as batch:
        batch.drop_column("message_params")
        batch.drop_column("message_key")
