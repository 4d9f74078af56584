"""an export job its asker has dismissed (issue 12, the export manager)

Revision ID: 0013
Revises: 0012

- export_jobs.dismissed_us: when the account that asked for an ended job (done or failed)
  put it out of its list; null while it is listed. The row stays: what was asked, and how it
  ended, is kept.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    with op.batch_alter_table("export_jobs", recreate="never") as batch:
        batch.add_column(sa.Column("dismissed_us", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("export_jobs", recreate="never") as batch:
        batch.drop_column("dismissed_us")
