"""Wall-clock placement of segments from receipt times and media timestamps (pure).

ffmpeg reports each closed segment's media start and end (stream timestamps). It closes
segment k when the first packet of segment k+1 arrives, so the wall time at which we read
that report is — at best — the receipt time of the next segment's first packet. On a loaded
machine we read it late, by a second or more now and then; placing segments at those read
times cut one continuous recording into spans and registered holes the footage does not have.

So within one ffmpeg run the media clock places a segment (where the previous one ended, plus
any gap the timestamps show), and receipt time only steers it: the placement moves toward the
receipt time by at most SLEW_US a segment, which follows a camera whose clock runs fast or
slow and forgives a late read. A difference beyond STEP_US is no jitter — the stream stopped
while ffmpeg waited, or the wall clock stepped — and receipt time wins at once. The measured
difference is kept as drift either way.
"""

from __future__ import annotations

from dataclasses import dataclass

SLEW_US = 100_000  # at most this much closer to receipt time per segment (verification's jitter)
STEP_US = 5_000_000  # a difference beyond this is an event, not jitter: placed by receipt time


@dataclass(frozen=True)
class SegmentTiming:
    start_us: int
    end_us: int
    duration_us: int
    drift_us: int  # receipt-time start minus the start the media clock gives


@dataclass
class RunClock:
    """Places the segments of one ffmpeg run on the wall clock."""

    prev_close_us: int | None = None
    prev_end_us: int | None = None
    prev_media_end_s: float | None = None

    def place(self, media_start_s: float, media_end_s: float, closed_at_us: int) -> SegmentTiming:
        duration_us = max(0, round((media_end_s - media_start_s) * 1_000_000))
        if self.prev_close_us is None or self.prev_end_us is None:
            # First segment of a run: its first packet arrived one media duration before close.
            start_us = closed_at_us - duration_us
            drift_us = 0
        else:
            media_gap_us = round((media_start_s - (self.prev_media_end_s or 0.0)) * 1_000_000)
            by_media = self.prev_end_us + media_gap_us
            drift_us = self.prev_close_us - by_media
            if abs(drift_us) > STEP_US:
                start_us = self.prev_close_us
            else:
                start_us = by_media + max(-SLEW_US, min(SLEW_US, drift_us))
        end_us = start_us + duration_us
        self.prev_close_us = closed_at_us
        self.prev_end_us = end_us
        self.prev_media_end_s = media_end_s
        return SegmentTiming(start_us, end_us, duration_us, drift_us)
