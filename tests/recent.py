"""An instant that stays recent, for footage that code on the real clock must find retained.

A test archive at a literal instant (sealed.T0, 2026-11-18T11:06:40Z) ages with the calendar:
once the real clock passed its 15-day floor, the housekeeper deleted it under a test and the
command line allowed a deletion the test expects refused. Tests on a test clock keep the literal
instant (their dates stay readable and their calendar fixed); what the command line or the
housekeeper judges is sealed at recent.T0 instead: yesterday (UTC) at the same time of day,
12 h 53 min to 36 h 53 min ago, on a whole second, at 19:06:40 in Shanghai on every run.
"""

from __future__ import annotations

from custodes.clock import now_us
from custodes.domain.retention import DAY_US

_TIME_OF_DAY_US = (11 * 3600 + 6 * 60 + 40) * 1_000_000  # 11:06:40Z, 19:06:40 in Shanghai

T0 = (now_us() // DAY_US - 1) * DAY_US + _TIME_OF_DAY_US  # yesterday (UTC) at 11:06:40Z
