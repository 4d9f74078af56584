"""integrity: segment chain links, checkpoints, signing keys, ledger, holds, pruning, alarms

Revision ID: 0004
Revises: 0003

Existing segments get their chain links computed here, camera by camera in seq order.
SQLite triggers make the ledger and the checkpoints append-only; on PostgreSQL the same
triggers exist and the application role is granted no UPDATE or DELETE on them
(adapters/db/grants.py).
"""

import sqlalchemy as sa
from alembic import op

from custodes.domain.chain import GENESIS, segment_link

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.add_column("segments", sa.Column("link", sa.String(length=64), nullable=True))
    _backfill_links()
    with op.batch_alter_table("segments") as batch:
        batch.alter_column("link", existing_type=sa.String(length=64), nullable=False)
    op.add_column("cameras", sa.Column("retention_days", sa.Integer(), nullable=True))
    op.add_column(
        "cameras",
        sa.Column("key_target", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "signing_keys",
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("retired_us", sa.BigInteger(), nullable=True),
        sa.Column("endorsed_by", sa.String(length=16), nullable=True),
        sa.Column("endorsement", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_signing_keys")),
    )
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("link", sa.String(length=64), nullable=False),
        sa.Column("time_us", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_checkpoints_camera_id_cameras")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkpoints")),
        sa.UniqueConstraint("camera_id", "seq", name=op.f("uq_checkpoints_camera_id_seq")),
    )
    op.create_table(
        "pruned_ranges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("start_us", sa.BigInteger(), nullable=False),
        sa.Column("end_us", sa.BigInteger(), nullable=False),
        sa.Column("segments", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("ledger_seq", sa.BigInteger(), nullable=True),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_pruned_ranges_camera_id_cameras")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pruned_ranges")),
    )
    op.create_index("ix_pruned_ranges_camera_seq", "pruned_ranges", ["camera_id", "first_seq"])
    op.create_table(
        "holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("start_us", sa.BigInteger(), nullable=False),
        sa.Column("end_us", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("until_us", sa.BigInteger(), nullable=True),
        sa.Column("release_requested_by", sa.String(length=64), nullable=True),
        sa.Column("release_requested_us", sa.BigInteger(), nullable=True),
        sa.Column("released_by", sa.String(length=64), nullable=True),
        sa.Column("released_us", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_holds_camera_id_cameras")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
    )
    op.create_index("ix_holds_camera", "holds", ["camera_id", "start_us"])
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("raised_us", sa.BigInteger(), nullable=False),
        sa.Column("cleared_us", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_alarms_camera_id_cameras")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarms")),
    )
    op.create_index("ix_alarms_open", "alarms", ["cleared_us"])
    op.create_table(
        "ledger",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("time_us", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object", sa.String(length=256), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ledger")),
    )
    op.create_index("ix_ledger_time", "ledger", ["time_us"])
    op.create_index("ix_ledger_action_time", "ledger", ["action", "time_us"])
    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_head")),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("time_us", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ledger_checkpoints")),
    )
    _append_only_triggers()


def _backfill_links() -> None:
    conn = op.get_bind()
    seg = sa.table(
        "segments",
        sa.column("id", sa.BigInteger()),
        sa.column("camera_id", sa.Integer()),
        sa.column("seq", sa.BigInteger()),
        sa.column("start_us", sa.BigInteger()),
        sa.column("end_us", sa.BigInteger()),
        sa.column("bytes", sa.BigInteger()),
        sa.column("sha256", sa.String()),
        sa.column("link", sa.String()),
    )
    cameras = [r[0] for r in conn.execute(sa.select(seg.c.camera_id).distinct())]
    for camera in cameras:
        prev = GENESIS
        rows = conn.execute(
            sa.select(seg.c.id, seg.c.seq, seg.c.start_us, seg.c.end_us, seg.c.bytes, seg.c.sha256)
            .where(seg.c.camera_id == camera)
            .order_by(seg.c.seq)
        ).all()
        for r in rows:
            prev = segment_link(prev, camera, r.seq, r.start_us, r.end_us, r.bytes, r.sha256)
            conn.execute(sa.update(seg).where(seg.c.id == r.id).values(link=prev.hex()))


def _append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    for table in ("ledger", "ledger_checkpoints", "checkpoints"):
        if dialect == "sqlite":
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        elif dialect == "postgresql":
            op.execute(
                f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN RAISE EXCEPTION '{table} is append-only'; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"
            )


def downgrade() -> None:
    raise NotImplementedError("the integrity records are never dropped")
