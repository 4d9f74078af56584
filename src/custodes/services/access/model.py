"""The vocabulary of access requests: who acts, what a request asks, what can go wrong, and
which numbers the columns can hold."""

from __future__ import annotations

from dataclasses import dataclass

from custodes.domain.access_rules import Action, Basis, Refusal
from custodes.services import ledger

OPERATING_UNIT_ID = 1
MAX_RANGE_US = 31 * 86_400_000_000  # one request covers at most 31 days of footage
DEFAULT_VALIDITY_US = 7 * 86_400_000_000
MAX_VALIDITY_US = 90 * 86_400_000_000
MAX_CAMERAS = 64
FUTURE_SLACK_US = 60_000_000  # "until now" typed by hand may run a little past the clock


class AccessError(ValueError):
    """A request that cannot be made as asked (bad field, wrong state); names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFound(LookupError):
    """No such request or grant visible to the actor."""


class NotAllowed(PermissionError):
    """The actor's role or part in the request does not allow the step."""


class Refused(Exception):
    """The rules refuse the request; each refusal names its article."""

    def __init__(self, items: list[Refusal]) -> None:
        super().__init__("; ".join(f"{r.reason} ({r.article})" for r in items))
        self.items = items


@dataclass(frozen=True)
class Actor:
    """Who acts: an authenticated account (the web session or a named CLI account)."""

    account_id: int
    username: str
    role: str
    organisation_id: int

    @property
    def ledger_actor(self) -> str:
        return ledger.account_actor(self.username)


@dataclass(frozen=True)
class NewRequest:
    camera_ids: tuple[int, ...]
    start_us: int
    end_us: int
    action: Action
    basis: Basis
    purpose: str
    destination: str = ""
    destination_abroad: bool = False
    document_id: int | None = None
    psb_approval_ref: str | None = None
    judicial_approval_ref: str | None = None
