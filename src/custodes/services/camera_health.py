"""Camera-offline alarms (issue 12): raised for a camera that has recorded nothing for two
segment lengths (domain/health.py decides), cleared once it records again; each raise and
clear is a ledger entry in the alarm's own transaction.

The recorder's supervisor runs `check_offline` at each rescan, with the segment length it
records at and when it began to record each camera. A camera no longer recorded (retired)
has its alarm cleared: there is nothing left to be offline.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, func, select

from custodes.adapters.db import schema
from custodes.adapters.db.engine import write_first
from custodes.clock import iso
from custodes.domain.alarm_wording import Wording
from custodes.domain.camera import redact_text
from custodes.domain.health import Judgement, Verdict, judge
from custodes.services import alarms, ledger
from custodes.services.context import Context

CAMERA_OFFLINE = alarms.CAMERA_OFFLINE
RECORDER = "system:recorder"
SP = schema.spans
ST = schema.camera_state
CAM = schema.cameras


def offline_message(name: str, j: Judgement, reason: str | None) -> Wording:
    """The alarm's message: the recorder's reason (redacted) is data, passed through."""
    params = {
        "camera": name,
        "seconds": f"{j.silent_us / 1e6:,.0f}",
        "since": iso(j.silent_since_us),
    }
    if not reason:
        return Wording("camera-silent-unexplained", params)
    return Wording("camera-silent", {**params, "reason": redact_text(reason)})


def check_offline(
    ctx: Context, *, segment_s: float, watching: Mapping[int, int], now: int | None = None
) -> list[tuple[int, str]]:
    """Raise or clear each watched camera's offline alarm; `watching` maps a camera id to
    when the recorder began to record it. Returns what changed: (camera id, "raised" or
    "cleared")."""
    now = ctx.clock() if now is None else now
    segment_us = int(segment_s * 1e6)
    # Read first: most checks change nothing, and take no write lock then.
    with ctx.engine.connect() as conn:
        newest = {
            int(cid): int(end)
            for cid, end in conn.execute(
                select(SP.c.camera_id, func.max(SP.c.end_us)).group_by(SP.c.camera_id)
            )
            if end is not None
        }
        rows = {
            int(r.id): r
            for r in conn.execute(
                select(CAM.c.id, CAM.c.name, ST.c.state, ST.c.detail, ST.c.last_error).select_from(
                    CAM.outerjoin(ST, ST.c.camera_id == CAM.c.id)
                )
            )
        }
        open_now = {
            a.camera_id
            for a in alarms.open_alarms(conn)
            if a.kind == CAMERA_OFFLINE and a.camera_id is not None
        }
    to_raise: list[tuple[int, Wording]] = []
    to_clear: list[tuple[int, str]] = []
    for camera_id, since in sorted(watching.items()):
        row = rows.get(camera_id)
        if row is None:
            continue
        j = judge(
            now_us=now,
            newest_end_us=newest.get(camera_id),
            watching_since_us=since,
            segment_us=segment_us,
        )
        if j.verdict is Verdict.OFFLINE and camera_id not in open_now:
            reason = row.last_error or row.detail or (row.state and f"state: {row.state}")
            to_raise.append((camera_id, offline_message(str(row.name), j, reason)))
        elif j.verdict is Verdict.ONLINE and camera_id in open_now:
            to_clear.append((camera_id, "recording again"))
    to_clear += [
        (c, "no longer recorded") for c in sorted(open_now - set(watching)) if c is not None
    ]
    if not to_raise and not to_clear:
        return []
    changes: list[tuple[int, str]] = []
    with ctx.engine.begin() as conn:
        write_first(conn)
        for camera_id, message in to_raise:  # raising an open one again raises nothing
            if alarms.raise_alarm(conn, CAMERA_OFFLINE, message, now, camera_id):
                ledger.record(
                    conn,
                    actor=RECORDER,
                    action=ledger.ALARM_RAISED,
                    object=f"camera:{camera_id}",
                    details={"kind": CAMERA_OFFLINE, "message": message.english},
                    time_us=now,
                )
                changes.append((camera_id, "raised"))
        for camera_id, why in to_clear:
            if _clear(conn, camera_id, now, why):
                changes.append((camera_id, "cleared"))
    return changes


def _clear(conn: Connection, camera_id: int, now: int, why: str) -> bool:
    if not alarms.clear_alarm(conn, CAMERA_OFFLINE, now, camera_id):
        return False
    ledger.record(
        conn,
        actor=RECORDER,
        action=ledger.ALARM_CLEARED,
        object=f"camera:{camera_id}",
        details={"kind": CAMERA_OFFLINE, "reason": why},
        time_us=now,
    )
    return True
