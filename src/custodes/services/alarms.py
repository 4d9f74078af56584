"""Alarms: conditions that need a person (integrity failure, disk filling up, disk full,
footage cut short by a crash or a full disk).

What an alarm says is data (domain/alarm_wording.py): a key and its parameters, stored beside
the English `message` rendered from them, so that each reader sees it in their own language.

One open alarm per (kind, camera): raising an open one again only updates nothing and returns
False, so a check that runs every minute does not flood the table; clearing closes it. Most
kinds clear when their condition is gone; a footage-cut alarm reports something that
happened, and stays until a person acknowledges it (a ledger entry).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    Row,
    String,
    Text,
    func,
    insert,
    literal,
    select,
    update,
)

from custodes.adapters.db import schema
from custodes.adapters.db.engine import write_first
from custodes.domain.alarm_wording import Wording, stored_params
from custodes.services import ledger
from custodes.services.context import Context

A = schema.alarms
INTEGRITY = "integrity"
DISK_LOW = "disk-low"
DISK_FULL = "disk-full"
CAMERA_OFFLINE = "camera-offline"  # nothing recorded for two segment lengths (camera_health)


@dataclass(frozen=True)
class Alarm:
    id: int
    kind: str
    camera_id: int | None
    message: str  # English
    raised_us: int
    message_key: str | None = None  # domain/alarm_wording.py; None: only `message` is known
    params: dict[str, str] | None = field(default=None, hash=False)


def said(message: Wording | str) -> tuple[str, str | None, str | None]:
    """What is stored of a message: the English, the key and the parameters' JSON (a text
    given as it is has no key: it is shown as it is, in every language)."""
    if isinstance(message, Wording):
        return message.english, message.key, message.params_json()
    return message, None, None


def _alarm(r: Row[Any]) -> Alarm:
    key, params = _wording(r)
    return Alarm(r.id, r.kind, r.camera_id, r.message, r.raised_us, key, params)


def _wording(r: Row[Any]) -> tuple[str | None, dict[str, str] | None]:
    """A row's key and parameters; neither when either cannot be read (shown: `message`)."""
    params = stored_params(r.message_params)
    if r.message_key is None or params is None:
        return None, None
    return str(r.message_key), params


def raise_alarm(
    conn: Connection, kind: str, message: Wording | str, now_us: int, camera_id: int | None = None
) -> bool:
    """Open an alarm; False when one of this kind (and camera) is already open. One statement
    (INSERT … SELECT … WHERE NOT EXISTS), so that SQLite takes its write lock at once rather
    than upgrading a read, which can fail without waiting."""
    english, key, params = said(message)
    cond = A.c.camera_id.is_(None) if camera_id is None else A.c.camera_id == camera_id
    already = select(A.c.id).where(A.c.kind == kind, cond, A.c.cleared_us.is_(None)).exists()
    row = select(
        literal(kind, String),
        literal(camera_id, Integer),
        literal(english, Text),
        literal(key, String),
        literal(params, Text),
        literal(now_us, BigInteger),
    ).where(~already)
    stmt = insert(A).from_select(
        ["kind", "camera_id", "message", "message_key", "message_params", "raised_us"], row
    )
    if conn.dialect.name == "postgresql":
        # psycopg reports rowcount -1 for INSERT … SELECT, which read as "raised" every time
        # (a ledger entry per check): the returned row says whether one was inserted
        return conn.execute(stmt.returning(A.c.id)).first() is not None
    return bool(conn.execute(stmt).rowcount)


def clear_alarm(conn: Connection, kind: str, now_us: int, camera_id: int | None = None) -> bool:
    cond = A.c.camera_id.is_(None) if camera_id is None else A.c.camera_id == camera_id
    result = conn.execute(
        update(A).where(A.c.kind == kind, cond, A.c.cleared_us.is_(None)).values(cleared_us=now_us)
    )
    return bool(result.rowcount)


def open_alarms(conn: Connection) -> list[Alarm]:
    rows = conn.execute(select(A).where(A.c.cleared_us.is_(None)).order_by(A.c.raised_us)).all()
    return [_alarm(r) for r in rows]


FOOTAGE_CUT = "footage-cut"  # a segment sealed short, or a spool file quarantined
# Kinds that no condition clears: they stay open until a person acknowledges them.
ACKNOWLEDGED_KINDS = frozenset({FOOTAGE_CUT})


# What the latest cut was: its message key and parameters, to which the counts are added.
SALVAGED = "footage-cut-salvaged"  # seq, note
QUARANTINED = "footage-cut-quarantined"  # reason
OTHER_CUT = "footage-cut"  # latest


