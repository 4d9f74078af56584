"""The ledger: one append-only, hash-chained, signed log of everything that happens.

Every entry says who (actor), when (time_us), what (action, one of the constants below), to
what (object, e.g. "camera:3") and how (details, canonical JSON). Entries are written with
`record` inside the caller's own transaction, so an event commits with the change it records
and a rolled-back change leaves no entry (and an entry never exists without its change).

Append-only by construction:
- no code path updates or deletes `ledger` or `ledger_checkpoints`; SQLite triggers refuse it,
  and on PostgreSQL the application role is granted SELECT and INSERT only
  (adapters/db/grants.py), the owner's triggers refuse it too;
- every entry's hash covers the previous one (domain/ledger.py), and `checkpoint` signs the
  head with the installation's Ed25519 key, in the database and in
  archive/ledger-checkpoints.jsonl, so a rewrite with recomputed hashes does not go unseen.

Retention: entries are never deleted by any code, so the longest minimum in any jurisdiction
we serve (180 days, Shenzhen Art. 32) holds trivially; the ledger grows by a few hundred bytes
per event.

Appenders are serialised on the one `ledger_head` row, which each append UPDATEs first (seq =
seq + 1, RETURNING): that takes SQLite's write lock or a PostgreSQL row lock before anything is
read, so two appenders can neither fork the chain nor deadlock on a read-then-write upgrade.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from sqlalchemy import BigInteger, Connection, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from custodes.adapters.db import schema
from custodes.clock import iso
from custodes.domain.ledger import (
    BAD_SIGNATURE,
    CHECKPOINT_FILE,
    GENESIS,
    Finding,
    LedgerCheckpoint,
    canonical_json,
    checkpoint_message,
    compare_checkpoints,
    entry_hash,
    walk,
)
from custodes.paths import DataDir
from custodes.services import signing
from custodes.services.context import Context

log = logging.getLogger(__name__)

L = schema.ledger
H = schema.ledger_head
LC = schema.ledger_checkpoints
CHECKPOINTS_FILE = "ledger-checkpoints.jsonl"
HEAD_ID = 1
ACTOR_MAX, ACTION_MAX, OBJECT_MAX = 128, 64, 256  # the column sizes (PostgreSQL enforces)

# The actor of what the installation does on its own (sweep, recorder, migrations).
SYSTEM = "system"


def account_actor(username: str) -> str:
    """The ledger actor for a person logged in with an account (prefixed, so that an account
    cannot pass for "system" or a command-line user)."""
    return f"account:{username}"


# Actions: the one list. Producers use these names, never string literals.
LOGIN = "login"
LOGIN_FAILED = "login-failed"
LOGOUT = "logout"
CAMERA_ADDED = "camera-added"
CAMERA_CHANGED = "camera-changed"
CAMERA_RETIRED = "camera-retired"
SETTING_CHANGED = "setting-changed"
MEDIA_VIEWED = "media-viewed"
LIVE_VIEWED = "live-viewed"
SNAPSHOT_TAKEN = "snapshot-taken"  # details: stream, bytes, sha256 of the JPEG
HOLD_PLACED = "hold-placed"
HOLD_RELEASE_REQUESTED = "hold-release-requested"
HOLD_RELEASED = "hold-released"
SWEEP_BATCH = "sweep-batch"
DELETION_REFUSED = "deletion-refused"
KEY_ROTATED = "key-rotated"
VERIFY_RAN = "verify-ran"
ALARM_RAISED = "alarm-raised"
LEDGER_EXPORTED = "ledger-exported"
# accounts and organisations (issue 5)
ACCOUNT_LOCKED = "account-locked"
ACCOUNT_CREATED = "account-created"
ACCOUNT_CHANGED = "account-changed"
TOTP_ENROLLED = "totp-enrolled"
ORGANISATION_ADDED = "organisation-added"
CAMERAS_ASSIGNED = "cameras-assigned"
ACCOUNT_CHANGE_PROPOSED = "account-change-proposed"  # waits for a second person (issue 11)
ACCOUNT_CHANGE_DECIDED = "account-change-decided"  # details "decision": confirmed | cancelled
# access to recorded footage: every entry's details carry "request" and, once there is one,
# "grant" (ids), so that the access register can join them (services/register.py)
DOCUMENT_UPLOADED = "document-uploaded"
REQUEST_CREATED = "request-created"
REQUEST_SIGNED = "request-signed"
REQUEST_SUBMITTED = "request-submitted"
REQUEST_REFUSED = "request-refused"  # a submission or approval the rules refused
REQUEST_APPROVED = "request-approved"  # details also: grant, expires_us
REQUEST_REJECTED = "request-rejected"
REQUEST_WITHDRAWN = "request-withdrawn"
GRANT_REVOKED = "grant-revoked"
ACCESS_DENIED = "access-denied"  # footage asked for without a grant that covers it
EXPORT_CREATED = "export-created"  # details also: export, camera, start_us, end_us, manifest
EXPORT_DOWNLOADED = "export-downloaded"
# the recorder's own evidence of what it could not keep whole (issue 10)
SEGMENT_SALVAGED = "segment-salvaged"  # sealed shorter than ffmpeg made it; the cut part kept
FILE_QUARANTINED = "file-quarantined"  # a spool file with no playable fragment, kept aside
ALARM_ACKNOWLEDGED = "alarm-acknowledged"  # details also: note (what the person found, did)
ALARM_CLEARED = "alarm-cleared"  # its condition is gone (a camera records again)
# bookmarks on a camera's timeline (issue 12): details camera, at_us, note, bookmark
BOOKMARK_ADDED = "bookmark-added"
BOOKMARK_DELETED = "bookmark-deleted"
# sites and camera groups (services/sites.py): details name what each change moved
SITE_ADDED = "site-added"
SITE_RENAMED = "site-renamed"
SITE_DELETED = "site-deleted"  # details also: cameras_unassigned, groups_unsited
GROUP_ADDED = "group-added"
GROUP_CHANGED = "group-changed"
GROUP_DELETED = "group-deleted"  # details also: cameras_removed
CAMERA_PLACED = "camera-placed"  # a camera's site and groups, [before, after]
ACTIONS = frozenset(
    {
        BOOKMARK_ADDED,
        BOOKMARK_DELETED,
        SITE_ADDED,
        SITE_RENAMED,
        SITE_DELETED,
        GROUP_ADDED,
        GROUP_CHANGED,
        GROUP_DELETED,
        CAMERA_PLACED,
        SEGMENT_SALVAGED,
        FILE_QUARANTINED,
        ALARM_ACKNOWLEDGED,
        ALARM_CLEARED,
        ACCOUNT_LOCKED,
        ACCOUNT_CREATED,
        ACCOUNT_CHANGED,
        TOTP_ENROLLED,
        ORGANISATION_ADDED,
        CAMERAS_ASSIGNED,
        ACCOUNT_CHANGE_PROPOSED,
        ACCOUNT_CHANGE_DECIDED,
        DOCUMENT_UPLOADED,
        REQUEST_CREATED,
        REQUEST_SIGNED,
        REQUEST_SUBMITTED,
        REQUEST_REFUSED,
        REQUEST_APPROVED,
        REQUEST_REJECTED,
        REQUEST_WITHDRAWN,
        GRANT_REVOKED,
        ACCESS_DENIED,
        EXPORT_CREATED,
        EXPORT_DOWNLOADED,
        LOGIN,
        LOGIN_FAILED,
        LOGOUT,
        CAMERA_ADDED,
        CAMERA_CHANGED,
        CAMERA_RETIRED,
        SETTING_CHANGED,
        MEDIA_VIEWED,
        LIVE_VIEWED,
        SNAPSHOT_TAKEN,
        HOLD_PLACED,
        HOLD_RELEASE_REQUESTED,
        HOLD_RELEASED,
        SWEEP_BATCH,
        DELETION_REFUSED,
        KEY_ROTATED,
        VERIFY_RAN,
        ALARM_RAISED,
        LEDGER_EXPORTED,
    }
)


@dataclass(frozen=True)
class NewEntry:
    """One event for `record_many`."""

    actor: str
    action: str
    object: str
    time_us: int
    details: Mapping[str, Any] = field(default_factory=dict)


def record(
    conn: Connection,
    *,
    actor: str,
    action: str,
    object: str,
    details: Mapping[str, Any] | None = None,
    time_us: int,
) -> int:
    """Append one entry inside the caller's transaction; returns its seq."""
    return record_many(conn, [NewEntry(actor, action, object, time_us, details or {})])[0]


