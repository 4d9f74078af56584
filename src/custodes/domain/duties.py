"""Separation of duties: when one person would be enough, and who may confirm a change. Pure.

A person is a ledger actor: "account:<name>" for someone logged in, "cli:<os user>" for the
command line on the host. An account's credential may be known to its owner and to whoever
created the account or last reset its password (`made_by`): that person chose the password
or was shown it. The owner's own change does not clear `made_by`: the one-time password a
person hands over lets whoever uses it first choose the next one, so the person who set it
may be the one who changed it (docs/DUTIES.md).

Two rules follow (the two staff of Jilin Art. 28 and Shenzhen Art. 34 are two people, and the
approver a third, never the same hand):
- an approval is refused when one person could hold the credentials of every signer and of
  the approver (`approval_refusal`);
- a pending account change is confirmed only by another person of a confirming role, who is
  not the account changed, whose own credential the proposer did not make and who did not
  make the proposer's, directly or through someone they made (`confirm_refusal`).

"Made" is followed up the chain (`lineage`): a person who made an administrator who made a
manager could hold the manager's credential too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from custodes.domain.access_rules import Refusal, fill
from custodes.domain.roles import CONFIRMING_ROLES, Role


class ChangeKind(StrEnum):
    """The account changes that wait for a second person."""

    CREATE = "create"  # a new account in an empowered role
    ROLE = "role"  # a role that gains an empowering permission
    PASSWORD_RESET = "password-reset"  # of an empowered account
    ENABLE = "enable"  # a disabled, empowered account
    TOTP_REMOVE = "totp-remove"  # another empowered account's second factor


@dataclass(frozen=True)
class Why:
    """A reason a person may not do something: `msgid` in English with `%(name)s` for each of
    `params`, translated by the web layer (locale/*.po); `str()` is the English."""

    msgid: str
    params: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __str__(self) -> str:
        return fill(self.msgid, self.params)


# What these rules say (msgids: English; locale/*.po translates them).
ONE_PERSON_MADE_ALL = (
    "the signers and the approver were all made or reset by one person (%(person)s): "
    "another person must make or reset one of them, or another manager decide"
)
NOT_A_CONFIRMING_ROLE = (
    "only a second person of a confirming role (system administrator, security manager) "
    "confirms an account change"
)
NOT_THE_PROPOSER = "a change is confirmed by a second person, not by the one who proposed it"
NOT_ONES_OWN = "nobody confirms a change of their own account"
MADE_BY_THE_PROPOSER = (
    "your account was made or last reset by %(proposer)s, who proposed this change: "
    "another person confirms it"
)
MADE_THE_PROPOSER = (
    "the account of %(proposer)s, who proposed this change, was made or last reset by "
    "you (or by someone you made): another person confirms it"
)
REASONS: tuple[str, ...] = (
    ONE_PERSON_MADE_ALL,
    NOT_A_CONFIRMING_ROLE,
    NOT_THE_PROPOSER,
    NOT_ONES_OWN,
    MADE_BY_THE_PROPOSER,
    MADE_THE_PROPOSER,
)

PENDING_TTL_US = 7 * 86_400_000_000  # a proposal not confirmed within a week lapses
# The articles that want several people where this rule makes sure they are several.
TWO_PEOPLE_ARTICLE = {
    "jilin": "Jilin Art. 28",
    "shenzhen": "Shenzhen Art. 34",
    "liaoning": "Liaoning Art. 14(4)",
    "chongqing": "Chongqing Art. 11(1)",
}


@dataclass(frozen=True)
class Credential:
    """An account as far as who could hold its password."""

    actor: str  # the account's own ledger actor, "account:<name>"
    made_by: str | None  # who created it or last reset its password; None: the installation
    # whoever could hold `made_by`'s own credential, and so on up (`lineage`): who holds the
    # maker holds what the maker made
    lineage: frozenset[str] = frozenset()

    @property
    def holders(self) -> frozenset[str]:
        return frozenset({self.actor} | ({self.made_by} if self.made_by else set())) | self.lineage


def lineage(made_by: str | None, made_by_of: Mapping[str, str | None]) -> frozenset[str]:
    """Everyone up the chain of makers from `made_by` (each account actor's own maker in
    `made_by_of`), so that a person who made an administrator who made a manager is seen
    to hold that manager too."""
    seen: set[str] = set()
    person = made_by
    while person and person not in seen:
        seen.add(person)
        person = made_by_of.get(person)
    return frozenset(seen)


def sole_holder(credentials: Iterable[Credential]) -> str | None:
    """A person who could hold every one of the credentials (None if there is none, or
    nothing is given)."""
    common: frozenset[str] | None = None
    for c in credentials:
        common = c.holders if common is None else common & c.holders
        if not common:
            return None
    return min(common) if common else None


def approval_refusal(
    jurisdiction: str, signers: Iterable[Credential], approver: Credential
) -> Refusal | None:
    """Refused when one person could act as every signer and as the approver."""
    one = sole_holder([*signers, approver])
    if one is None:
        return None
    return Refusal(
        "separation_of_duties",
        ONE_PERSON_MADE_ALL,
        TWO_PEOPLE_ARTICLE.get(jurisdiction, "Jilin Art. 28"),
        {"person": one},
    )


def confirm_refusal(
    *,
    proposer: str,
    confirmer: Credential,
    confirmer_role: str,
    target: str | None,
    proposer_credential: Credential | None = None,
) -> Why | None:
    """Why the confirmer may not confirm the proposer's change of `target` (an account's
    actor; None for an account still to be made), or None when it may. Either way round:
    the proposer made the confirmer, or the confirmer made the proposer (`proposer_credential`,
    None for the host) — one person behind both accounts could confirm alone."""
    try:
        role = Role(confirmer_role)
    except ValueError:
        role = None
    if role not in CONFIRMING_ROLES:
        return Why(NOT_A_CONFIRMING_ROLE)
    if confirmer.actor == proposer:
        return Why(NOT_THE_PROPOSER)
    if target is not None and confirmer.actor == target:
        return Why(NOT_ONES_OWN)
    if proposer in confirmer.holders:
        return Why(MADE_BY_THE_PROPOSER, {"proposer": proposer})
    if proposer_credential is not None and confirmer.actor in proposer_credential.holders:
        return Why(MADE_THE_PROPOSER, {"proposer": proposer})
    return None
