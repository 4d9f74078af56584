"""evidence that holds: salvaged segments, stream facts per camera, access holds, alarm acks

Revision ID: 0006
Revises: 0005

- segments.salvaged: why a segment is less than ffmpeg closed (a crash or a full disk cut
  it; the readable part was sealed with its true duration), NULL for a whole segment;
- quarantine.segment_path: the archive path of the segment a quarantined tail was cut from;
- camera_state: the stream as last recorded (codec, size, audio) and the audio codec that
  cannot be stored without transcoding (decided once per camera, not at every start);
- holds.request_id: the access request an automatic hold keeps footage for;
- alarms.acknowledged_by / acknowledged_us: who has seen an alarm that no condition clears;
- an index on gaps.end_us: status reads the gaps open or ended in the last day.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_index("ix_gaps_end", "gaps", ["end_us"])
    op.add_column("segments", sa.Column("salvaged", sa.Text(), nullable=True))
    op.add_column("quarantine", sa.Column("segment_path", sa.Text(), nullable=True))
    with op.batch_alter_table("camera_state") as batch:
        batch.add_column(sa.Column("video_codec", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("width", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("height", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("audio_codec", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("audio_dropped", sa.String(length=32), nullable=True))
    with op.batch_alter_table("holds") as batch:
        batch.add_column(sa.Column("request_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_holds_request_id_access_requests"),
            "access_requests",
            ["request_id"],
            ["id"],
        )
        batch.create_index("ix_holds_request", ["request_id"])
    with op.batch_alter_table("alarms") as batch:
        batch.add_column(sa.Column("acknowledged_by", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("acknowledged_us", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alarms") as batch:
        batch.drop_column("acknowledged_us")
        batch.drop_column("acknowledged_by")
    with op.batch_alter_table("holds") as batch:
        batch.drop_index("ix_holds_request")
        batch.drop_constraint(op.f("fk_holds_request_id_access_requests"), type_="foreignkey")
        batch.drop_column("request_id")
    with op.batch_alter_table("camera_state") as batch:
        for column in ("audio_dropped", "audio_codec", "height", "width", "video_codec"):
            batch.drop_column(column)
    op.drop_column("quarantine", "segment_path")
    op.drop_column("segments", "salvaged")
    op.drop_index("ix_gaps_end", table_name="gaps")