def record_many(conn: Connection, entries: Sequence[NewEntry]) -> list[int]:
    """Append entries in order inside the caller's transaction (one head update for all)."""
    if not entries:
        return []
    checked = [_checked(e) for e in entries]
    first, prev = _advance(conn, len(checked))
    values = []
    for seq, (e, details) in enumerate(checked, start=first):
        digest = entry_hash(prev, seq, e.time_us, e.actor, e.action, e.object, details)
        values.append(
            {
                "seq": seq,
                "time_us": e.time_us,
                "actor": e.actor,
                "action": e.action,
                "object": e.object,
                "details": details,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    conn.execute(_INSERT, values)
    conn.execute(_SET_HASH, {"new_hash": prev})
    return list(range(first, first + len(values)))


def record_now(
    ctx: Context,
    *,
    actor: str,
    action: str,
    object: str,
    details: Mapping[str, Any] | None = None,
    time_us: int | None = None,
) -> int:
    """Append one entry in a transaction of its own (for events that change nothing else)."""
    with ctx.engine.begin() as conn:
        return record(
            conn,
            actor=actor,
            action=action,
            object=object,
            details=details,
            time_us=ctx.clock() if time_us is None else time_us,
        )


def _checked(e: NewEntry) -> tuple[NewEntry, str]:
    for name, value, limit in (
        ("actor", e.actor, ACTOR_MAX),
        ("action", e.action, ACTION_MAX),
        ("object", e.object, OBJECT_MAX),
    ):
        if not value or len(value) > limit:
            raise ValueError(f"ledger {name}: 1 to {limit} characters, got {len(value)}")
    return e, canonical_json(e.details)


# Built once: appends are hot (one per login, view, change …), statement building is not free.
_BUMP = (
    update(H)
    .where(H.c.id == HEAD_ID)
    .values(seq=H.c.seq + bindparam("n", type_=BigInteger))
    .returning(H.c.seq, H.c.hash)
)
_SET_HASH = update(H).where(H.c.id == HEAD_ID).values(hash=bindparam("new_hash"))
_INSERT = insert(L)


def lock_head(conn: Connection) -> None:
    """Queue behind every appender now, before reading what they may be changing: a change
    that writes its ledger entry before its rows (an access request and its holds) is then
    either committed and visible, or waits until this transaction ends. Changes nothing."""
    conn.execute(update(H).where(H.c.id == HEAD_ID).values(seq=H.c.seq))


def sweep_batch_matches(details: Mapping[str, Any], camera_id: int, first: int, last: int) -> bool:
    """Whether a sweep-batch entry's details name this camera and seq range."""
    return (
        details.get("camera_id") == camera_id
        and details.get("first_seq") == first
        and details.get("last_seq") == last
    )


def _advance(conn: Connection, n: int) -> tuple[int, str]:
    """Reserve seqs for n entries: (first new seq, hash of the entry before it).

    The UPDATE comes first so that it takes the lock before anything is read; the head row is
    created (seq 0, genesis hash) by whichever appender finds it missing first.
    """
    row = conn.execute(_BUMP, {"n": n}).first()
    if row is None:
        make = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        conn.execute(make(H).values(id=HEAD_ID, seq=0, hash=GENESIS).on_conflict_do_nothing())
        row = conn.execute(_BUMP, {"n": n}).one()
    return int(row.seq) - n + 1, str(row.hash)


# --- checkpoints -----------------------------------------------------------------------------


def checkpoint(ctx: Context) -> int | None:
    """Sign the head if it moved since the last ledger checkpoint; returns the seq signed.

    The row commits first and the same JSON is then appended (fsynced) to
    archive/ledger-checkpoints.jsonl, so the file never names a checkpoint the database lost
    by rolling back. A crash between the two leaves the newest checkpoint out of the file: the
    next call appends it first, so that window does not stay a finding.
    """
    signer = signing.load_signer(ctx.data)
    now = ctx.clock()
    path = checkpoints_path(ctx.data)
    made: LedgerCheckpoint | None = None
    try:
        with ctx.engine.begin() as conn:
            # a write first: queues behind appenders and other checkpointers (see _advance)
            head = conn.execute(
                update(H).where(H.c.id == HEAD_ID).values(seq=H.c.seq).returning(H.c.seq, H.c.hash)
            ).first()
            previous = _newest_checkpoint(conn)
            if head is not None and head.seq > (previous.seq if previous else 0):
                signing.register(conn, ctx.data, signer, now)
                message = checkpoint_message(head.seq, head.hash, now, signer.key_id)
                made = LedgerCheckpoint(
                    int(head.seq), str(head.hash), now, signer.key_id, signer.sign(message)
                )
                conn.execute(insert(LC).values(**made.to_json()))
    except IntegrityError:  # another process signed the same head meanwhile
        return None
    if previous is not None:
        _complete_file(path, previous)
    if made is None:
        return None
    signing.append_line(path, made.to_json())
    return made.seq


def checkpoints_path(data: DataDir) -> Path:
    return data.archive / CHECKPOINTS_FILE


def _newest_checkpoint(conn: Connection) -> LedgerCheckpoint | None:
    row = conn.execute(select(LC).order_by(LC.c.seq.desc()).limit(1)).first()
    if row is None:
        return None
    return LedgerCheckpoint(row.seq, row.hash, row.time_us, row.key_id, row.signature)


def _complete_file(path: Path, newest_in_db: LedgerCheckpoint) -> None:
    """Append the database's newest checkpoint if a crash kept it out of the file."""
    try:
        if LedgerCheckpoint.from_json(json.loads(_last_line(path))) == newest_in_db:
            return
    except (ValueError, KeyError, TypeError):
        pass
    if newest_in_db in checkpoints_from_file(path)[0]:
        return
    log.warning("ledger checkpoint %d was missing from %s: appended", newest_in_db.seq, path)
    signing.append_line(path, newest_in_db.to_json())


def _last_line(path: Path) -> str:
    """The file's last non-empty line, reading only its end (the file only grows)."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            tail = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    lines = [line for line in tail.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def checkpoints_from_file(path: Path) -> tuple[list[LedgerCheckpoint], list[Finding]]:
    """The file's checkpoints, and a finding for each line that is not one."""
    found: list[LedgerCheckpoint] = []
    bad: list[Finding] = []
    if not path.exists():
        return found, bad
    with path.open(encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                found.append(LedgerCheckpoint.from_json(json.loads(line)))
            except (ValueError, KeyError, TypeError):
                bad.append(
                    Finding.of(
                        None,
                        CHECKPOINT_FILE,
                        "ledger-line-damaged",
                        file=path.name,
                        line=str(number),
                    )
                )
    return found, bad


# --- verification ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyReport:
    entries: int
    head_seq: int
    checkpoints: int  # distinct checkpoints with a good signature (database and file)
    findings: list[Finding]
    dropped: int  # findings past the cap, only counted
    seconds: float

    @property
    def ok(self) -> bool:
        return self.dropped == 0 and not any(f.failure for f in self.findings)

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_seq": self.head_seq,
            "checkpoints": self.checkpoints,
            "findings": [f.to_json() for f in self.findings],
            "findings_not_listed": self.dropped,
            "seconds": round(self.seconds, 3),
        }


ROWS_SQL = (
    "SELECT seq, time_us, actor, action, object, details, prev_hash, hash FROM ledger ORDER BY seq"
)


def verify(ctx: Context) -> VerifyReport:
    """Walk the whole ledger in one consistent snapshot and check every hash, link, the head,
    and each checkpoint's signature (keys from the database and archive/public-keys.jsonl)
    against the entries and against the file copy of the checkpoints.

    Rows come through the driver's own cursor (server-side on PostgreSQL), not ORM rows: the
    walk is CPU-bound and a Row object per entry would halve its rate.
    """
    started = time.perf_counter()
    file_cps, findings = checkpoints_from_file(checkpoints_path(ctx.data))
    file_keys = signing.public_keys_from_file(ctx.data)
    with read_snapshot(ctx) as cursor:
        cur = cursor()
        cur.execute("SELECT seq, hash FROM ledger_head WHERE id = 1")
        head_row = cur.fetchone()
        head = (int(head_row[0]), str(head_row[1])) if head_row else None
        cur.execute("SELECT seq, hash, time_us, key_id, signature FROM ledger_checkpoints")
        db_cps = [LedgerCheckpoint(int(r[0]), r[1], int(r[2]), r[3], r[4]) for r in cur]
        cur.execute("SELECT key_id, public_key FROM signing_keys")
        db_keys = {str(r[0]): str(r[1]) for r in cur}
        findings += compare_checkpoints(db_cps, file_cps)
        keys, key_findings = _trusted_keys(db_keys, file_keys)
        findings += key_findings
        good: list[LedgerCheckpoint] = []
        for cp in sorted(set(db_cps) | set(file_cps), key=lambda c: (c.seq, c.time_us)):
            if _signed(cp, keys):
                good.append(cp)
            else:
                findings.append(
                    Finding.of(
                        cp.seq,
                        BAD_SIGNATURE,
                        "ledger-bad-signature",
                        seq=str(cp.seq),
                        key=str(cp.key_id),
                    )
                )
        rows = cursor(stream=True)
        rows.execute(ROWS_SQL)
        result = walk(_fetch(rows), head=head, checkpoints=good)
    findings += result.findings
    findings.sort(key=lambda f: (f.seq is None, f.seq or 0))
    return VerifyReport(
        entries=result.entries,
        head_seq=head[0] if head else 0,
        checkpoints=len(good),
        findings=findings,
        dropped=result.dropped,
        seconds=time.perf_counter() - started,
    )


def _trusted_keys(
    db_keys: Mapping[str, str], file_keys: Mapping[str, str]
) -> tuple[dict[str, set[str]], list[Finding]]:
    """The public keys each key id may stand for: a key id is the SHA-256 prefix of its key,
    so a key put in under another's id (in the table or the file) is refused, not trusted."""
    keys: dict[str, set[str]] = {}
    findings: list[Finding] = []
    for where, source in (("signing_keys", db_keys), ("public-keys.jsonl", file_keys)):
        for key_id, public in source.items():
            try:
                matches = signing.key_id_of(bytes.fromhex(public)) == key_id
            except ValueError:
                matches = False
            if matches:
                keys.setdefault(key_id, set()).add(public)
            else:
                findings.append(
                    Finding.of(None, BAD_SIGNATURE, "key-id-wrong", store=where, key=key_id)
                )
    return keys, findings


def _signed(cp: LedgerCheckpoint, keys: Mapping[str, set[str]]) -> bool:
    try:
        message = cp.message()
    except ValueError:
        return False
    return any(
        signing.signature_ok(public, message, cp.signature) for public in keys.get(cp.key_id, ())
    )


@contextmanager
def read_snapshot(ctx: Context) -> Iterator[Any]:
    """A read transaction that sees one state of the database (REPEATABLE READ on
    PostgreSQL, an explicit BEGIN on SQLite, whose driver otherwise reads each statement in
    its own snapshot); yields a function making raw cursors, stream=True for the big scan."""
    with ctx.engine.connect() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        raw: Any = conn.connection.dbapi_connection
        opened: list[Any] = []

        def cursor(stream: bool = False) -> Any:
            cur = raw.cursor(name="custodes_ledger_walk") if stream and postgres else raw.cursor()
            opened.append(cur)
            return cur

        if not postgres:
            raw.execute("BEGIN")
        try:
            yield cursor
        finally:
            for cur in reversed(opened):
                cur.close()
            raw.rollback()


def _fetch(cur: Any, size: int = 20_000) -> Iterator[Any]:
    while batch := cur.fetchmany(size):
        yield from batch


# --- export ----------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "seq",
    "time",
    "time_us",
    "actor",
    "action",
    "object",
    "details",
    "prev_hash",
    "hash",
)


def export(
    ctx: Context,
    fmt: Literal["csv", "json"],
    out: TextIO,
    since_us: int | None = None,
    until_us: int | None = None,
) -> int:
    """Write the entries with since_us <= time_us < until_us, in seq order; returns how many.

    Values are written exactly as stored (details as its canonical JSON text), so anyone can
    recompute each hash and link from the export alone (domain/ledger.py). The JSON form also
    carries the signed checkpoints and public keys. CSV cells are not escaped for spreadsheets
    (a leading "=" stays): altering them would break the hashes.
    """
    query = select(L).order_by(L.c.seq)
    if since_us is not None:
        query = query.where(L.c.time_us >= since_us)
    if until_us is not None:
        query = query.where(L.c.time_us < until_us)
    count = 0
    with ctx.engine.connect() as conn:
        rows = conn.execution_options(yield_per=5000).execute(query)
        if fmt == "csv":
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(EXPORT_COLUMNS)
            for r in rows:
                writer.writerow(
                    (
                        r.seq,
                        iso(r.time_us),
                        r.time_us,
                        r.actor,
                        r.action,
                        r.object,
                        r.details,
                        r.prev_hash,
                        r.hash,
                    )
                )
                count += 1
            return count
        if fmt != "json":
            raise ValueError(f"export format: csv or json, not {fmt!r}")
        head = {"format": "custodes-ledger-v1", "since_us": since_us, "until_us": until_us}
        # the header object, left open for the entries that follow it
        out.write(json.dumps(head, ensure_ascii=False)[:-1] + ',"entries":[')
        for r in rows:
            entry = {
                "seq": r.seq,
                "time": iso(r.time_us),
                "time_us": r.time_us,
                "actor": r.actor,
                "action": r.action,
                "object": r.object,
                "details": r.details,
                "prev_hash": r.prev_hash,
                "hash": r.hash,
            }
            out.write(("," if count else "") + "\n" + json.dumps(entry, ensure_ascii=False))
            count += 1
        cps = [
            LedgerCheckpoint(c.seq, c.hash, c.time_us, c.key_id, c.signature).to_json()
            for c in conn.execute(select(LC).order_by(LC.c.seq))
        ]
        keys = signing.public_keys(conn)
    out.write("\n],\n" + '"checkpoints":' + json.dumps(cps) + ',\n"public_keys":')
    out.write(json.dumps(keys, sort_keys=True) + "}\n")
    return count


def current_head(ctx: Context) -> tuple[int, str]:
    """The newest (seq, hash); (0, genesis) for an empty ledger."""
    with ctx.engine.connect() as conn:
        row = conn.execute(select(H.c.seq, H.c.hash).where(H.c.id == HEAD_ID)).first()
    return (int(row.seq), str(row.hash)) if row else (0, GENESIS)


def count_entries(ctx: Context) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(L)).scalar_one())


