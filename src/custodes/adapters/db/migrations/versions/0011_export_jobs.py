"""export jobs: exports made in the background by the web server's worker (issue 12)

Revision ID: 0011
Revises: 0010

- export_jobs: one export asked for (grant, camera, range, watermark, who asked), its state
  (queued, running, done, failed), its measured progress (work done of the work in all), its
  times, the export it made, or why it failed as a msgid and its parameters (JSON), so that
  each reader is told in their own language (docs/EXPORTS.md, "Export jobs").
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.create_table(
        "export_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("start_us", sa.BigInteger(), nullable=False),
        sa.Column("end_us", sa.BigInteger(), nullable=False),
        sa.Column("watermark", sa.Boolean(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("progress_done", sa.BigInteger(), nullable=False),
        sa.Column("progress_total", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("started_us", sa.BigInteger(), nullable=True),
        sa.Column("finished_us", sa.BigInteger(), nullable=True),
        sa.Column("export_id", sa.String(length=32), nullable=True),
        sa.Column("error_msgid", sa.Text(), nullable=True),
        sa.Column("error_params", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_export_jobs_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_export_jobs_camera_id_cameras")
        ),
        sa.ForeignKeyConstraint(
            ["export_id"], ["exports.id"], name=op.f("fk_export_jobs_export_id_exports")
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["grants.id"], name=op.f("fk_export_jobs_grant_id_grants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_jobs")),
    )
    op.create_index("ix_export_jobs_state", "export_jobs", ["state", "id"])
    op.create_index("ix_export_jobs_account", "export_jobs", ["account_id", "created_us"])


def downgrade() -> None:
    op.drop_index("ix_export_jobs_account", table_name="export_jobs")
    op.drop_index("ix_export_jobs_state", table_name="export_jobs")
    op.drop_table("export_jobs")
