"""An instant that stays recent, for footage that code on the real clock must find retained.

A test archive at a literal instant (sealed.T0, 2026-11-18T11:06:40Z) ages with the calendar:
once the real clock passed its 15-day floor, the housekeeper deleted it under a test and the
command line allowed a deletion the test expects refused. Tests on a test clock keep the literal
instant (their dates stay readable and their calendar fixed); what the command line or the
housekeeper judges is sealed at recent.T0 instead: yesterday (UTC) at the same time of day,
12 h 53 min to 36 h 53 min ago, on a whole second, at 19:06:40 in Shanghai on every run.
"""

from __future__ import annotations

import time

DAY_S = 86_400
_TIME_OF_DAY_S = 11 * 3600 + 6 * 60 + 40  # 11:06:40Z, 19:06:40 in Shanghai


def recent_t0(now_s: float | None = None) -> int:
    """Yesterday (UTC) at 11:06:40Z, in microseconds."""
    now = int(time.time() if now_s is None else now_s)
    return ((now // DAY_S - 1) * DAY_S + _TIME_OF_DAY_S) * 1_000_000


T0 = recent_t0()
