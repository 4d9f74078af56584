"""Periods counted as the PRC Civil Code counts them. Pure: the site's zone and its rest days
are handed in (the calendar of rest days lives in rules/jurisdictions.py).

- Art. 201: for a period in years, months or days the day of the event is not counted; the
  period starts the next day.
- Art. 202: a period in years or months ends on the corresponding date of its last month; if
  that month has no such date, on the month's last day. (The corresponding date is the event's:
  a month from 15 January, counted from the 16th, runs to 15 February — as a period of days
  does, whose last day is the event's date plus N.)
- Art. 203: if the last day is a statutory holiday or rest day (法定休假日), the period ends on
  the day after the holiday ends; the last day ends at 24:00.
- Art. 1259: 以上/以下/以内/届满 include the number, 不满/超过/以外 do not (that decides the
  number of days a rule file states; nothing here).

So footage recorded until the instant `end` under an N-day floor may go from 00:00 (site time)
of the day after the last day, the last day being end's date + N, moved past rest days.

Everything is integer microseconds UTC; dates are the site's. Nothing here may make a caller
fail on stored data: an instant beyond what a calendar date can hold gives `NEVER` (the period
does not end), and `deletable_before` gives `NOTHING` when it cannot be counted.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

Unit = Literal["days", "months", "years"]
UNITS: tuple[Unit, ...] = ("days", "months", "years")
RestDay = Callable[[date], bool]  # whether a date (site time) is a statutory holiday or rest day

NEVER = 2**63 - 1  # the period does not end (the largest BIGINT: it can be stored)
NOTHING = -(2**63)  # deletable_before when nothing may go
# No run of rest days is this long (the longest in China is 9–10 days, weekends included); a
# calendar that says otherwise makes the period end NEVER rather than loop.
MAX_REST_RUN_DAYS = 400
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class Period:
    """N days, months or years (N ≥ 0)."""

    count: int
    unit: Unit = "days"

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"period: unit must be one of {', '.join(UNITS)}, not {self.unit!r}")
        if self.count < 0:
            raise ValueError(f"period: a count of {self.count} {self.unit}")

    def __str__(self) -> str:
        unit = self.unit[:-1] if self.count == 1 else self.unit
        return f"{self.count} {unit}"

    @property
    def longest_days(self) -> int:
        """No period of this length is longer than this many days (before rest days)."""
        per = {"days": 1, "months": 31, "years": 366}[self.unit]
        return self.count * per


def days(n: int) -> Period:
    return Period(n, "days")


def years(n: int) -> Period:
    return Period(n, "years")


def local_date(at_us: int, zone: tzinfo) -> date:
    """The site's date at an instant (exact: integer arithmetic, no float seconds)."""
    return (_EPOCH + at_us * _US).astimezone(zone).date()


def start_of_day(day: date, zone: tzinfo) -> int:
    """The first instant (µs UTC) of a date in the site's zone. Where a zone skips midnight
    (a daylight-saving gap) that is the transition itself: PEP 495's fold=0 reads a time in a
    gap with the offset before it, and an ambiguous time as its first occurrence."""
    moment = datetime(day.year, day.month, day.day, tzinfo=zone)
    return (moment - _EPOCH) // _US


def last_day(event: date, period: Period) -> date:
    """The last day of a period whose event falls on `event` (the day not counted), before any
    move past rest days: event + N days (Art. 201), or the corresponding date N months or years
    on, the month's last day where there is none (Art. 202)."""
    if period.unit == "days":
        return event + timedelta(days=period.count)
    months = period.count * (12 if period.unit == "years" else 1)
    index = event.year * 12 + (event.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(event.day, calendar.monthrange(year, month)[1]))


def working_day_on_or_after(day: date, rest_day: RestDay) -> date | None:
    """`day`, or the day after the holiday it falls in (Art. 203); None past MAX_REST_RUN_DAYS."""
    for _ in range(MAX_REST_RUN_DAYS):
        if not rest_day(day):
            return day
        day += timedelta(days=1)
    return None


def period_end_of_date(event: date, period: Period, zone: tzinfo, rest_day: RestDay) -> int:
    """The instant a period ends whose event falls on the site date `event`: 24:00 of its last
    day (00:00 of the next, site time), or NEVER."""
    try:
        last = working_day_on_or_after(last_day(event, period), rest_day)
        if last is None:
            return NEVER
        return start_of_day(last + timedelta(days=1), zone)
    except (OverflowError, ValueError):  # past 9999-12-31: no calendar counts it
        return NEVER


def period_end(at_us: int, period: Period, zone: str | tzinfo, rest_day: RestDay) -> int:
    """The instant (µs UTC) a period ends that runs from the event at `at_us`: the first instant
    at which it has run out. For retention, footage recorded until `at_us` may be deleted from
    `period_end(at_us, floor, …)` on, never before."""
    tz = _zone(zone)
    try:
        event = local_date(at_us, tz)
    except (OverflowError, ValueError):
        return NEVER
    return period_end_of_date(event, period, tz, rest_day)


def deletable_before(now_us: int, period: Period, zone: str | tzinfo, rest_day: RestDay) -> int:
    """The instant E such that, at `now_us`, the period from an event at t has run out exactly
    when t < E: `period_end(t, …) <= now_us` ⇔ `t < E`. Found with the same period function,
    by bisection over the site's dates (the end is monotone in the event's date), so that the
    sweep compares each interval's newest end with one number. NOTHING when nothing has run
    out (or the instant cannot be counted)."""
    tz = _zone(zone)
    try:
        today = local_date(now_us, tz)
        # an event today has not run out (its period ends at 24:00 today at the earliest);
        # one this far back has run out unless the calendar is absurd
        hi = today
        lo = today - timedelta(days=period.longest_days + MAX_REST_RUN_DAYS + 2)
    except (OverflowError, ValueError):
        return NOTHING

    def run_out(day: date) -> bool:
        return period_end_of_date(day, period, tz, rest_day) <= now_us

    if not run_out(lo):
        return NOTHING
    while (hi - lo).days > 1:  # invariant: run_out(lo), not run_out(hi)
        mid = lo + timedelta(days=(hi - lo).days // 2)
        if run_out(mid):
            lo = mid
        else:
            hi = mid
    try:
        return start_of_day(hi, tz)
    except (OverflowError, ValueError):
        return NOTHING


@dataclass(frozen=True)
class SiteCalendar:
    """The site's zone and rest days: what counting a period needs."""

    zone: tzinfo
    rest_day: RestDay

    @classmethod
    def of(cls, zone: str | tzinfo, rest_day: RestDay) -> SiteCalendar:
        return cls(_zone(zone), rest_day)

    def end(self, at_us: int, period: Period) -> int:
        return period_end(at_us, period, self.zone, self.rest_day)

    def deletable_before(self, now_us: int, period: Period) -> int:
        return deletable_before(now_us, period, self.zone, self.rest_day)


def _zone(zone: str | tzinfo) -> tzinfo:
    return ZoneInfo(zone) if isinstance(zone, str) else zone