def raise_footage_cut(
    conn: Connection, camera_id: int, latest: tuple[str, dict[str, str]] | str, now_us: int
) -> None:
    """Open (or bring up to date) the camera's footage-cut alarm: how many segments were
    sealed short and files quarantined since it was raised (their ledger entries, written
    in the same transaction with the same time), and the latest of them: a key (SALVAGED,
    QUARANTINED) and its parameters, or a text."""
    key, latest_params = (OTHER_CUT, {"latest": latest}) if isinstance(latest, str) else latest

    def wording(salvaged: int, quarantined: int) -> Wording:
        counts = {"salvaged": str(salvaged), "quarantined": str(quarantined)}
        return Wording(key, {**latest_params, **counts})

    raise_alarm(conn, FOOTAGE_CUT, wording(0, 0), now_us, camera_id)
    open_row = conn.execute(
        select(A.c.id, A.c.raised_us).where(
            A.c.kind == FOOTAGE_CUT, A.c.camera_id == camera_id, A.c.cleared_us.is_(None)
        )
    ).first()
    if open_row is None:
        return
    since = int(open_row.raised_us)
    L = schema.ledger
    counts = {
        str(action): int(n)
        for action, n in conn.execute(
            select(L.c.action, func.count())
            .where(
                L.c.action.in_((ledger.SEGMENT_SALVAGED, ledger.FILE_QUARANTINED)),
                L.c.object == f"camera:{camera_id}",
                L.c.time_us >= since,
            )
            .group_by(L.c.action)
        )
    }
    salvaged = counts.get(ledger.SEGMENT_SALVAGED, 0)
    quarantined = counts.get(ledger.FILE_QUARANTINED, 0)
    english, message_key, params = said(wording(salvaged, quarantined))
    conn.execute(
        update(A)
        .where(A.c.id == open_row.id)
        .values(message=english, message_key=message_key, message_params=params)
    )


class NotAcknowledgeable(ValueError):
    """No such open alarm, or one that its condition clears by itself."""


NOTE_MAX = 2000  # characters of an acknowledgement's note


def clean_note(note: str | None) -> str | None:
    """The note as it is kept: stripped, None when empty; ValueError past NOTE_MAX."""
    if note is None or not note.strip():
        return None
    if len(note) > NOTE_MAX:
        raise ValueError(f"the note has {len(note)} characters; at most {NOTE_MAX}")
    return note.strip()


def acknowledge(conn: Connection, alarm_id: int, actor: str, now_us: int) -> Alarm:
    """A person has seen an alarm that no condition clears: it is closed, with who and when."""
    row = conn.execute(select(A).where(A.c.id == alarm_id)).first()
    if row is None or row.cleared_us is not None:
        raise NotAcknowledgeable(f"no open alarm {alarm_id}")
    if row.kind not in ACKNOWLEDGED_KINDS:
        raise NotAcknowledgeable(
            f"alarm {alarm_id} ({row.kind}) clears by itself once its cause is gone"
        )
    conn.execute(
        update(A)
        .where(A.c.id == alarm_id)
        .values(cleared_us=now_us, acknowledged_by=actor, acknowledged_us=now_us)
    )
    return _alarm(row)


def acknowledge_alarm(ctx: Context, alarm_id: int, *, actor: str, note: str | None = None) -> Alarm:
    """The use case: acknowledge, with a ledger entry in the same transaction: who, when, and
    the person's note (what was found, what was done), when there is one."""
    kept = clean_note(note)
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        write_first(conn)
        alarm = acknowledge(conn, alarm_id, actor, now)
        details: dict[str, object] = {
            "kind": alarm.kind,
            "camera_id": alarm.camera_id,
            "message": alarm.message,
        }
        if kept is not None:
            details["note"] = kept
        ledger.record(
            conn,
            actor=actor,
            action=ledger.ALARM_ACKNOWLEDGED,
            object=f"alarm:{alarm_id}",
            details=details,
            time_us=now,
        )
    return alarm


@dataclass(frozen=True)
class AlarmRecord:
    """An alarm as the alarm list shows it: open or closed, and how it ended."""

    id: int
    kind: str
    camera_id: int | None
    camera: str | None  # the camera's name
    message: str  # English
    raised_us: int
    cleared_us: int | None
    acknowledged_by: str | None
    acknowledged_us: int | None
    note: str | None  # from the acknowledgement's ledger entry
    message_key: str | None = None  # domain/alarm_wording.py; None: only `message` is known
    params: dict[str, str] | None = field(default=None, hash=False)

    @property
    def acknowledgeable(self) -> bool:
        return self.cleared_us is None and self.kind in ACKNOWLEDGED_KINDS


def recent_alarms(ctx: Context, *, since_us: int, limit: int = 200) -> list[AlarmRecord]:
    """The open alarms and those closed since `since_us`, newest first (at most `limit`),
    each acknowledged one with its note as the ledger records it."""
    C = schema.cameras
    L = schema.ledger
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(A, C.c.name.label("camera"))
            .select_from(A.outerjoin(C, C.c.id == A.c.camera_id))
            .where(A.c.cleared_us.is_(None) | (A.c.cleared_us >= since_us))
            .order_by(A.c.raised_us.desc(), A.c.id.desc())
            .limit(limit)
        ).all()
        acked = [f"alarm:{r.id}" for r in rows if r.acknowledged_us is not None]
        notes: dict[str, str] = {}
        if acked:
            for obj, details in conn.execute(
                select(L.c.object, L.c.details).where(
                    L.c.action == ledger.ALARM_ACKNOWLEDGED, L.c.object.in_(acked)
                )
            ):
                try:
                    note = json.loads(details).get("note")
                except (ValueError, AttributeError):
                    note = None
                if isinstance(note, str):
                    notes[str(obj)] = note
    return [
        AlarmRecord(
            int(r.id),
            str(r.kind),
            r.camera_id,
            r.camera,
            str(r.message),
            int(r.raised_us),
            r.cleared_us,
            r.acknowledged_by,
            r.acknowledged_us,
            notes.get(f"alarm:{r.id}"),
            *_wording(r),
        )
        for r in rows
    ]
