"""When a camera counts as offline (issue 12). Pure: times in, a verdict out.

A camera is offline when nothing of it has been recorded for two segment lengths, plus the
time a closed segment may take to be sealed and indexed (SEAL_ALLOWANCE_US: the sealer
gathers segments for a second before it seals them as one group). Counted from the end of
its newest stored segment, or from when the recorder began to record it, whichever is later:
a recorder that has just started (or a camera just added) is not yet offline, but nor is it
online until a segment of this run arrives, so a restart neither clears nor raises an
alarm before it knows.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

OFFLINE_AFTER_SEGMENTS = 2
SEAL_ALLOWANCE_US = 2_000_000


class Verdict(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    UNKNOWN = "unknown"  # watched too briefly to tell, nothing recorded since


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    silent_since_us: int  # the last moment known recorded (or the start of watching)
    silent_us: int  # how long nothing has been recorded, as of now


def offline_after_us(segment_us: int) -> int:
    return OFFLINE_AFTER_SEGMENTS * max(segment_us, 0) + SEAL_ALLOWANCE_US


def judge(
    *, now_us: int, newest_end_us: int | None, watching_since_us: int, segment_us: int
) -> Judgement:
    """The camera's verdict now, from the end of its newest stored segment (None: none) and
    the time the recorder began to record it."""
    limit = offline_after_us(segment_us)
    if newest_end_us is not None and newest_end_us >= watching_since_us:
        silent = now_us - newest_end_us
        verdict = Verdict.OFFLINE if silent > limit else Verdict.ONLINE
        return Judgement(verdict, newest_end_us, max(silent, 0))
    silent = now_us - watching_since_us
    verdict = Verdict.OFFLINE if silent > limit else Verdict.UNKNOWN
    return Judgement(verdict, watching_since_us, max(silent, 0))
