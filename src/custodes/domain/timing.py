"""Wall-clock placement of segments from receipt times and media timestamps (pure).

ffmpeg reports each closed segment's media start and end (stream timestamps). It closes
segment k when the first packet of segment k+1 arrives, so the wall time at which we read
that report is the receipt time of the next segment's first packet. A segment's start is
therefore the receipt time of its first packet; its duration is the media duration; the
difference between receipt-based and media-based placement is kept as drift.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SegmentTiming:
    start_us: int
    end_us: int
    duration_us: int
    drift_us: int  # receipt-time start minus the end of the previous segment by media time


@dataclass
class RunClock:
    """Places the segments of one ffmpeg run on the wall clock."""

    prev_close_us: int | None = None
    prev_end_us: int | None = None

    def place(self, media_start_s: float, media_end_s: float, closed_at_us: int) -> SegmentTiming:
        duration_us = max(0, round((media_end_s - media_start_s) * 1_000_000))
        if self.prev_close_us is None:
            # First segment of a run: its first packet arrived one media duration before close.
            start_us = closed_at_us - duration_us
            drift_us = 0
        else:
            start_us = self.prev_close_us
            drift_us = start_us - (self.prev_end_us or start_us)
        end_us = start_us + duration_us
        self.prev_close_us = closed_at_us
        self.prev_end_us = end_us
        return SegmentTiming(start_us, end_us, duration_us, drift_us)
