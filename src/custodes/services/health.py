"""The health page's figures (issue 12): per camera and per volume, every one measured.

Reused, not recomputed: the cameras' state, newest segment, gaps and stored bytes from
services/status.py `camera_status`; the bitrate over the last day and the volume's free
space and headroom from the retention plan (services/capacity.py `plan`). Measured here: the
frame rate, as ffprobe counts the frames of the camera's newest stored segment over its
indexed duration; and how many days the free space (less the recording reserve) holds at
today's write rate.

Total: a figure that cannot be measured (no segment, ffprobe cannot read it, the retention
plan needs a setting that is missing, a stored number out of any range) is None with the
reason, never an error that would fail the page.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select

from custodes.adapters.db import schema
from custodes.adapters.ffmpeg.probe import count_video_frames
from custodes.services.alarms import CAMERA_OFFLINE, Alarm, open_alarms
from custodes.services.capacity import CapacityPlan, plan
from custodes.services.context import Context
from custodes.services.status import CameraStatus, DiskStatus, camera_status, disk_status

log = logging.getLogger(__name__)
S = schema.segments
ONLINE, OFFLINE, STARTING = "online", "offline", "starting"


@dataclass(frozen=True)
class CameraHealth:
    id: int
    name: str
    online: str  # online | offline | starting
    state: str
    reason: str | None  # why offline: the alarm's message, the state's detail or last error
    frame_rate: float | None  # frames per second of the newest stored segment
    bitrate_bps: float | None  # over the last day of segments (the retention plan's)
    newest_age_s: float | None
    gaps_24h: int
    stored_bytes: int
    # the offline alarm's message as data (domain/alarm_wording.py), when it is the reason
    reason_key: str | None = None
    reason_params: dict[str, str] | None = field(default=None, hash=False)


@dataclass(frozen=True)
class VolumeHealth:
    path: str
    total_bytes: int | None
    free_bytes: int | None
    reserve_bytes: int | None
    days_until_full: float | None  # free less the reserve, at today's write rate
    headroom_days: float | None  # beyond every camera's retention floor (the plan's)
    ok: bool | None
    message: str | None
    message_key: str | None = None  # domain/alarm_wording.py
    message_params: dict[str, str] | None = field(default=None, hash=False)


@dataclass(frozen=True)
class HealthReport:
    cameras: list[CameraHealth]
    volumes: list[VolumeHealth]
    problems: list[str] = field(default_factory=list)  # what could not be measured, and why


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


@lru_cache(maxsize=4096)
def _frames(path: str) -> int | None:
    """Sealed segments never change: one count per file, however often the page is shown.
    (None, a file ffprobe could not read, is kept too: a damaged file is verify's to find.)"""
    return count_video_frames(Path(path))


def frame_rate(ctx: Context, camera_id: int) -> float | None:
    """Frames per second of the camera's newest stored segment (None: none, or unreadable)."""
    with ctx.engine.connect() as conn:
        row = conn.execute(
            select(S.c.path, S.c.duration_us)
            .where(S.c.camera_id == camera_id)
            .order_by(S.c.seq.desc())
            .limit(1)
        ).first()
    if row is None or not row.duration_us or row.duration_us <= 0:
        return None
    path = ctx.data.archive / str(row.path)
    try:
        inside = path.resolve().is_relative_to(ctx.data.archive.resolve())
    except (OSError, ValueError):
        return None
    if not inside:
        return None
    frames = _frames(str(path))
    if frames is None:
        return None
    return _finite(round(frames / (int(row.duration_us) / 1e6), 2))


def _online(st: CameraStatus, offline: dict[int, Alarm]) -> tuple[str, str | None]:
    if st.id in offline:
        return OFFLINE, offline[st.id].message
    if st.state == "recording":
        return ONLINE, None
    if st.state == "starting":
        return STARTING, st.detail
    return OFFLINE, st.detail or st.last_error


def health(ctx: Context) -> HealthReport:
    problems: list[str] = []
    try:
        cams = camera_status(ctx)
    except Exception as exc:  # the page still shows the volume and says why
        log.exception("health: camera status")
        cams, problems = [], [f"camera status: {exc}"]
    try:
        with ctx.engine.connect() as conn:
            offline = {
                a.camera_id: a
                for a in open_alarms(conn)
                if a.kind == CAMERA_OFFLINE and a.camera_id is not None
            }
    except Exception as exc:
        offline = {}
        problems.append(f"alarms: {exc}")
    capacity: CapacityPlan | None = None
    try:
        capacity = plan(ctx)
    except Exception as exc:
        problems.append(f"retention plan: {exc}")
    bitrates = {c.camera_id: c.bitrate_bps for c in capacity.cameras} if capacity else {}
    out = []
    for st in cams:
        try:
            fps = frame_rate(ctx, st.id)
        except Exception as exc:
            fps = None
            problems.append(f"frame rate of {st.name}: {exc}")
        online, reason = _online(st, offline)
        alarm = offline.get(st.id)
        out.append(
            CameraHealth(
                st.id,
                st.name,
                online,
                st.state,
                reason,
                fps,
                _finite(bitrates.get(st.id)),
                _finite(st.newest_age_s),
                st.gaps_24h,
                st.bytes,
                alarm.message_key if alarm else None,
                alarm.params if alarm else None,
            )
        )
    return HealthReport(out, [_volume(ctx, capacity, problems)], problems)


def _volume(ctx: Context, capacity: CapacityPlan | None, problems: list[str]) -> VolumeHealth:
    if capacity is not None:
        v = capacity.volume
        spare = v.free_bytes - v.reserve_bytes
        until_full = max(spare, 0) / v.daily_bytes if v.daily_bytes > 0 else None
        return VolumeHealth(
            v.path,
            v.total_bytes,
            v.free_bytes,
            v.reserve_bytes,
            _finite(until_full),
            _finite(v.headroom_days),
            v.ok,
            v.message,
            v.message_key,
            v.message_params,
        )
    try:
        disk: DiskStatus | None = disk_status(ctx)
    except Exception as exc:
        disk = None
        problems.append(f"archive volume: {exc}")
    return VolumeHealth(
        str(ctx.data.archive),
        disk.total_bytes if disk else None,
        disk.free_bytes if disk else None,
        disk.reserve_bytes if disk else None,
        None,
        None,
        None,
        None,
    )
