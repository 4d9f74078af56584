"""Periods counted as the Civil Code counts them (domain/periods.py) with China's rest days
(rules/jurisdictions.py): exact instants, table-driven, and properties over random instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custodes.domain.periods import (
    NEVER,
    NOTHING,
    Period,
    SiteCalendar,
    days,
    deletable_before,
    last_day,
    local_date,
    period_end,
    start_of_day,
    years,
)
from custodes.domain.retention import (
    DAY_US,
    Floor,
    Hold,
    Jurisdiction,
    camera_policy,
    deletion_refusal,
    important_until,
)
from custodes.rules.jurisdictions import cn_rest_day, known, load

SHANGHAI = ZoneInfo("Asia/Shanghai")
CN = SiteCalendar(SHANGHAI, cn_rest_day)
US = 1_000_000


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0, us: int = 0) -> int:
    """µs UTC of a Shanghai wall-clock time."""
    moment = datetime(y, m, d, hh, mm, ss, us, tzinfo=SHANGHAI)
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def utc(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0, us: int = 0) -> int:
    moment = datetime(y, m, d, hh, mm, ss, us, tzinfo=UTC)
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def no_rest(_: date) -> bool:
    return False


# (what, footage ends at, period, the instant the period has run out: deletable from then on)
CASES: list[tuple[str, int, Period, int]] = [
    # Art. 201: the end's own day is not counted, whatever the hour; Art. 203: 24:00 of day 15
    ("ends 23:59:59 on Wed 18 Nov", sh(2026, 11, 18, 23, 59, 59), days(15), sh(2026, 12, 4)),
    ("ends 00:00:01 on Thu 19 Nov", sh(2026, 11, 19, 0, 0, 1), days(15), sh(2026, 12, 5)),
    ("ends at 00:00:00 exactly", sh(2026, 11, 19), days(15), sh(2026, 12, 5)),
    ("ends 23:59:59.999999", sh(2026, 11, 18, 23, 59, 59, 999_999), days(15), sh(2026, 12, 4)),
    # the UTC/site boundary: 16:00 UTC is midnight in Shanghai
    ("15:59:59Z is 23:59:59 there", utc(2026, 11, 18, 15, 59, 59), days(15), utc(2026, 12, 3, 16)),
    ("16:00:00Z is the next day", utc(2026, 11, 18, 16), days(15), utc(2026, 12, 4, 16)),
    ("00:30Z is 08:30 there", utc(2026, 11, 18, 0, 30), days(15), utc(2026, 12, 3, 16)),
    # Art. 203: a last day on a Saturday moves to Monday, and the period ends at its 24:00
    ("last day Sat 5 Dec", sh(2026, 11, 20, 12), days(15), sh(2026, 12, 8)),
    ("last day Sun 6 Dec", sh(2026, 11, 21, 12), days(15), sh(2026, 12, 8)),
    # National Day 2026: 1–7 October off (1–3 holidays, the 4th a Sunday, 5–7 days off)
    ("last day 1 Oct", sh(2026, 9, 16, 9), days(15), sh(2026, 10, 9)),
    ("last day 7 Oct", sh(2026, 9, 22, 9), days(15), sh(2026, 10, 9)),
    ("last day 8 Oct, a workday", sh(2026, 9, 23, 9), days(15), sh(2026, 10, 9)),
    # Spring Festival 2026: 15–23 Feb off; Sat 14 Feb was a make-up working day (调休),
    # still counted a rest day: it never shortens anything
    ("last day Sat 14 Feb (调休)", sh(2026, 1, 30, 9), days(15), sh(2026, 2, 25)),
    ("last day Fri 13 Feb", sh(2026, 1, 29, 9), days(15), sh(2026, 2, 14)),
    # Chongqing's 16 and Shenzhen's 30
    ("16 days", sh(2026, 11, 18, 10), days(16), sh(2026, 12, 5)),
    ("30 days, last day Fri 18 Dec", sh(2026, 11, 18, 10), days(30), sh(2026, 12, 19)),
    # Art. 202: a year ends on the corresponding date; Feb 29 has none in 2029: Feb 28
    ("Feb 29 + 1 year", sh(2028, 2, 29, 10), years(1), sh(2029, 3, 1)),
    ("Feb 28 + 1 year", sh(2028, 2, 28, 10), years(1), sh(2029, 3, 1)),
    ("1 year, not 365 days", sh(2027, 3, 10, 10), years(1), sh(2028, 3, 11)),
    ("1 year from 18 Nov 2026", sh(2026, 11, 18, 19), years(1), sh(2027, 11, 19)),
    ("Jan 31 + 1 month", sh(2026, 1, 31, 10), Period(1, "months"), sh(2026, 3, 3)),
]


@pytest.mark.parametrize(("what", "end", "period", "expected"), CASES, ids=[c[0] for c in CASES])
def test_period_ends_exactly(what: str, end: int, period: Period, expected: int) -> None:
    assert period_end(end, period, "Asia/Shanghai", cn_rest_day) == expected, what
    assert CN.end(end, period) == expected
    # deletable from `expected` on, and not one microsecond before
    assert end < CN.deletable_before(expected, period)
    assert not end < CN.deletable_before(expected - 1, period)


def test_jan_31_plus_one_month_ends_on_the_last_day_of_february() -> None:
    assert last_day(date(2026, 1, 31), Period(1, "months")) == date(2026, 2, 28)
    assert last_day(date(2028, 1, 31), Period(1, "months")) == date(2028, 2, 29)
    assert last_day(date(2028, 2, 29), years(1)) == date(2029, 2, 28)
    assert last_day(date(2028, 2, 29), years(4)) == date(2032, 2, 29)
    assert last_day(date(2026, 11, 18), days(15)) == date(2026, 12, 3)
    assert last_day(date(2026, 12, 20), days(15)) == date(2027, 1, 4)
    # plain calendar arithmetic: rest days come after (Art. 203)
    assert last_day(date(2026, 12, 31), Period(14, "months")) == date(2028, 2, 29)


def test_without_rest_days_a_period_ends_at_24_00_of_its_last_day() -> None:
    # 5 Dec 2026 is a Saturday: with no rest days the period ends at its own 24:00
    assert period_end(sh(2026, 11, 20, 12), days(15), SHANGHAI, no_rest) == sh(2026, 12, 6)
    assert period_end(sh(2026, 11, 20, 12), days(0), SHANGHAI, no_rest) == sh(2026, 11, 21)


def test_the_zone_is_the_sites() -> None:
    end = utc(2026, 11, 18, 20)  # Shanghai: 19 Nov 04:00; UTC: 18 Nov
    assert period_end(end, days(15), "Asia/Shanghai", no_rest) == sh(2026, 12, 5)
    assert period_end(end, days(15), "UTC", no_rest) == utc(2026, 12, 4)


def test_the_chinese_rest_days() -> None:
    rest = [date(2026, 10, d) for d in range(1, 8)] + [date(2026, 2, 14), date(2026, 9, 20)]
    assert all(cn_rest_day(d) for d in rest)  # 9-20 and 2-14: make-up working Sun and Sat
    work = [date(2026, 10, 8), date(2026, 10, 9), date(2026, 2, 24), date(2026, 12, 3)]
    assert not any(cn_rest_day(d) for d in work)
    # 2030 is not yet published: python-holidays has 1–3 Oct, and the week around is in doubt
    assert cn_rest_day(date(2030, 10, 7)) and not cn_rest_day(date(2030, 10, 9))
    # nothing known about it: a rest day, so that a period ending then does not end
    assert cn_rest_day(date(2101, 3, 1)) and cn_rest_day(date(1949, 3, 1))
    assert period_end(sh(2101, 1, 1), days(15), SHANGHAI, cn_rest_day) == NEVER


def test_instants_no_calendar_holds_never_end_and_never_fail() -> None:
    huge = 2**62
    assert period_end(huge, days(15), SHANGHAI, cn_rest_day) == NEVER
    assert period_end(-huge, days(15), SHANGHAI, cn_rest_day) == NEVER
    assert period_end(sh(9999, 12, 30), days(15), SHANGHAI, no_rest) == NEVER
    assert deletable_before(huge, days(15), SHANGHAI, cn_rest_day) == NOTHING
    assert deletable_before(-huge, days(15), SHANGHAI, cn_rest_day) == NOTHING
    assert period_end(sh(2026, 1, 1), days(15), SHANGHAI, lambda _: True) == NEVER


def test_a_bad_period_is_refused() -> None:
    with pytest.raises(ValueError, match="unit"):
        Period(1, "weeks")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="count"):
        Period(-1)
    assert str(years(1)) == "1 year" and str(days(15)) == "15 days"


# --- properties ------------------------------------------------------------------------------

INSTANTS = st.integers(min_value=sh(2001, 1, 1), max_value=sh(2099, 6, 1))
FLOORS = st.sampled_from([days(15), days(16), days(30), days(90), years(1), Period(3, "months")])


@settings(max_examples=300, deadline=None)
@given(end=INSTANTS, period=FLOORS)
def test_never_deletable_a_microsecond_early(end: int, period: Period) -> None:
    """Whatever the instant, the period ends at a site midnight, after its last full day:
    footage is never deletable before 24:00 of the N-th day after the day it ends."""
    stop = CN.end(end, period)
    event = local_date(end, SHANGHAI)
    assert stop == start_of_day(local_date(stop, SHANGHAI), SHANGHAI)  # a midnight
    assert local_date(stop, SHANGHAI) > last_day(event, period)
    assert not cn_rest_day(local_date(stop - 1, SHANGHAI))  # the last day is a workday
    if period.unit == "days":
        assert stop - end > period.count * DAY_US
    policy = camera_policy(load("jilin"), key_target=False, operator_days=None)
    if period == days(15):
        assert deletion_refusal(end - US, end, stop - 1, policy, [], CN) is not None
        assert deletion_refusal(end - US, end, stop, policy, [], CN) is None


@settings(max_examples=300, deadline=None)
@given(end=INSTANTS, now=INSTANTS, period=FLOORS)
def test_the_sweeps_cutoff_is_the_same_period(end: int, now: int, period: Period) -> None:
    """deletable_before (one number per camera for the sweep) says exactly what period_end
    says for each instant."""
    assert (CN.end(end, period) <= now) == (end < CN.deletable_before(now, period))


SANTIAGO = ZoneInfo("America/Santiago")  # clocks change at midnight there


@settings(max_examples=200, deadline=None)
@given(end=INSTANTS, now=INSTANTS)
def test_a_zone_that_changes_clocks_at_midnight(end: int, now: int) -> None:
    cutoff = deletable_before(now, days(15), SANTIAGO, no_rest)
    assert (period_end(end, days(15), SANTIAGO, no_rest) <= now) == (end < cutoff)


@pytest.mark.parametrize("zone", [SHANGHAI, SANTIAGO, ZoneInfo("Europe/Berlin")])
def test_start_of_day_is_the_first_instant_of_the_date(zone: tzinfo) -> None:
    day = date(2026, 1, 1)
    for _ in range(400):
        first = start_of_day(day, zone)
        assert local_date(first, zone) == day
        assert local_date(first - 1, zone) < day
        day += timedelta(days=1)


# --- what the jurisdictions say --------------------------------------------------------------


def test_floors_articles_and_status() -> None:
    policies = {j: camera_policy(load(j), key_target=False, operator_days=None) for j in known()}
    assert {j: p.days for j, p in policies.items()} == {
        "jilin": 15,
        "liaoning": 16,
        "chongqing": 16,  # Art. 11(4), "más de 15 días": 超过 excludes the number
        "shenzhen": 30,
    }
    assert policies["shenzhen"].article == "Shenzhen Art. 32 (draft regulations)"
    assert policies["shenzhen"].no_deletion_article == "Shenzhen Art. 30(3) (draft regulations)"
    assert policies["jilin"].article == "Jilin Art. 21(2)"
    assert [j for j in known() if load(j).draft] == ["shenzhen"]
    # an important hold: a year everywhere; an article of its own only in Liaoning
    assert {j: load(j).important.period for j in known()} == dict.fromkeys(known(), years(1))
    assert {j: p.important_article for j, p in policies.items()} == {
        "jilin": None,
        "liaoning": "Liaoning Art. 14(7)",
        "chongqing": None,
        "shenzhen": None,
    }


@pytest.mark.parametrize(
    ("jurisdiction", "article"),
    [
        ("jilin", "Jilin Art. 22(3)"),
        ("liaoning", "Liaoning Art. 14(7)"),
        ("chongqing", "Chongqing Art. 12(3)"),
        ("shenzhen", "Shenzhen Art. 30(3) (draft regulations)"),
    ],
)
def test_an_important_hold_cites_liaoning_only_in_liaoning(jurisdiction: str, article: str) -> None:
    j = load(jurisdiction)
    policy = camera_policy(j, key_target=False, operator_days=None)
    end = sh(2026, 11, 18, 19)
    until = important_until(end, j, CN)
    assert until == sh(2027, 11, 19)  # a year on (Art. 202), past its 24:00
    hold = Hold(7, "important", end - 60 * US, end, until)
    now = sh(2027, 6, 1)
    refusal = deletion_refusal(end - 60 * US, end, now, policy, [hold], CN)
    assert refusal is not None and refusal.article == article
    assert "important hold #7" in refusal.reason
    assert deletion_refusal(end - 60 * US, end, until, policy, [hold], CN) is None


def test_a_refusal_names_the_period_and_its_end() -> None:
    j = Jurisdiction("x", "X", "X", "x", Floor(15, "X Art. 1"), "X Art. 2")
    policy = camera_policy(j, key_target=False, operator_days=None)
    end = sh(2026, 11, 18, 23, 59, 59)
    refusal = deletion_refusal(end - US, end, sh(2026, 12, 3, 23), policy, [], CN)
    assert refusal is not None
    assert refusal.reason == (
        "inside its 15-day retention (jurisdiction floor) until 2026-12-03T16:00:00.000Z"
    )
    assert refusal.article == "X Art. 1; X Art. 2"
