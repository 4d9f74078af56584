"""What was recorded for a camera in a time window: spans and gaps (the timeline)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select

from custodes.adapters.db import schema
from custodes.clock import now_us
from custodes.services.context import Context

SP = schema.spans
G = schema.gaps
S = schema.segments
# No segment is longer than this: lets the start_us index bound a range scan from below.
MAX_SEGMENT_US = 300 * 1_000_000


@dataclass(frozen=True)
class Span:
    start_us: int
    end_us: int
    segments: int
    bytes: int


@dataclass(frozen=True)
class Gap:
    start_us: int
    end_us: int | None  # None: still going on
    reason: str


@dataclass(frozen=True)
class Timeline:
    camera_id: int
    from_us: int
    to_us: int
    spans: list[Span]
    gaps: list[Gap]


def timeline(ctx: Context, camera_id: int, from_us: int, to_us: int) -> Timeline:
    """Spans and gaps overlapping [from_us, to_us), clipped to the window (index range scans)."""
    with ctx.engine.connect() as conn:
        span_rows = conn.execute(
            select(SP.c.start_us, SP.c.end_us, SP.c.segments, SP.c.bytes)
            .where(SP.c.camera_id == camera_id, SP.c.end_us > from_us, SP.c.start_us < to_us)
            .order_by(SP.c.start_us)
        ).all()
        gap_rows = conn.execute(
            select(G.c.start_us, G.c.end_us, G.c.reason)
            .where(
                G.c.camera_id == camera_id,
                G.c.start_us < to_us,
                or_(G.c.end_us.is_(None), G.c.end_us > from_us),
            )
            .order_by(G.c.start_us)
        ).all()
    spans = [
        Span(max(r.start_us, from_us), min(r.end_us, to_us), int(r.segments), int(r.bytes))
        for r in span_rows
    ]
    gaps = [
        Gap(
            max(r.start_us, from_us),
            None if r.end_us is None else min(r.end_us, to_us),
            r.reason,
        )
        for r in gap_rows
    ]
    return Timeline(camera_id, from_us, to_us, spans, gaps)


@dataclass(frozen=True)
class SegmentRef:
    path: str
    start_us: int
    end_us: int


def segments_between(ctx: Context, camera_id: int, from_us: int, to_us: int) -> list[SegmentRef]:
    """The archived segments that overlap [from_us, to_us), in order."""
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(S.c.path, S.c.start_us, S.c.end_us)
            .where(
                S.c.camera_id == camera_id,
                S.c.start_us >= from_us - MAX_SEGMENT_US,
                S.c.start_us < to_us,
                S.c.end_us > from_us,
            )
            .order_by(S.c.start_us)
        ).all()
    return [SegmentRef(r.path, int(r.start_us), int(r.end_us)) for r in rows]


def now_window(hours: float = 24.0) -> tuple[int, int]:
    end = now_us()
    return end - int(hours * 3600 * 1_000_000), end
