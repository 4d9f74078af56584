"""Who may see or take recorded footage, and what a request must carry (issue 5, part 3).

Pure: a draft request in, the refusals out — each naming its article. The service that
stores requests and grants (to come) calls `refusals` before a request can be submitted, and
again before approval.

Sources (shared/regulations/OBLIGATIONS.md, "Access to footage"):
- every access is registered with purpose and destination (Jilin Art. 21(3); Liaoning
  Art. 14(4); Chongqing Art. 11(1); Shenzhen Art. 24(3));
- Jilin Art. 28: at least two staff, work IDs shown, an approval document;
  Shenzhen Art. 34: at least two staff and work IDs (no approval-document item);
- Jilin: public security and national security organs (Art. 24); judicial organs may
  consult, copying needs county-level judicial approval (Art. 25); emergency authorities
  (Art. 26); other organisations and individuals once public security has confirmed (Art. 27);
- Liaoning Art. 14(6): no provision without authorisation;
- Shenzhen Art. 33: public security, state security and emergency authorities; other organs
  with the manager's consent or public security permission; Art. 35: an interested party in an
  emergency may view only, copying needs public security approval;
- giving footage to another party at home or abroad needs public security approval (Jilin
  Art. 22(6); Liaoning Art. 14(6); Chongqing Art. 12(2); Shenzhen Art. 30(1), 30(4)).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Action(StrEnum):
    VIEW = "view"
    COPY = "copy"
    RETRIEVE_ORIGINAL = "retrieve-original"


class Basis(StrEnum):
    LAW_ENFORCEMENT = "law-enforcement"
    NATIONAL_SECURITY = "national-security"
    JUDICIAL = "judicial"
    EMERGENCY_INCIDENT = "emergency-incident"
    CONFIRMED_BY_PSB = "confirmed-by-public-security"
    INTERESTED_PARTY_EMERGENCY = "interested-party-emergency"


class OrgKind(StrEnum):
    OPERATING_UNIT = "operating-unit"
    PUBLIC_SECURITY = "public-security"
    STATE_SECURITY = "state-security"
    JUDICIAL = "judicial"
    EMERGENCY_AUTHORITY = "emergency-authority"
    OTHER_ORGANISATION = "other-organisation"
    INDIVIDUAL = "individual"


# Which requesting organisations a basis belongs to: a judicial basis from a hospital is no
# judicial basis.
BASIS_ORGS: dict[Basis, frozenset[OrgKind]] = {
    Basis.LAW_ENFORCEMENT: frozenset({OrgKind.PUBLIC_SECURITY}),
    Basis.NATIONAL_SECURITY: frozenset({OrgKind.STATE_SECURITY, OrgKind.PUBLIC_SECURITY}),
    Basis.JUDICIAL: frozenset({OrgKind.JUDICIAL}),
    Basis.EMERGENCY_INCIDENT: frozenset({OrgKind.EMERGENCY_AUTHORITY}),
    Basis.CONFIRMED_BY_PSB: frozenset(
        {OrgKind.OTHER_ORGANISATION, OrgKind.INDIVIDUAL, OrgKind.OPERATING_UNIT}
    ),
    Basis.INTERESTED_PARTY_EMERGENCY: frozenset({OrgKind.INDIVIDUAL, OrgKind.OTHER_ORGANISATION}),
}


@dataclass(frozen=True)
class Staff:
    account_id: int
    work_id: str


@dataclass(frozen=True)
class Draft:
    jurisdiction: str
    action: Action
    basis: Basis
    org_kind: OrgKind
    purpose: str
    staff: tuple[Staff, ...] = ()
    approval_document: bool = False  # an uploaded, hashed document
    destination: str = ""  # where a copy goes
    destination_abroad: bool = False
    psb_approval: bool = False  # a public security approval is recorded
    judicial_approval_county: bool = False  # county-level (or higher) judicial approval
    manager_consent: bool = False  # the operating unit's manager agreed (Shenzhen Art. 33)


@dataclass(frozen=True)
class Refusal:
    item: str  # the field or requirement at fault
    reason: str
    article: str


@dataclass
class _Check:
    out: list[Refusal] = field(default_factory=list)

    def need(self, ok: bool, item: str, reason: str, article: str) -> None:
        if not ok:
            self.out.append(Refusal(item, reason, article))


REGISTER_ARTICLE = {
    "jilin": "Jilin Art. 21(3)",
    "liaoning": "Liaoning Art. 14(4)",
    "chongqing": "Chongqing Art. 11(1)",
    "shenzhen": "Shenzhen Art. 24(3)",
}
PROVISION_ARTICLE = {
    "jilin": "Jilin Art. 22(6)",
    "liaoning": "Liaoning Art. 14(6)",
    "chongqing": "Chongqing Art. 12(2)",
    "shenzhen": "Shenzhen Art. 30(1), 30(4)",
}


def refusals(d: Draft) -> list[Refusal]:
    """Every reason the draft may not go ahead; empty when it may."""
    if d.jurisdiction not in REGISTER_ARTICLE:
        raise ValueError(f"no access rules for jurisdiction {d.jurisdiction!r}")
    c = _Check()
    takes_file = d.action in (Action.COPY, Action.RETRIEVE_ORIGINAL)
    register = REGISTER_ARTICLE[d.jurisdiction]
    c.need(bool(d.purpose.strip()), "purpose", "the purpose must be stated", register)
    c.need(
        d.org_kind in BASIS_ORGS[d.basis],
        "basis",
        f"a {d.org_kind.value} cannot request on the basis {d.basis.value}",
        register,
    )
    if takes_file:
        c.need(
            bool(d.destination.strip()),
            "destination",
            "a copy needs its destination registered",
            register,
        )
    _staff_rules(d, c)
    if d.jurisdiction == "jilin":
        _jilin(d, c, takes_file)
    elif d.jurisdiction == "liaoning":
        _outside_party(d, c, takes_file, "Liaoning Art. 14(6)")
    elif d.jurisdiction == "shenzhen":
        _shenzhen(d, c, takes_file)
    else:
        _outside_party(d, c, takes_file, PROVISION_ARTICLE["chongqing"])
    if takes_file and d.destination_abroad:
        c.need(
            d.psb_approval,
            "psb_approval",
            "footage may not go abroad without public security approval",
            PROVISION_ARTICLE[d.jurisdiction],
        )
    return _unique(c.out)


def _staff_rules(d: Draft, c: _Check) -> None:
    if d.jurisdiction not in ("jilin", "shenzhen"):
        return
    article = "Jilin Art. 28" if d.jurisdiction == "jilin" else "Shenzhen Art. 34"
    accounts = {s.account_id for s in d.staff}
    c.need(
        len(accounts) >= 2,
        "staff",
        "at least two staff, each signing with their own account",
        article,
    )
    c.need(
        all(s.work_id.strip() for s in d.staff),
        "staff.work_id",
        "every member of staff shows a work ID",
        article,
    )


def _jilin(d: Draft, c: _Check, takes_file: bool) -> None:
    c.need(d.approval_document, "approval_document", "an approval document", "Jilin Art. 28")
    if d.basis is Basis.JUDICIAL and takes_file:
        c.need(
            d.judicial_approval_county,
            "judicial_approval",
            "a judicial organ may consult; copying needs county-level judicial approval",
            "Jilin Art. 25",
        )
    if d.basis is Basis.CONFIRMED_BY_PSB:
        c.need(
            d.psb_approval,
            "psb_approval",
            "organisations and individuals need public security confirmation",
            "Jilin Art. 27",
        )
    if d.basis is Basis.INTERESTED_PARTY_EMERGENCY:
        c.need(
            False,
            "basis",
            "Jilin's rules give interested parties no access of their own; public security "
            "confirmation (Art. 27) is the way",
            "Jilin Art. 24–27",
        )
    _outside_party(d, c, takes_file, PROVISION_ARTICLE["jilin"])


def _shenzhen(d: Draft, c: _Check, takes_file: bool) -> None:
    if d.basis is Basis.INTERESTED_PARTY_EMERGENCY:
        c.need(
            d.manager_consent,
            "manager_consent",
            "an interested party views with the manager's approval",
            "Shenzhen Art. 35",
        )
        if takes_file:
            c.need(
                d.psb_approval,
                "psb_approval",
                "an interested party may only view; copying needs public security approval",
                "Shenzhen Art. 35",
            )
        return
    if d.basis is Basis.CONFIRMED_BY_PSB:
        c.need(
            d.psb_approval or d.manager_consent,
            "psb_approval",
            "other organs need the manager's consent or public security permission",
            "Shenzhen Art. 33",
        )
    _outside_party(d, c, takes_file, PROVISION_ARTICLE["shenzhen"])


def _outside_party(d: Draft, c: _Check, takes_file: bool, article: str) -> None:
    """A file leaving for a party that is not an organ entitled by law needs PSB approval."""
    entitled = d.org_kind in (
        OrgKind.PUBLIC_SECURITY,
        OrgKind.STATE_SECURITY,
        OrgKind.JUDICIAL,
        OrgKind.EMERGENCY_AUTHORITY,
    )
    if takes_file and not entitled:
        c.need(
            d.psb_approval,
            "psb_approval",
            "footage may not be given to another party without public security approval",
            article,
        )


def _unique(items: list[Refusal]) -> list[Refusal]:
    seen: set[tuple[str, str]] = set()
    out = []
    for r in items:
        if (r.item, r.article) not in seen:
            seen.add((r.item, r.article))
            out.append(r)
    return out
