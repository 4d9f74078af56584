"""How long footage must be kept, and whether a segment may go. Pure: no I/O.

A camera's retention is the largest of: its jurisdiction's floor (the video floor, or the
key-target floor where the camera protects a key anti-terror target), and the operator's own
setting. A hold keeps what it covers longer: an "important footage" hold for a year from the
hold's end (Liaoning Art. 14(7)), a case hold until two different accounts release it.
A segment may be deleted only when both its retention has run out and no active hold covers
it; otherwise the refusal names the reason and the article.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from custodes.clock import iso

DAY_US = 86_400 * 1_000_000


@dataclass(frozen=True)
class Floor:
    days: int
    article: str


IMPORTANT_DEFAULT = Floor(365, "Liaoning Art. 14(7)")


@dataclass(frozen=True)
class Jurisdiction:
    id: str
    name: str
    name_zh: str
    source: str
    video: Floor
    no_deletion_article: str
    key_target: Floor | None = None
    important: Floor = IMPORTANT_DEFAULT
    logs: Floor | None = None


@dataclass(frozen=True)
class Policy:
    """One camera's retention and where it comes from."""

    days: int
    reason: str  # "jurisdiction floor" | "key anti-terror target" | "operator setting"
    article: str | None  # the article behind the floor (None for the operator's own choice)
    no_deletion_article: str

    @property
    def period_us(self) -> int:
        return self.days * DAY_US


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
    return Policy(days, reason, article, j.no_deletion_article)


@dataclass(frozen=True)
class Hold:
    id: int
    kind: str  # "important" | "case"
    start_us: int
    end_us: int
    until_us: int | None  # None: until released
    reference: str | None = None

    def active(self, now_us: int) -> bool:
        return self.until_us is None or now_us < self.until_us

    def covers(self, start_us: int, end_us: int) -> bool:
        return self.start_us < end_us and start_us < self.end_us


def important_until(hold_end_us: int, j: Jurisdiction) -> int:
    return hold_end_us + j.important.days * DAY_US


@dataclass(frozen=True)
class Refusal:
    reason: str
    article: str


def deletion_refusal(
    start_us: int, end_us: int, now_us: int, policy: Policy, holds: Iterable[Hold]
) -> Refusal | None:
    """Why footage recorded in [start_us, end_us) may not be deleted now, or None if it may."""
    expires = end_us + policy.period_us
    if now_us < expires:
        return Refusal(
            f"inside its {policy.days}-day retention ({policy.reason}) until {iso(expires)}",
            f"{policy.article}; {policy.no_deletion_article}",
        )
    for hold in holds:
        if hold.active(now_us) and hold.covers(start_us, end_us):
            until = "until released" if hold.until_us is None else f"until {iso(hold.until_us)}"
            ref = f" ({hold.reference})" if hold.reference else ""
            article = (
                IMPORTANT_DEFAULT.article
                if hold.kind == "important"
                else policy.no_deletion_article
            )
            return Refusal(f"under {hold.kind} hold #{hold.id}{ref} {until}", article)
    return None