@dataclass(frozen=True)
class Entry:
    """One stored entry as it is, for reading (the ledger page)."""

    seq: int
    time_us: int
    actor: str
    action: str
    object: str
    details: str


def entries(
    ctx: Context,
    *,
    action: str | None = None,
    actor: str | None = None,
    since_us: int | None = None,
    until_us: int | None = None,
    before_seq: int | None = None,
    limit: int = 50,
) -> tuple[list[Entry], bool]:
    """Entries newest first (by seq), at most `limit`, and whether older ones match too.

    Filters: `action` exactly; `actor` as stored or as an account's name ("alice" finds
    "account:alice"); since_us <= time_us < until_us; seq < before_seq (the next page)."""
    query = select(L).order_by(L.c.seq.desc()).limit(limit + 1)
    if action is not None:
        query = query.where(L.c.action == action)
    if actor is not None:
        query = query.where(L.c.actor.in_({actor, account_actor(actor)}))
    if since_us is not None:
        query = query.where(L.c.time_us >= since_us)
    if until_us is not None:
        query = query.where(L.c.time_us < until_us)
    if before_seq is not None:
        query = query.where(L.c.seq < before_seq)
    with ctx.engine.connect() as conn:
        rows = [
            Entry(int(r.seq), int(r.time_us), r.actor, r.action, r.object, r.details)
            for r in conn.execute(query)
        ]
    return rows[:limit], len(rows) > limit
