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

# Organisations: the operating unit itself (id 1, made by the migration) and every organ,
# organisation or individual that asks for footage (domain/access_rules.py OrgKind).
organisations = Table(
    "organisations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(32), nullable=False),  # domain/roles.py Role
    Column("created_us", BigInteger, nullable=False),
    Column("organisation_id", Integer, ForeignKey("organisations.id"), nullable=False),
    Column("display_name", String(128)),
    Column("work_id", String(64)),  # the work-ID number shown at an access (Jilin Art. 28)
    # TOTP secret, encrypted with the data directory's key (CredentialBox); NULL: no TOTP
    Column("totp_secret", LargeBinary),
    # the RFC 6238 time step of the last code accepted: a code is never accepted twice
    Column("totp_last_step", BigInteger),
    Column("disabled_us", BigInteger),
    # issue 11 (services/accounts, docs/DUTIES.md): who created the account or last reset its
    # password (a ledger actor; NULL: the installation), never cleared by the owner's own
    # change, and whether the password is one someone else chose, good for one log-in
    Column("credential_by", String(128)),
    Column("password_one_time", Boolean, nullable=False, default=False, server_default="0"),
)

# Account changes that wait for a second privileged person (services/accounts/pending.py):
# creating or empowering a signer, an approver or a confirmer, resetting their password,
# enabling them, removing their second factor.
account_changes = Table(
    "account_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(24), nullable=False),  # domain/duties.py ChangeKind
    Column("account_id", Integer, ForeignKey("accounts.id")),  # NULL: an account to create
    Column("username", String(64), nullable=False),
    Column("details", Text, nullable=False),  # JSON: role, organisation, names (no secret)
    Column("password_hash", String(255)),  # the proposed password's hash (create, reset)
    Column("proposed_by", String(128), nullable=False),
    Column("proposed_by_account", Integer, ForeignKey("accounts.id")),
    Column("proposed_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),  # pending | confirmed | cancelled
    Column("decided_by", String(128)),
    Column("decided_us", BigInteger),
    Index("ix_account_changes_state", "state", "proposed_us"),
)

# Log-in attempts counted before the password is checked (services/throttle.py): one row per
# key ("pair:<source> <user>", "source:<source>", "name:<user>").
login_throttle = Table(
    "login_throttle",
    metadata,
    Column("key", String(400), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("blocked_until_us", BigInteger),
    Column("updated_us", BigInteger, nullable=False),
    # refused while waiting (0008): the ledger records the 1st, 10th, 100th … of a delay
    Column("refused", Integer, nullable=False, default=0, server_default="0"),
    Index("ix_login_throttle_updated", "updated_us"),
)

# Which cameras a duty operator may watch live (other roles: domain/roles.py).
camera_assignments = Table(
    "camera_assignments",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("camera_id", Integer, ForeignKey("cameras.id"), primary_key=True),
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
    # retention: the operator's own setting (days; the floor applies when it is lower) and
    # whether the camera protects a key anti-terror target (Shenzhen Art. 32: 90 days)
    Column("retention_days", Integer),
    Column("key_target", Boolean, nullable=False, default=False, server_default="0"),
    Column("retired_us", BigInteger),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

# Sites and camera groups (0010): managed data the live page's camera tree is built from
# (services/sites.py). A camera is at one site at most (camera_sites' key is the camera) and
# in any number of groups; a group may lie within a site. cameras.site keeps the assigned
# site's name as the label an export records (it is set from here, renamed and cleared with
# the site).
sites = Table(
    "sites",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("created_us", BigInteger, nullable=False),
)

camera_groups = Table(
    "camera_groups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("site_id", Integer, ForeignKey("sites.id")),  # NULL: a group of no one site
    Column("created_us", BigInteger, nullable=False),
)

camera_sites = Table(
    "camera_sites",
    metadata,
    Column("camera_id", Integer, ForeignKey("cameras.id"), primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id"), nullable=False),
)

camera_group_members = Table(
    "camera_group_members",
    metadata,
    Column("group_id", Integer, ForeignKey("camera_groups.id"), primary_key=True),
    Column("camera_id", Integer, ForeignKey("cameras.id"), primary_key=True),
)

# A live grid saved under a name by one account, for that account alone (services/views.py):
# the layout and, per slot, a camera id or null, as JSON.
saved_views = Table(
    "saved_views",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("layout", Integer, nullable=False),
    Column("slots", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    UniqueConstraint("account_id", "name"),
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
    # the camera's hash chain at this segment (domain/chain.py), written with the row
    Column("link", String(64), nullable=False),
    # why the segment is less than ffmpeg closed (a crash or a full disk cut it and the
    # readable part was sealed with its true duration); NULL: whole
    Column("salvaged", Text),
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
    Index("ix_gaps_end", "end_us"),  # status: the gaps open or ended in the last day
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
    # the stream as last recorded
    Column("video_codec", String(16)),
    Column("width", Integer),
    Column("height", Integer),
    Column("audio_codec", String(16)),
    # the camera's audio codec that MP4 cannot carry without transcoding: decided once per
    # camera (cleared when its address changes), so that no start fails on it again
    Column("audio_dropped", String(32)),
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
    # the archive path of the segment whose unreadable tail this is (NULL: a whole file)
    Column("segment_path", Text),
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


# Public keys of every signing key the installation has used (key id = SHA-256 prefix).
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("key_id", String(16), primary_key=True),
    Column("public_key", String(64), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("retired_us", BigInteger),
    # the retired key's signature over the new key's id and public key (rotation)
    Column("endorsed_by", String(16)),
    Column("endorsement", String(128)),
)

# Signed checkpoints of the per-camera segment chains; also appended to
# archive/camNNNNN/checkpoints.jsonl. Never updated or deleted (kept after pruning).
checkpoints = Table(
    "checkpoints",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("camera_id", Integer, ForeignKey("cameras.id"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("link", String(64), nullable=False),
    Column("time_us", BigInteger, nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("signature", String(128), nullable=False),
    UniqueConstraint("camera_id", "seq"),
)

# Segments removed by the sweep, a checkpoint-aligned seq range at a time: the chain resumes
# after the range from the checkpoint at `last_seq`. `state` is 'deleting' until the files and
# rows are gone (a crash mid-batch is finished on restart), then 'done'.
pruned_ranges = Table(
    "pruned_ranges",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("camera_id", Integer, ForeignKey("cameras.id"), nullable=False),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("start_us", BigInteger, nullable=False),
    Column("end_us", BigInteger, nullable=False),
    Column("segments", BigInteger, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("ledger_seq", BigInteger),
    Column("created_us", BigInteger, nullable=False),
    Index("ix_pruned_ranges_camera_seq", "camera_id", "first_seq"),
)

# Holds keep footage past its normal retention: 'important' (a year), 'case' (until released;
# a release is asked by one account and confirmed by another), or 'access' (automatic: the
# footage an open access request names or a live grant covers; it ends by itself).
holds = Table(
    "holds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("camera_id", Integer, ForeignKey("cameras.id"), nullable=False),
    Column("start_us", BigInteger, nullable=False),
    Column("end_us", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("reference", String(128)),
    Column("created_by", String(64), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("until_us", BigInteger),  # NULL: until released
    Column("release_requested_by", String(64)),
    Column("release_requested_us", BigInteger),
    Column("released_by", String(64)),
    Column("released_us", BigInteger),
    # the access request an automatic 'access' hold keeps footage for (services/retention.py)
    Column("request_id", Integer, ForeignKey("access_requests.id")),
    Index("ix_holds_camera", "camera_id", "start_us"),
    Index("ix_holds_request", "request_id"),
)

# Alarms: problems that need a person (verification failed, disk filling, disk full …).
alarms = Table(
    "alarms",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("camera_id", Integer, ForeignKey("cameras.id")),
    Column("message", Text, nullable=False),  # English: old rows, the logs, the ledger
    # what it says as data (0012): a key of domain/alarm_wording.py MESSAGES and its
    # parameters (a JSON object of strings), translated where it is shown; null before
    Column("message_key", String(64)),
    Column("message_params", Text),
    Column("raised_us", BigInteger, nullable=False),
    Column("cleared_us", BigInteger),
    # alarms no condition clears (a crash's salvage and quarantine) end when a person
    # acknowledges them
    Column("acknowledged_by", String(128)),
    Column("acknowledged_us", BigInteger),
    Index("ix_alarms_open", "cleared_us"),
)

# The ledger: one append-only, hash-chained event log (services/ledger.py). No code path
# updates or deletes it; SQLite triggers refuse it, and on PostgreSQL the application role is
# granted SELECT and INSERT only (adapters/db/grants.py).
ledger = Table(
    "ledger",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("time_us", BigInteger, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("object", String(256), nullable=False),
    Column("details", Text, nullable=False),  # canonical JSON
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_ledger_time", "time_us"),
    Index("ix_ledger_action_time", "action", "time_us"),
)

# The ledger's newest (seq, hash): one row, updated first in every append so that concurrent
# appenders queue on it (a row lock on PostgreSQL, the write lock on SQLite).
ledger_head = Table(
    "ledger_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

# Signed checkpoints of the ledger (the signature over (seq, hash, time, key id)).
ledger_checkpoints = Table(
    "ledger_checkpoints",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("time_us", BigInteger, nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("signature", String(128), nullable=False),
)


# Approval documents (PDF or image) uploaded with an access request: stored once under
# documents/<sha256>.<ext> in the data directory, never changed.
documents = Table(
    "documents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("media_type", String(64), nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("organisation_id", Integer, ForeignKey("organisations.id"), nullable=False),
    Column("uploaded_by", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("uploaded_us", BigInteger, nullable=False),
)

# Access requests (services/access.py): draft → submitted → approved | rejected | withdrawn.
access_requests = Table(
    "access_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("organisation_id", Integer, ForeignKey("organisations.id"), nullable=False),
    Column("created_by", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("jurisdiction", String(16), nullable=False),
    Column("action", String(24), nullable=False),
    Column("basis", String(40), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("destination", Text, nullable=False, default=""),
    Column("destination_abroad", Boolean, nullable=False, default=False),
    Column("start_us", BigInteger, nullable=False),
    Column("end_us", BigInteger, nullable=False),
    Column("document_id", Integer, ForeignKey("documents.id")),
    Column("psb_approval_ref", String(128)),  # the public security approval's reference
    Column("judicial_approval_ref", String(128)),  # county-level judicial approval
    Column("manager_consent", Boolean, nullable=False, default=False),
    Column("state", String(16), nullable=False),
    Column("submitted_us", BigInteger),
    Column("decided_by", Integer, ForeignKey("accounts.id")),
    Column("decided_us", BigInteger),
    Column("decision_note", Text),
    Index("ix_access_requests_state", "state", "created_us"),
)

request_cameras = Table(
    "request_cameras",
    metadata,
    Column("request_id", Integer, ForeignKey("access_requests.id"), primary_key=True),
    Column("camera_id", Integer, ForeignKey("cameras.id"), primary_key=True),
)

# The staff present at an access, each signing with their own account and work ID.
request_staff = Table(
    "request_staff",
    metadata,
    Column("request_id", Integer, ForeignKey("access_requests.id"), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("work_id", String(64), nullable=False),
    Column("signed_us", BigInteger, nullable=False),
)

# Grants: what an approved request allows, to its staff, until it expires or is revoked.
grants = Table(
    "grants",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("request_id", Integer, ForeignKey("access_requests.id"), nullable=False, unique=True),
    Column("action", String(24), nullable=False),
    Column("start_us", BigInteger, nullable=False),
    Column("end_us", BigInteger, nullable=False),
    Column("granted_by", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("granted_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
    Column("revoked_by", Integer, ForeignKey("accounts.id")),
    Column("revoked_us", BigInteger),
    Column("revoke_reason", Text),
)

# Who holds a grant for which camera: one row per (holder, camera), so that the check on the
# playback path is a single indexed lookup.
grant_scope = Table(
    "grant_scope",
    metadata,
    Column("grant_id", Integer, ForeignKey("grants.id"), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("camera_id", Integer, ForeignKey("cameras.id"), primary_key=True),
    Index("ix_grant_scope_holder", "account_id", "camera_id"),
)

# Exports made under copy grants (services/exports/); the bundle lies in exports/<id>/.
exports = Table(
    "exports",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("grant_id", Integer, ForeignKey("grants.id"), nullable=False),
    Column("camera_id", Integer, ForeignKey("cameras.id"), nullable=False),
    Column("start_us", BigInteger, nullable=False),
    Column("end_us", BigInteger, nullable=False),
    Column("covered_start_us", BigInteger, nullable=False),
    Column("covered_end_us", BigInteger, nullable=False),
    Column("segments", Integer, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("manifest_sha256", String(64), nullable=False),
    Column("watermarked", Boolean, nullable=False, default=False),
    Column("created_by", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

# Export jobs (0011, services/exports/jobs.py): an export asked for over the web, made by the
# web server's worker; the progress is measured (work units done of the total, build.py), the
# failure a msgid and its parameters (JSON) so that each reader reads it in their language.
export_jobs = Table(
    "export_jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("grant_id", Integer, ForeignKey("grants.id"), nullable=False),
    Column("camera_id", Integer, ForeignKey("cameras.id"), nullable=False),
    Column("start_us", BigInteger, nullable=False),
    Column("end_us", BigInteger, nullable=False),
    Column("watermark", Boolean, nullable=False),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("username", String(64), nullable=False),  # who asked, when they asked
    Column("state", String(16), nullable=False),  # queued, running, done, failed
    Column("progress_done", BigInteger, nullable=False),
    Column("progress_total", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False),  # runs begun (a restart begins another)
    Column("created_us", BigInteger, nullable=False),
    Column("started_us", BigInteger),
    Column("finished_us", BigInteger),
    Column("export_id", String(32), ForeignKey("exports.id")),
    Column("error_msgid", Text),
    Column("error_params", Text),
    Column("dismissed_us", BigInteger),  # its asker put the ended job out of the list (0013)
    Index("ix_export_jobs_state", "state", "id"),
    Index("ix_export_jobs_account", "account_id", "created_us"),
)

# Bookmarks on a camera's timeline (0009, domain/bookmarks.py): a note at an instant, by an
# account. Made and deleted with a ledger entry each; a bookmark grants no footage.
bookmarks = Table(
    "bookmarks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("camera_id", Integer, ForeignKey("cameras.id"), nullable=False),
    Column("at_us", BigInteger, nullable=False),
    Column("note", Text, nullable=False),
    Column("author_account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("author", String(64), nullable=False),  # the author's user name when made
    Column("created_us", BigInteger, nullable=False),
    Index("ix_bookmarks_camera_at", "camera_id", "at_us"),
    Index("ix_bookmarks_at", "at_us"),
)
