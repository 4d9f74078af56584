"""sites and camera groups as data, and saved live views (issue 12, the operator's console)

Revision ID: 0010
Revises: 0009

- sites, camera_groups: named by the people who configure cameras; a group may lie within a
  site;
- camera_sites (one site per camera at most), camera_group_members (any number of groups);
- saved_views: a live grid (layout, a camera or none per slot) saved under a name by one
  account.

The sites named in cameras.site so far (free text) become sites, and their cameras are placed
at them, so that the live page's tree looks as it did before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("name", name=op.f("uq_sites_name")),
    )
    op.create_table(
        "camera_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_camera_groups_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_camera_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_camera_groups_name")),
    )
    op.create_table(
        "camera_sites",
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_camera_sites_camera_id_cameras")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_camera_sites_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("camera_id", name=op.f("pk_camera_sites")),
    )
    op.create_table(
        "camera_group_members",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_camera_group_members_camera_id_cameras")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["camera_groups.id"],
            name=op.f("fk_camera_group_members_group_id_camera_groups"),
        ),
        sa.PrimaryKeyConstraint("group_id", "camera_id", name=op.f("pk_camera_group_members")),
    )
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("layout", sa.Integer(), nullable=False),
        sa.Column("slots", sa.Text(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_saved_views_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_saved_views_account_id_name")),
    )
    _sites_from_labels()


def _sites_from_labels() -> None:
    """A site per distinct cameras.site label (cut to the new column's 64 characters), its
    cameras placed there; the labels are kept as they were."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT id, site FROM cameras WHERE site IS NOT NULL AND site <> ''")
    ).all()
    made: dict[str, int] = {}
    for camera_id, label in rows:
        name = str(label).strip()[:64]
        if not name:
            continue
        if name not in made:
            conn.execute(
                sa.text("INSERT INTO sites (name, created_us) VALUES (:n, 0)"), {"n": name}
            )
            made[name] = conn.execute(
                sa.text("SELECT id FROM sites WHERE name = :n"), {"n": name}
            ).scalar_one()
        conn.execute(
            sa.text("INSERT INTO camera_sites (camera_id, site_id) VALUES (:c, :s)"),
            {"c": camera_id, "s": made[name]},
        )


def downgrade() -> None:
    op.drop_table("saved_views")
    op.drop_table("camera_group_members")
    op.drop_table("camera_sites")
    op.drop_table("camera_groups")
    op.drop_table("sites")
