"""`custodes status`: what each camera is doing, from the database (any process can ask)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select

from custodes.adapters import archive
from custodes.adapters.db import schema
from custodes.clock import iso, now_us
from custodes.services.alarms import open_alarms
from custodes.services.context import Context

DAY_US = 86_400 * 1_000_000


@dataclass(frozen=True)
class CameraStatus:
    id: int
    name: str
    state: str
    detail: str | None
    segments: int
    bytes: int
    newest_end: str | None
    newest_age_s: float | None
    gaps_24h: int
    gap_seconds_24h: float
    open_gap_since: str | None
    last_error: str | None
    last_error_at: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def camera_status(ctx: Context, *, now: int | None = None) -> list[CameraStatus]:
    now = now or now_us()
    cams, spans, gap, st = (
        schema.cameras,
        schema.spans,
        schema.gaps,
        schema.camera_state,
    )
    since = now - DAY_US
    with ctx.engine.connect() as conn:
        # From the spans (kept in step with the segments by the sealer): a handful of rows
        # per camera, where counting segments would read the whole index.
        seg_stats = {
            r.camera_id: r
            for r in conn.execute(
                select(
                    spans.c.camera_id,
                    func.coalesce(func.sum(spans.c.segments), 0).label("n"),
                    func.coalesce(func.sum(spans.c.bytes), 0).label("bytes"),
                    func.max(spans.c.end_us).label("newest"),
                ).group_by(spans.c.camera_id)
            )
        }
        gap_rows = conn.execute(
            select(gap.c.camera_id, gap.c.start_us, gap.c.end_us).where(
                gap.c.start_us < now, or_(gap.c.end_us.is_(None), gap.c.end_us > since)
            )
        ).all()
        rows = conn.execute(
            select(cams, st.c.state, st.c.detail, st.c.last_error, st.c.last_error_us)
            .select_from(cams.outerjoin(st, and_(st.c.camera_id == cams.c.id)))
            .where(cams.c.retired_us.is_(None))
            .order_by(cams.c.id)
        ).all()
    out = []
    for r in rows:
        s = seg_stats.get(r.id)
        mine = [g for g in gap_rows if g.camera_id == r.id]
        gap_s = sum((min(g.end_us or now, now) - max(g.start_us, since)) / 1e6 for g in mine)
        open_since = next((g.start_us for g in mine if g.end_us is None), None)
        newest = int(s.newest) if s and s.newest is not None else None
        out.append(
            CameraStatus(
                id=r.id,
                name=r.name,
                state=r.state or "idle",
                detail=r.detail,
                segments=int(s.n) if s else 0,
                bytes=int(s.bytes) if s else 0,
                newest_end=iso(newest) if newest else None,
                newest_age_s=round((now - newest) / 1e6, 1) if newest else None,
                gaps_24h=len(mine),
                gap_seconds_24h=round(max(gap_s, 0.0), 1),
                open_gap_since=iso(open_since) if open_since else None,
                last_error=r.last_error,
                last_error_at=iso(r.last_error_us) if r.last_error_us else None,
            )
        )
    return out


def protection(ctx: Context) -> str:
    """How sealed files are protected here: "immutable" (chattr +i) or "read-only" (0444)."""
    return archive.protection_in_force(ctx.data.archive)


@dataclass(frozen=True)
class AlarmStatus:
    kind: str
    camera_id: int | None
    message: str
    raised: str


@dataclass(frozen=True)
class SystemStatus:
    protection: str
    alarms: list[AlarmStatus]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def system_status(ctx: Context) -> SystemStatus:
    with ctx.engine.connect() as conn:
        alarms = [
            AlarmStatus(a.kind, a.camera_id, a.message, iso(a.raised_us)) for a in open_alarms(conn)
        ]
    return SystemStatus(protection(ctx), alarms)
