"""bookmarks on a camera's timeline (issue 12, "The operator's console")

Revision ID: 0009
Revises: 0008

- bookmarks: a note at an instant of a camera's recorded time, by an account (its user name
  kept as it was when the bookmark was made); looked up by camera and time (the timeline)
  and by time alone (the /bookmarks list).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "bookmarks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("author_account_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_bookmarks_camera_id_cameras")
        ),
        sa.ForeignKeyConstraint(
            ["author_account_id"],
            ["accounts.id"],
            name=op.f("fk_bookmarks_author_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookmarks")),
    )
    op.create_index("ix_bookmarks_camera_at", "bookmarks", ["camera_id", "at_us"], unique=False)
    op.create_index("ix_bookmarks_at", "bookmarks", ["at_us"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_bookmarks_at", table_name="bookmarks")
    op.drop_index("ix_bookmarks_camera_at", table_name="bookmarks")
    op.drop_table("bookmarks")
