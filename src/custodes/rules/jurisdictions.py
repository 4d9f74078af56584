"""Load a jurisdiction's retention floors and articles from `rules/jurisdictions/<id>.toml`,
and the calendar of rest days its periods are counted with (Civil Code Art. 203).

The rest-day calendar "CN": Saturdays and Sundays, and China's statutory holidays with the days
off the State Council's yearly notice gives (python-holidays, country "CN", which also lists
the holidays that only part of the population has off). Make-up working days (调休: a Saturday
or Sunday worked in exchange) are ignored: they are still counted as rest days, so nothing ever
ends sooner because of them. When in doubt a day is a rest day — a longer retention is lawful,
a shorter one is not:
- for a year the State Council has not yet published (python-holidays only estimates it), the
  days around each holiday are rest days too: two days either side of every holiday, from two
  days before the Spring Festival's eve to nine days after it, 1–5 May and 1–8 October;
- for a year python-holidays has no data for (before 1950, after 2100) every day is a rest day,
  so a period ending then does not end.
"""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import holidays
from holidays.constants import HALF_DAY, PUBLIC

from custodes.domain.periods import Period, RestDay
from custodes.domain.retention import (
    IMPORTANT_DEFAULT,
    STATUSES,
    Floor,
    ImportantRule,
    Jurisdiction,
)

FOLDER = Path(__file__).with_name("jurisdictions")
CALENDARS = ("CN",)


def known() -> list[str]:
    return sorted(p.stem for p in FOLDER.glob("*.toml"))


@cache
def load(jurisdiction_id: str) -> Jurisdiction:
    path = FOLDER / f"{jurisdiction_id}.toml"
    if jurisdiction_id not in known() or not path.is_file():
        raise ValueError(f"jurisdiction: no rules for {jurisdiction_id!r} (known: {known()})")
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    status = raw.get("status")
    if status not in STATUSES:
        raise ValueError(
            f"{path.name}: status must be one of {', '.join(STATUSES)} (is the text law or a "
            f"draft?), not {status!r}"
        )
    calendar_name = raw.get("rest_days")
    if calendar_name not in CALENDARS:
        raise ValueError(f"{path.name}: rest_days must be one of {', '.join(CALENDARS)}")
    return Jurisdiction(
        id=raw["id"],
        name=raw["name"],
        name_zh=raw["name_zh"],
        source=raw["source"],
        status=status,
        rest_days=calendar_name,
        video=_floor(raw["video"]),
        no_deletion_article=raw["no_deletion"]["article"],
        key_target=_floor(raw["key_target"]) if "key_target" in raw else None,
        important=_important(raw["important"]) if "important" in raw else IMPORTANT_DEFAULT,
        logs=_floor(raw["logs"]) if "logs" in raw else None,
    )


def _floor(table: dict[str, Any]) -> Floor:
    return Floor(int(table["days"]), str(table["article"]))


def _important(table: dict[str, Any]) -> ImportantRule:
    if "days" in table:
        raise ValueError("important: a period of years or months (Civil Code Art. 202), not days")
    if "years" in table:
        period = Period(int(table["years"]), "years")
    else:
        period = Period(int(table["months"]), "months")
    article = table.get("article")
    return ImportantRule(period, None if article is None else str(article))


# --- rest days ------------------------------------------------------------------------------


def rest_days(name: str) -> RestDay:
    """The rest-day predicate of a calendar named in a rule file."""
    if name != "CN":
        raise ValueError(f"rest days: no calendar {name!r} (known: {', '.join(CALENDARS)})")
    return cn_rest_day


def cn_rest_day(day: date) -> bool:
    """Whether a date is a rest day in China (see the module's docstring)."""
    if day.weekday() >= 5:
        return True
    days = _cn_year(day.year)
    return days is None or day in days


FIRST_YEAR, LAST_YEAR = 1950, 2100  # python-holidays' China


def _official_years() -> range:
    """The years whose days off are the State Council's published ones (notices from 2001 on,
    as far as this python-holidays knows them); other years are its estimates."""
    try:
        from holidays.countries.china import ChinaStaticHolidays

        published = max(ChinaStaticHolidays.special_public_holidays)
    except (ImportError, AttributeError, ValueError, TypeError):
        return range(0)  # not knowable: every year is in doubt
    return range(2001, int(published) + 1)


OFFICIAL = _official_years()


@cache
def _cn_year(year: int) -> frozenset[date] | None:
    """The year's holidays and days off (weekends aside), widened where the year is in doubt;
    None where nothing is known (every day a rest day)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    found: set[date] = set()
    for y in (year - 1, year, year + 1):  # a widened neighbour may reach into this year
        if FIRST_YEAR <= y <= LAST_YEAR:
            found |= _cn_days(y)
    return frozenset(d for d in found if d.year == year)


def _cn_days(year: int) -> set[date]:
    listed = holidays.country_holidays("CN", years=year, categories=(PUBLIC, HALF_DAY))
    days = {d for d in listed if d.year == year}
    if year in OFFICIAL:
        return days
    public = holidays.country_holidays("CN", years=year)
    wider: set[date] = set()
    for d in public:
        wider |= _span(d - timedelta(days=2), d + timedelta(days=2))
    spring = [d for d in public if date(year, 1, 19) <= d <= date(year, 2, 22)]
    if spring:
        first = min(spring)  # the eve (or, in older rules, the first day)
        wider |= _span(first - timedelta(days=2), first + timedelta(days=9))
    wider |= _span(date(year, 5, 1), date(year, 5, 5))
    wider |= _span(date(year, 10, 1), date(year, 10, 8))
    return days | wider


def _span(first: date, last: date) -> set[date]:
    return {first + timedelta(days=i) for i in range((last - first).days + 1)}
