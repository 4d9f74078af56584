"""Time as integer microseconds since the Unix epoch, UTC: exact and portable across databases."""

from __future__ import annotations

import time
from datetime import UTC, datetime

US_PER_S = 1_000_000


def now_us() -> int:
    return time.time_ns() // 1000


def to_datetime(us: int) -> datetime:
    return datetime.fromtimestamp(us / US_PER_S, tz=UTC)


def iso(us: int) -> str:
    """ISO 8601 UTC with milliseconds, e.g. 2026-11-29T12:00:00.123Z."""
    return to_datetime(us).strftime("%Y-%m-%dT%H:%M:%S.") + f"{(us // 1000) % 1000:03d}Z"
