"""The relational schema (SQLAlchemy Core). Times are integer microseconds since epoch, UTC.

Portable by construction: no SQLite-only or PostgreSQL-only types or SQL.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(32), nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

cameras = Table(
    "cameras",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("url", Text, nullable=False),
    Column("sub_url", Text),
    # Credentials are encrypted with the data directory's key; never printed.
    Column("credentials", LargeBinary),
    Column("site", String(128)),
    Column("place", String(128), nullable=False),
    Column("address", Text),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("direction_deg", Float),
    Column("installed_on", Date),
    Column("signage_posted", Boolean, nullable=False, default=False),
    Column("retired_us", BigInteger),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

segments = Table(
    "segments",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("camera_id", Integer, ForeignKey("cameras.id"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("start_us", BigInteger, nullable=False),
    Column("end_us", BigInteger, nullable=False),
    Column("duration_us", BigInteger, nullable=False),
    Column("drift_us", BigInteger, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("video_codec", String(16)),
    Column("width", Integer),
    Column("height", Integer),
    Column("audio_codec", String(16)),
    Column("path", Text, nullable=False, unique=True),
    Column("sha256", String(64), nullable=False),
    Column("run_id", String(32), nullable=False),
    Column("sealed_us", BigInteger, nullable=False),
    UniqueConstraint("camera_id", "seq"),
    Index("ix_segments_camera_start", "camera_id", "start_us"),
)

gaps = Table(
    "gaps",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("camera_id", Integer, ForeignKey("cameras.id"), nullable=False),
    Column("start_us", BigInteger, nullable=False),
    Column("end_us", BigInteger),  # NULL while the outage is still going on
    Column("reason", Text, nullable=False),
    Index("ix_gaps_camera_start", "camera_id", "start_us"),
)

# Spans: runs of contiguous segments, kept up to date by the sealer in the segment's own
# transaction, so that a timeline over 30 days reads a handful of rows, not 400,000.
spans = Table(
    "spans",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("camera_id", Integer, ForeignKey("cameras.id"), nullable=False),
    Column("start_us", BigInteger, nullable=False),
    Column("end_us", BigInteger, nullable=False),
    Column("segments", BigInteger, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Index("ix_spans_camera_end", "camera_id", "end_us"),
)

camera_state = Table(
    "camera_state",
    metadata,
    Column("camera_id", Integer, ForeignKey("cameras.id"), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("detail", Text),
    Column("last_error", Text),
    Column("last_error_us", BigInteger),
    Column("updated_us", BigInteger, nullable=False),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("camera_id", Integer, ForeignKey("cameras.id")),
    Column("original_path", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("found_us", BigInteger, nullable=False),
)

# Web sessions: only the SHA-256 of the cookie's token is stored, so a copied database does
# not let anyone log in.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("last_seen_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
    Index("ix_web_sessions_expires", "expires_us"),
)
