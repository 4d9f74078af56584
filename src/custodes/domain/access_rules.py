"""Who may see or take recorded footage, and what a request must carry (issue 5, part 3;
read again against the texts in issue 11, section 5).

Pure: a draft request in, the refusals out — each naming its article. services/access/ calls
`refusals` before a request can be submitted, and again before approval.

Sources (shared/regulations/, OBLIGATIONS.md "Access to footage"; where the table and a text
disagree the text wins):
- every access is registered with purpose and destination (Jilin Art. 21(3); Liaoning
  Art. 14(4); Chongqing Art. 11(1); Shenzhen Art. 24(3));
- Jilin Art. 28: whoever consults, copies or retrieves — at least two staff, work IDs shown,
  an approval document, registration (the text exempts nobody);
  Shenzhen Art. 34: at least two staff and work IDs — binding the public security, state
  security and other state organs (an Art. 35 interested party is no state organ);
- a work ID shown is the one registered for the signer's account: an account with none
  registered shows none (Jilin Art. 28(2); Shenzhen Art. 34(2));
- Jilin: public security and national security organs (Art. 24); judicial organs may
  consult, copying needs county-level judicial approval (Art. 25); emergency authorities
  (Art. 26); other organisations and individuals once public security has confirmed
  (Art. 27); the using unit's own staff for its own checks (Art. 21(4)) and reports to public
  security (Art. 23), which no article makes wait for public security;
- Shenzhen Art. 33: public security, state security (para. 1) and emergency authorities
  (para. 2); other state organs within their own industry or region (para. 3), outside it with
  the manager's consent or public security permission — a route for state organs only;
  Art. 35: an interested party in an emergency views with the manager's approval, copying
  needs public security approval;
- giving footage to another party: Jilin Art. 22(6) (county-level public security approval,
  at home or abroad); Liaoning Art. 14(6) (not without authorisation); Shenzhen Art. 30(4)
  (not used, reproduced or provided without authorisation); Chongqing Art. 12(2) (no trade,
  dissemination or illegal copying) — see PROVISION.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    # a state organ's administrative law enforcement in its own industry or region
    # (Shenzhen Art. 33 para. 3, first clause)
    OWN_FIELD = "own-field"
    CONFIRMED_BY_PSB = "confirmed-by-public-security"
    INTERESTED_PARTY_EMERGENCY = "interested-party-emergency"
    # the operating unit's own staff: its periodic checks (Jilin Art. 21(4); Shenzhen
    # Art. 24(1)) and reports of what it finds to public security (Jilin Art. 23; Shenzhen
    # Art. 24(5))
    UNIT_DUTIES = "unit-duties"


class OrgKind(StrEnum):
    OPERATING_UNIT = "operating-unit"
    PUBLIC_SECURITY = "public-security"
    STATE_SECURITY = "state-security"
    JUDICIAL = "judicial"
    EMERGENCY_AUTHORITY = "emergency-authority"
    # "other state organs and relevant departments" (Shenzhen Art. 33 para. 3, Art. 34)
    STATE_ORGAN = "state-organ"
    OTHER_ORGANISATION = "other-organisation"
    INDIVIDUAL = "individual"


# The organs of the state: Shenzhen Art. 34 (two staff, work IDs) binds these, and no one else.
STATE_ORGANS = frozenset(
    {
        OrgKind.PUBLIC_SECURITY,
        OrgKind.STATE_SECURITY,
        OrgKind.JUDICIAL,
        OrgKind.EMERGENCY_AUTHORITY,
        OrgKind.STATE_ORGAN,
    }
)

# Which requesting organisations a basis belongs to: a judicial basis from a hospital is no
# judicial basis.
BASIS_ORGS: dict[Basis, frozenset[OrgKind]] = {
    Basis.LAW_ENFORCEMENT: frozenset({OrgKind.PUBLIC_SECURITY}),
    Basis.NATIONAL_SECURITY: frozenset({OrgKind.STATE_SECURITY, OrgKind.PUBLIC_SECURITY}),
    Basis.JUDICIAL: frozenset({OrgKind.JUDICIAL}),
    Basis.EMERGENCY_INCIDENT: frozenset({OrgKind.EMERGENCY_AUTHORITY}),
    Basis.OWN_FIELD: frozenset({OrgKind.STATE_ORGAN}),
    # a state organ outside its own field asks like this too (Shenzhen Art. 33 para. 3), and
    # the unit itself for anything beyond its own duties
    Basis.CONFIRMED_BY_PSB: frozenset(
        {
            OrgKind.OTHER_ORGANISATION,
            OrgKind.INDIVIDUAL,
            OrgKind.STATE_ORGAN,
            OrgKind.OPERATING_UNIT,
        }
    ),
    Basis.INTERESTED_PARTY_EMERGENCY: frozenset({OrgKind.INDIVIDUAL, OrgKind.OTHER_ORGANISATION}),
    Basis.UNIT_DUTIES: frozenset({OrgKind.OPERATING_UNIT}),
}


@dataclass(frozen=True)
class Staff:
    account_id: int
    work_id: str  # the work ID shown when signing
    registered_work_id: str | None  # the one registered for the account now (None: none)


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
    manager_consent: bool = False  # the operating unit's manager agreed (Shenzhen Art. 33, 35)


@dataclass(frozen=True)
class Refusal:
    """One reason the rules refuse. `msgid` is the reason in English with `%(name)s` for each
    of `params`: the web layer translates it by the request's language (locale/*.po), the
    command line, the ledger and logs say it in English (`reason`). The article is a citation
    and stays as it is in every language."""

    item: str  # the field or requirement at fault
    msgid: str  # one of REASONS
    article: str
    params: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def reason(self) -> str:
        """The reason in English, its parameters filled in."""
        return fill(self.msgid, self.params)


def fill(msgid: str, params: Mapping[str, str]) -> str:
    """`msgid` with its parameters filled in; total: a template and parameters that do not
    fit (a stored or translated text gone wrong) give the template as it is."""
    if not params:
        return msgid
    try:
        return msgid % dict(params)
    except (KeyError, ValueError, TypeError):
        return msgid


# The reasons the rules give: msgids (English; locale/*.po translates them). Every Refusal
# made here, and in services/access, carries one of REASONS.
PURPOSE_MISSING = "the purpose must be stated"
BASIS_NOT_OPEN = "a requester of the kind “%(kind)s” cannot ask on the basis “%(basis)s”"
DESTINATION_MISSING = "a copy needs its destination registered"
TWO_STAFF = "at least two staff, each signing with their own account"
WORK_ID_SHOWN = "every member of staff shows a work ID"
WORK_ID_REGISTERED = (
    "every work ID shown is the one registered for its account (an account with none "
    "registered has none to show)"
)
APPROVAL_DOCUMENT = "an approval document"
JUDICIAL_COPY = "a judicial organ may consult; copying needs county-level judicial approval"
PSB_CONFIRMATION = "organisations and individuals need public security confirmation"
JILIN_NO_ROUTE = (
    "Jilin's rules give this requester no access of its own; public security "
    "confirmation (Art. 27) is the way"
)
MANAGER_APPROVAL = "an interested party views with the manager's approval"
INTERESTED_PARTY_COPY = "an interested party may only view; copying needs public security approval"
STATE_ORGAN_OUTSIDE = (
    "a state organ outside its own industry or region needs the manager's "
    "consent or public security permission"
)
# said by services/access: at approval (nobody signed), and for a stored request whose
# values these rules do not know
NOBODY_SIGNED = "nobody has signed: a grant needs a holder"
UNKNOWN_VALUE = "the request holds a value these rules do not know"


@dataclass
class _Check:
    out: list[Refusal] = field(default_factory=list)

    def need(self, ok: bool, item: str, msgid: str, article: str, **params: str) -> None:
        if not ok:
            self.out.append(Refusal(item, msgid, article, params))


REGISTER_ARTICLE = {
    "jilin": "Jilin Art. 21(3)",
    "liaoning": "Liaoning Art. 14(4)",
    "chongqing": "Chongqing Art. 11(1)",
    "shenzhen": "Shenzhen Art. 24(3)",
}
# Giving footage to another party (and abroad): each article, and what it says. Only Jilin's
# names the approving authority; the others forbid doing it without authorisation (Liaoning,
# Shenzhen) or illegally (Chongqing), and the product records a public security approval as
# that authorisation.
PROVISION_ARTICLE = {
    "jilin": "Jilin Art. 22(6)",
    "liaoning": "Liaoning Art. 14(6)",
    "chongqing": "Chongqing Art. 12(2)",
    "shenzhen": "Shenzhen Art. 30(4)",
}
PROVISION_REASON = {
    "jilin": "footage goes to no organisation or individual, at home or abroad, without the "
    "approval of a public security organ at county level or above",
    "liaoning": "footage is not provided or disseminated without authorisation: record the "
    "public security authorisation",
    "chongqing": "footage is not bought, sold, disseminated or copied illegally: a copy for a "
    "party no law entitles needs a recorded public security approval to be lawful",
    "shenzhen": "footage is not used, reproduced or provided without authorisation: record the "
    "public security authorisation",
}
REASONS: tuple[str, ...] = (
    PURPOSE_MISSING,
    BASIS_NOT_OPEN,
    DESTINATION_MISSING,
    TWO_STAFF,
    WORK_ID_SHOWN,
    WORK_ID_REGISTERED,
    APPROVAL_DOCUMENT,
    JUDICIAL_COPY,
    PSB_CONFIRMATION,
    JILIN_NO_ROUTE,
    MANAGER_APPROVAL,
    INTERESTED_PARTY_COPY,
    STATE_ORGAN_OUTSIDE,
    *PROVISION_REASON.values(),
    NOBODY_SIGNED,
    UNKNOWN_VALUE,
)
STAFF_ARTICLE = {"jilin": "Jilin Art. 28", "shenzhen": "Shenzhen Art. 34"}


def staff_article(jurisdiction: str, org_kind: OrgKind) -> str | None:
    """The article that asks for two staff with work IDs of this requester, if any: Jilin
    Art. 28 of everyone; Shenzhen Art. 34 of state organs only; none in Liaoning, Chongqing."""
    if jurisdiction == "shenzhen" and org_kind not in STATE_ORGANS:
        return None
    return STAFF_ARTICLE.get(jurisdiction)


def refusals(d: Draft) -> list[Refusal]:
    """Every reason the draft may not go ahead; empty when it may."""
    if d.jurisdiction not in REGISTER_ARTICLE:
        raise ValueError(f"no access rules for jurisdiction {d.jurisdiction!r}")
    c = _Check()
    takes_file = d.action in (Action.COPY, Action.RETRIEVE_ORIGINAL)
    register = REGISTER_ARTICLE[d.jurisdiction]
    c.need(bool(d.purpose.strip()), "purpose", PURPOSE_MISSING, register)
    c.need(
        d.org_kind in BASIS_ORGS[d.basis],
        "basis",
        BASIS_NOT_OPEN,
        register,
        kind=d.org_kind.value,
        basis=d.basis.value,
    )
    if takes_file:
        c.need(
            bool(d.destination.strip()),
            "destination",
            DESTINATION_MISSING,
            register,
        )
    _staff_rules(d, c)
    if d.jurisdiction == "jilin":
        _jilin(d, c, takes_file)
    elif d.jurisdiction == "shenzhen":
        _shenzhen(d, c, takes_file)
    else:
        _outside_party(d, c, takes_file, entitled=d.org_kind in _ENTITLED)
    if takes_file and d.destination_abroad:
        c.need(
            d.psb_approval,
            "psb_approval",
            PROVISION_REASON[d.jurisdiction],
            PROVISION_ARTICLE[d.jurisdiction],
        )
    return _unique(c.out)


def _staff_rules(d: Draft, c: _Check) -> None:
    article = staff_article(d.jurisdiction, d.org_kind)
    if article is None:
        return
    accounts = {s.account_id for s in d.staff}
    c.need(
        len(accounts) >= 2,
        "staff",
        TWO_STAFF,
        article,
    )
    c.need(
        all(s.work_id.strip() for s in d.staff),
        "staff.work_id",
        WORK_ID_SHOWN,
        article,
    )
    c.need(
        all(s.registered_work_id and s.work_id == s.registered_work_id for s in d.staff),
        "staff.work_id",
        WORK_ID_REGISTERED,
        article,
    )


# Organs the texts entitle to footage of their own (Jilin Art. 24–26; Shenzhen Art. 33
# paras. 1–2): a copy they take is no "provision to another party".
_ENTITLED = frozenset(
    {
        OrgKind.PUBLIC_SECURITY,
        OrgKind.STATE_SECURITY,
        OrgKind.JUDICIAL,
        OrgKind.EMERGENCY_AUTHORITY,
    }
)


def _jilin(d: Draft, c: _Check, takes_file: bool) -> None:
    c.need(d.approval_document, "approval_document", APPROVAL_DOCUMENT, "Jilin Art. 28")
    if d.basis is Basis.JUDICIAL and takes_file:
        c.need(
            d.judicial_approval_county,
            "judicial_approval",
            JUDICIAL_COPY,
            "Jilin Art. 25",
        )
    if d.basis is Basis.CONFIRMED_BY_PSB:
        c.need(
            d.psb_approval,
            "psb_approval",
            PSB_CONFIRMATION,
            "Jilin Art. 27",
        )
    if d.basis in (Basis.INTERESTED_PARTY_EMERGENCY, Basis.OWN_FIELD):
        c.need(
            False,
            "basis",
            JILIN_NO_ROUTE,
            "Jilin Art. 24–27",
        )
    # the unit's own staff (Art. 21(4), 23) view without public security: no article asks
    _outside_party(d, c, takes_file, entitled=d.org_kind in _ENTITLED)


def _shenzhen(d: Draft, c: _Check, takes_file: bool) -> None:
    if d.basis is Basis.INTERESTED_PARTY_EMERGENCY:
        c.need(
            d.manager_consent,
            "manager_consent",
            MANAGER_APPROVAL,
            "Shenzhen Art. 35",
        )
        if takes_file:
            c.need(
                d.psb_approval,
                "psb_approval",
                INTERESTED_PARTY_COPY,
                "Shenzhen Art. 35",
            )
        return
    entitled = d.org_kind in _ENTITLED
    if d.basis is Basis.OWN_FIELD:
        # in its own industry or region a state organ may access and reproduce (para. 3)
        entitled = d.org_kind is OrgKind.STATE_ORGAN
    elif d.basis is Basis.CONFIRMED_BY_PSB:
        if d.org_kind is OrgKind.STATE_ORGAN:
            c.need(
                d.psb_approval or d.manager_consent,
                "psb_approval",
                STATE_ORGAN_OUTSIDE,
                "Shenzhen Art. 33",
            )
            entitled = d.psb_approval or d.manager_consent
        else:
            # the manager's consent is a route for state organs only (Art. 33 para. 3): an
            # organisation or individual that Art. 33 does not name uses no footage without
            # authorisation (Art. 30(4)), and the product records public security's
            c.need(
                d.psb_approval,
                "psb_approval",
                PROVISION_REASON["shenzhen"],
                PROVISION_ARTICLE["shenzhen"],
            )
    _outside_party(d, c, takes_file, entitled=entitled)


def _outside_party(d: Draft, c: _Check, takes_file: bool, *, entitled: bool) -> None:
    """A file leaving for a party no article entitles needs the authorisation the
    jurisdiction's provision article asks for (PROVISION)."""
    if takes_file and not entitled:
        c.need(
            d.psb_approval,
            "psb_approval",
            PROVISION_REASON[d.jurisdiction],
            PROVISION_ARTICLE[d.jurisdiction],
        )


def _unique(items: list[Refusal]) -> list[Refusal]:
    seen: set[tuple[str, str]] = set()
    out = []
    for r in items:
        if (r.item, r.article) not in seen:
            seen.add((r.item, r.article))
            out.append(r)
    return out
