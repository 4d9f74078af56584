"""When does a new segment continue the camera's current span? (pure)"""

from __future__ import annotations

# Segments of one ffmpeg run start where the previous one ended, give or take receipt jitter;
# a restart or outage leaves seconds. One second separates the two.
JOIN_TOLERANCE_US = 1_000_000


def continues(span_end_us: int, segment_start_us: int) -> bool:
    """True when the segment joins the span (small overlaps from clock jitter included)."""
    return -JOIN_TOLERANCE_US <= segment_start_us - span_end_us <= JOIN_TOLERANCE_US
