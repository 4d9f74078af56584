"""Time as integer microseconds since the Unix epoch, UTC: exact and portable across databases."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

US_PER_S = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_us() -> int:
    return time.time_ns() // 1000


def to_datetime(us: int) -> datetime:
    return datetime.fromtimestamp(us / US_PER_S, tz=UTC)


def iso(us: int) -> str:
    """ISO 8601 UTC with milliseconds, e.g. 2026-11-29T12:00:00.123Z (exact: no float seconds).

    Total, because it renders stored values: one no calendar date holds (a number stored before
    times were bounded, domain/instants.py) is shown as the number, marked — never an error
    that would make a page, a list or a report fail."""
    try:
        m = _EPOCH + timedelta(microseconds=us)
    except (OverflowError, ValueError, TypeError):
        return f"{us} µs since 1970 UTC"
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
        f".{m.microsecond // 1000:03d}Z"
    )
