"""spans: runs of contiguous segments, maintained at sealing time

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

JOIN_US = 1_000_000  # must equal custodes.domain.spans.JOIN_TOLERANCE_US at this revision


def upgrade() -> None:
    spans = op.create_table(
        "spans",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("start_us", sa.BigInteger(), nullable=False),
        sa.Column("end_us", sa.BigInteger(), nullable=False),
        sa.Column("segments", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_spans_camera_id_cameras")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spans")),
    )
    op.create_index("ix_spans_camera_end", "spans", ["camera_id", "end_us"], unique=False)
    # Backfill from segments recorded before this revision.
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT camera_id, start_us, end_us, bytes FROM segments ORDER BY camera_id, seq")
    )
    current: dict[str, int] | None = None
    out: list[dict[str, int]] = []
    for cam, start, end, size in rows:
        if current and current["camera_id"] == cam and start - current["end_us"] <= JOIN_US:
            current["end_us"] = max(current["end_us"], end)
            current["segments"] += 1
            current["bytes"] += size
            continue
        current = {"camera_id": cam, "start_us": start, "end_us": end, "segments": 1, "bytes": size}
        out.append(current)
    if out:
        op.bulk_insert(spans, out)


def downgrade() -> None:
    op.drop_index("ix_spans_camera_end", table_name="spans")
    op.drop_table("spans")
