"""One range and one parser for every time that comes from outside. Pure.

Inside, an instant is integer µs since the epoch, UTC (clock.py). A time a person gives — an
API query or body, a page's form (through the API), a CLI option — becomes one only here:
`from_datetime` (the web: FastAPI has read the ISO 8601 text) or `parse` (the CLI: the text
itself), both exact (integer arithmetic, no float seconds), and both refuse, with
`BadInstant`, an instant outside [EARLIEST_US, LATEST_US] — 1970-01-01 to 2200-01-01 UTC. No
footage, grant or hold lies outside it: a time outside is a typo or an attack (year 1 with a
+23:59 offset lies before any calendar date in UTC; 9999-12-31T22:00Z is year 10000 in
Shanghai) and is refused before anything is stored or recorded, so that nothing stored can
make a page, a list or the ledger fail. Exports and the export format use the same range
(domain/export_format.py).

Rendering is the other half: `clock.iso` shows any stored integer — in the range or not, one
stored before the range was enforced — and never fails.

Each refusal names its problem (`BadInstant.problem`) and carries an English message id
(`msgid`, `params`) that the entrypoints translate (Simplified Chinese and English).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

EARLIEST_US = 0  # 1970-01-01T00:00:00Z
LATEST_US = 7_258_118_400_000_000  # 2200-01-01T00:00:00Z
RANGE_TEXT = "1970-01-01 … 2200-01-01 UTC"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)

Problem = Literal["format", "zone", "range", "order"]

# The message ids (English; the catalogues entrypoints/web/locale/*.po translate them).
MESSAGES: dict[Problem, str] = {
    "format": "not an ISO 8601 time (for example 2026-11-29T08:00:00+08:00)",
    "zone": "give a time zone (for example +08:00 or Z)",
    "range": "must lie between 1970-01-01 and 2200-01-01 (UTC)",
    "order": "must be after %(other)s",
}


class BadInstant(ValueError):
    """A time from outside that is not one: unreadable, without its zone, out of the range,
    or the end of a window not after its start. `field` names the input."""

    def __init__(self, problem: Problem, field: str, *, other: str = "") -> None:
        self.problem: Problem = problem
        self.field = field
        self.msgid = MESSAGES[problem]
        self.params: dict[str, str] = {"other": other} if problem == "order" else {}
        super().__init__(f"{field}: {self.msgid % self.params}")


def in_range(us: int) -> bool:
    return EARLIEST_US <= us <= LATEST_US


def check(us: int, field: str) -> int:
    """`us`, if it lies in the range; else BadInstant."""
    if not in_range(us):
        raise BadInstant("range", field)
    return us


def from_datetime(moment: datetime, field: str) -> int:
    """µs since the epoch of a time read from outside (UTC if it has no zone), in the range."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # an aware difference never leaves the calendar (year 1 at +23:59 is fine here)
    return check((moment - _EPOCH) // _US, field)


def parse(text: str, field: str, *, zone_required: bool = True) -> int:
    """µs since the epoch from ISO 8601 text; without a zone refused (or UTC when
    `zone_required` is False); in the range."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInstant("format", field) from None
    if moment.tzinfo is None and zone_required:
        raise BadInstant("zone", field)
    return from_datetime(moment, field)


def window(start_us: int, end_us: int, names: tuple[str, str]) -> tuple[int, int]:
    """(start, end) when both are in the range and end is after start."""
    check(start_us, names[0])
    check(end_us, names[1])
    if end_us <= start_us:
        raise BadInstant("order", names[1], other=names[0])
    return start_us, end_us
