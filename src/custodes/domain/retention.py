"""How long footage must be kept, and whether it may go. Pure: no I/O.

A camera's retention is the largest of: its jurisdiction's floor (the video floor, or the
key-target floor where the camera protects a key anti-terror target), and the operator's own
setting — a number of days, counted as the Civil Code counts periods (domain/periods.py): the
day the footage ends is not counted, the last day ends at 24:00 site time and moves past rest
days. A hold keeps what it covers longer:
- "important": a year (Civil Code Art. 202: the corresponding date, not 365 days) from the
  held range's end. Liaoning Art. 14(7) requires it for footage of important value; elsewhere
  it is the operator's own decision, and a refusal cites only the no-deletion article;
- "case": until two different accounts release it;
- "access": automatic, placed for the footage an access request names, ended by the access
  workflow itself (services/access.py, services/retention.py), never by a person.
Footage may be deleted only when its retention has run out and no active hold covers it;
otherwise the refusal names the reason and the article.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from custodes.clock import iso
from custodes.domain.periods import NEVER, Period, SiteCalendar

DAY_US = 86_400 * 1_000_000
ONE_YEAR = Period(1, "years")
STATUSES = ("in force", "draft")
HOLD_KINDS = ("important", "case", "access")


@dataclass(frozen=True)
class Floor:
    days: int
    article: str

    @property
    def period(self) -> Period:
        return Period(self.days, "days")


@dataclass(frozen=True)
class ImportantRule:
    """How long an "important footage" hold keeps footage, and the article requiring it (None:
    no article of its own; the operator decides what is important)."""

    period: Period = ONE_YEAR
    article: str | None = None


IMPORTANT_DEFAULT = ImportantRule()


@dataclass(frozen=True)
class Jurisdiction:
    id: str
    name: str
    name_zh: str
    source: str
    video: Floor
    no_deletion_article: str
    status: str = "in force"  # "draft": the text cited is not (yet) law
    rest_days: str = "CN"  # the calendar periods are counted with (rules/jurisdictions.py)
    key_target: Floor | None = None
    important: ImportantRule = IMPORTANT_DEFAULT
    logs: Floor | None = None

    @property
    def draft(self) -> bool:
        return self.status == "draft"

    def cite(self, article: str) -> str:
        """An article as shown wherever it is cited: a draft's says so."""
        return f"{article} (draft regulations)" if self.draft else article


@dataclass(frozen=True)
class Policy:
    """One camera's retention and where it comes from."""

    days: int
    reason: str  # "jurisdiction floor" | "key anti-terror target" | "operator setting"
    article: str | None  # the article behind the floor (None for the operator's own choice)
    no_deletion_article: str
    important_article: str | None = None  # the article an important hold keeps footage under

    @property
    def period(self) -> Period:
        return Period(self.days, "days")


def camera_policy(j: Jurisdiction, *, key_target: bool, operator_days: int | None) -> Policy:
    options: list[tuple[int, str, str | None]] = [
        (j.video.days, "jurisdiction floor", j.video.article)
    ]
    if key_target and j.key_target is not None:
        options.append((j.key_target.days, "key anti-terror target", j.key_target.article))
    if operator_days:
        options.append((operator_days, "operator setting", None))
    days, reason, article = max(options, key=lambda o: o[0])
    if article is None:  # the operator's longer setting still sits on the floor's article
        article = j.video.article
    important = j.important.article
    return Policy(
        days,
        reason,
        j.cite(article),
        j.cite(j.no_deletion_article),
        None if important is None else j.cite(important),
    )


@dataclass(frozen=True)
class Hold:
    id: int
    kind: str  # HOLD_KINDS
    start_us: int
    end_us: int
    until_us: int | None  # None: until released
    reference: str | None = None
    request_id: int | None = None  # the access request an "access" hold keeps footage for

    def active(self, now_us: int) -> bool:
        return self.until_us is None or now_us < self.until_us

    def covers(self, start_us: int, end_us: int) -> bool:
        return self.start_us < end_us and start_us < self.end_us


def when_text(at_us: int) -> str:
    """An instant as shown beside a hold or a refusal: ISO 8601 UTC, "never" for NEVER, and
    the bare number for a stored value no calendar date holds (shown, never a failure)."""
    if at_us >= NEVER:
        return "never"
    try:
        return iso(at_us)
    except (OverflowError, ValueError, OSError):
        return f"{at_us} µs since 1970 UTC"


def important_until(hold_end_us: int, j: Jurisdiction, site: SiteCalendar) -> int:
    """When an important hold over footage ending at `hold_end_us` ends: a year on, counted
    as the Civil Code counts it (Art. 201–203)."""
    return site.end(hold_end_us, j.important.period)


@dataclass(frozen=True)
class Refusal:
    reason: str
    article: str


def retained_until(end_us: int, policy: Policy, site: SiteCalendar) -> int:
    """The first instant footage recorded until `end_us` may be deleted under `policy`."""
    return site.end(end_us, policy.period)


def deletion_refusal(
    start_us: int,
    end_us: int,
    now_us: int,
    policy: Policy,
    holds: Iterable[Hold],
    site: SiteCalendar,
) -> Refusal | None:
    """Why footage recorded in [start_us, end_us) may not be deleted now, or None if it may."""
    expires = retained_until(end_us, policy, site)
    if now_us < expires:
        until = "for good" if expires >= NEVER else f"until {when_text(expires)}"
        return Refusal(
            f"inside its {policy.days}-day retention ({policy.reason}) {until}",
            f"{policy.article}; {policy.no_deletion_article}",
        )
    for hold in holds:
        if hold.active(now_us) and hold.covers(start_us, end_us):
            return Refusal(_held(hold), _hold_article(hold, policy))
    return None


def _held(hold: Hold) -> str:
    if hold.until_us is None:
        until = "until released"
    elif hold.until_us >= NEVER:
        until = "for good"
    else:
        until = f"until {when_text(hold.until_us)}"
    if hold.kind == "access":
        request = f"access request {hold.request_id}" if hold.request_id else "an access request"
        ends = "until it is decided" if hold.until_us is None else f"while its grant runs, {until}"
        return f"named in {request}: under access hold #{hold.id}, kept {ends}"
    ref = f" ({hold.reference})" if hold.reference else ""
    return f"under {hold.kind} hold #{hold.id}{ref} {until}"


def _hold_article(hold: Hold, policy: Policy) -> str:
    if hold.kind == "important" and policy.important_article:
        return policy.important_article
    return policy.no_deletion_article
