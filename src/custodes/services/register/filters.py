"""What a register read is restricted to: the event kinds (ledger actions and their groups),
the time range, camera, organisation, account, and the ledger seq an export is pinned to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from custodes.services import ledger

# Event kinds are the ledger actions themselves; two names stand for groups of them.
ACCESS_KINDS = (
    ledger.REQUEST_APPROVED,  # the registration of an approved access (and its grant)
    ledger.MEDIA_VIEWED,  # playback
    ledger.EXPORT_CREATED,  # a copy made
    ledger.EXPORT_DOWNLOADED,  # a copy taken away
)
REFUSAL_KINDS = (
    ledger.REQUEST_REJECTED,
    ledger.GRANT_REVOKED,
    ledger.ACCESS_DENIED,
)
KINDS = ACCESS_KINDS + REFUSAL_KINDS
GROUPS: dict[str, tuple[str, ...]] = {"access": ACCESS_KINDS, "refusals": REFUSAL_KINDS}
# Kinds whose entry is the act of a security manager (the approver, 审批人).
MANAGER_KINDS = frozenset({ledger.REQUEST_APPROVED, ledger.REQUEST_REJECTED, ledger.GRANT_REVOKED})
MAX_LIMIT = 1000


class BadFilter(ValueError):
    """A filter that names no kind, or is out of range; names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Filters:
    """What a register read or printout is restricted to (times: ledger time, [start, end))."""

    start_us: int | None = None
    end_us: int | None = None
    camera_id: int | None = None
    organisation_id: int | None = None
    account: str | None = None  # a username: its own acts and the requests it is staff of
    kinds: tuple[str, ...] = field(default=KINDS)
    up_to_seq: int | None = None  # an export's rows: the ledger as it stood (seq <= this)

    def to_json(self) -> dict[str, Any]:
        return {
            "start_us": self.start_us,
            "end_us": self.end_us,
            "camera_id": self.camera_id,
            "organisation_id": self.organisation_id,
            "account": self.account,
            "kinds": list(self.kinds),
        }


def kinds_from(names: Iterable[str] | None) -> tuple[str, ...]:
    """Kinds and group names ("access", "refusals") to ledger actions, in KINDS order."""
    if names is None:
        return KINDS
    wanted: set[str] = set()
    for name in names:
        if name in GROUPS:
            wanted.update(GROUPS[name])
        elif name in KINDS:
            wanted.add(name)
        else:
            choices = ", ".join((*GROUPS, *KINDS))
            raise BadFilter("kind", f"{name!r} is not one of {choices}")
    if not wanted:
        raise BadFilter("kind", "name at least one kind")
    return tuple(k for k in KINDS if k in wanted)


def make_filters(
    *,
    start_us: int | None = None,
    end_us: int | None = None,
    camera_id: int | None = None,
    organisation_id: int | None = None,
    account: str | None = None,
    kinds: Iterable[str] | None = None,
) -> Filters:
    if start_us is not None and end_us is not None and end_us <= start_us:
        raise BadFilter("to", "must be after from")
    return Filters(start_us, end_us, camera_id, organisation_id, account, kinds_from(kinds))
