"""`custodes retention plan`: will the disk hold every camera's retention?

Per camera: the bitrate measured over its last day of segments (its whole archive when it
has less), × the longest time its footage is kept → the bytes its archive settles at. Footage
is kept to the end of its period counted as the Civil Code counts (docs/RETENTION.md): the
day it ends is not counted and a last day on a rest day moves on, so an N-day floor keeps
footage up to N + 1 days and more around a holiday; the plan takes the longest keep of any
footage recorded in the coming year. Against the volume: what the
archives still have to grow by, beside the free space (less the recording reserve). The
headroom is what is left, also in days of today's total write rate. An alarm is raised while
the volume cannot hold the retention floors, or would have less than WARN_DAYS of headroom.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from custodes.adapters.db import schema
from custodes.adapters.diskspace import Usage, reserve_bytes, usage
from custodes.domain.alarm_wording import Wording
from custodes.domain.periods import NEVER, Period, SiteCalendar, local_date, start_of_day
from custodes.domain.retention import DAY_US
from custodes.services import alarms
from custodes.services.context import Context
from custodes.services.retention import policy_for, site_calendar

S = schema.segments
SP = schema.spans
CAM = schema.cameras
WARN_DAYS = 7.0


@dataclass(frozen=True)
class CameraPlan:
    camera_id: int
    name: str
    retention_days: int
    bitrate_bps: float  # bits per second, measured
    stored_bytes: int
    needed_bytes: int  # bitrate × the longest keep: what its archive settles at
    kept_days: float = 0.0  # the longest its footage is kept (the period as counted)


@dataclass(frozen=True)
class VolumePlan:
    path: str
    total_bytes: int
    free_bytes: int
    reserve_bytes: int
    growth_bytes: int  # what the archives still have to grow by
    headroom_bytes: int  # free − reserve − growth
    daily_bytes: int  # today's write rate, all cameras
    headroom_days: float | None  # headroom in days of writing (None when nothing records)
    ok: bool
    message: str  # English, from the wording:
    message_key: str  # domain/alarm_wording.py
    message_params: dict[str, str]


@dataclass(frozen=True)
class CapacityPlan:
    cameras: list[CameraPlan]
    volume: VolumePlan

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def plan(ctx: Context, disk: Usage | None = None) -> CapacityPlan:
    """`disk` stands in for the archive volume's usage (tests)."""
    now = ctx.clock()
    cams: list[CameraPlan] = []
    kept: dict[Period, float] = {}
    with ctx.engine.connect() as conn:
        site = site_calendar(conn)
        for cam_id, name in conn.execute(
            select(CAM.c.id, CAM.c.name).where(CAM.c.retired_us.is_(None)).order_by(CAM.c.id)
        ):
            policy = policy_for(conn, cam_id)
            days = policy.days
            if policy.period not in kept:
                kept[policy.period] = _longest_keep_s(site, policy.period, now)
            # the spans hold the archive's sums: a few rows, not the whole index
            stored = int(
                conn.execute(
                    select(func.coalesce(func.sum(SP.c.bytes), 0)).where(SP.c.camera_id == cam_id)
                ).scalar_one()
            )
            recent = conn.execute(
                select(func.sum(S.c.bytes), func.sum(S.c.duration_us)).where(
                    S.c.camera_id == cam_id, S.c.start_us > now - DAY_US
                )
            ).one()
            size, media = recent
            if not media:
                size, media = conn.execute(
                    select(func.sum(S.c.bytes), func.sum(S.c.duration_us)).where(
                        S.c.camera_id == cam_id
                    )
                ).one()
            bitrate = (int(size) * 8 / (int(media) / 1e6)) if media else 0.0
            keep_s = kept[policy.period]
            needed = int(bitrate / 8 * keep_s)
            cams.append(
                CameraPlan(cam_id, name, days, bitrate, stored, needed, round(keep_s / 86_400, 2))
            )
    disk = disk or usage(ctx.data.archive)
    reserve = reserve_bytes()
    growth = sum(max(c.needed_bytes - c.stored_bytes, 0) for c in cams)
    headroom = disk.free - reserve - growth
    daily = int(sum(c.bitrate_bps / 8 * 86_400 for c in cams))
    days_left = headroom / daily if daily else None
    if headroom < 0:
        full_in = (disk.free - reserve) / daily if daily else 0.0
        ok = False
        said = Wording(
            "volume-short",
            {"short_gb": f"{-headroom / 1e9:,.1f}", "days": f"{max(full_in, 0):.1f}"},
        )
    elif days_left is not None and days_left < WARN_DAYS:
        ok = False
        said = Wording("headroom-low", {"days": f"{days_left:.1f}"})
    else:
        ok = True
        said = Wording("volume-holds")
    volume = VolumePlan(
        str(ctx.data.archive),
        disk.total,
        disk.free,
        reserve,
        growth,
        headroom,
        daily,
        days_left,
        ok,
        said.english,
        said.key,
        dict(said.params),
    )
    return CapacityPlan(cams, volume)


def _longest_keep_s(site: SiteCalendar, period: Period, now_us: int) -> float:
    """The longest any footage ending in the coming year is kept, in seconds: footage that
    ends at the first instant of a site day is kept longest that day (the day is not
    counted), to the end of its period."""
    today = local_date(now_us, site.zone)
    longest = 0
    for n in range(367):
        t = start_of_day(today + timedelta(days=n), site.zone)
        end = site.end(t, period)
        if end == NEVER:
            continue
        longest = max(longest, end - t)
    return longest / 1e6 if longest else period.longest_days * 86_400.0


def check_and_alarm(ctx: Context, disk: Usage | None = None) -> CapacityPlan:
    """Raise the disk-low alarm while the plan is not ok; clear it once it is."""
    result = plan(ctx, disk)
    with ctx.engine.begin() as conn:
        if result.volume.ok:
            alarms.clear_alarm(conn, alarms.DISK_LOW, ctx.clock())
        else:
            v = result.volume
            said = Wording(v.message_key, v.message_params)
            alarms.raise_alarm(conn, alarms.DISK_LOW, said, ctx.clock())
    return result
