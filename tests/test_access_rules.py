"""Access requests per jurisdiction and basis: which pass, which are refused, with the article.

Each test names the article it is written from (shared/regulations/: Jilin 002, the Chinese
original; Liaoning 001; Chongqing 003; Shenzhen 004).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from itertools import product

import pytest

from custodes.domain.access_rules import (
    NOBODY_SIGNED,
    PROVISION_ARTICLE,
    PROVISION_REASON,
    REASONS,
    STATE_ORGANS,
    UNKNOWN_VALUE,
    Action,
    Basis,
    Draft,
    OrgKind,
    Staff,
    refusals,
    staff_article,
)

TWO = (Staff(1, "JX-0001", "JX-0001"), Staff(2, "JX-0002", "JX-0002"))
JURISDICTIONS = ["jilin", "liaoning", "chongqing", "shenzhen"]


def _draft(jurisdiction: str, **kw: object) -> Draft:
    base = Draft(
        jurisdiction=jurisdiction,
        action=Action.VIEW,
        basis=Basis.LAW_ENFORCEMENT,
        org_kind=OrgKind.PUBLIC_SECURITY,
        purpose="theft at the north gate, case 2026-114",
        staff=TWO,
        approval_document=True,
        destination="",
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def _articles(d: Draft) -> set[str]:
    return {r.article for r in refusals(d)}


def _items(d: Draft) -> set[str]:
    return {r.item for r in refusals(d)}


@pytest.mark.parametrize("jurisdiction", JURISDICTIONS)
def test_police_viewing_with_everything_passes(jurisdiction: str) -> None:
    """Jilin Art. 24; Shenzhen Art. 33 para. 1: public security may use the footage."""
    assert refusals(_draft(jurisdiction)) == []


def test_purpose_is_always_required_with_the_local_article() -> None:
    """Jilin Art. 21(3), Liaoning Art. 14(4), Shenzhen Art. 24(3): the purpose is registered."""
    assert _articles(_draft("jilin", purpose=" ")) == {"Jilin Art. 21(3)"}
    assert _articles(_draft("liaoning", purpose="")) == {"Liaoning Art. 14(4)"}
    assert _articles(_draft("shenzhen", purpose="")) == {"Shenzhen Art. 24(3)"}


def test_two_staff_with_their_own_accounts_and_work_ids() -> None:
    """Jilin Art. 28(1)-(2), Shenzhen Art. 34(1)-(2): at least two staff, work IDs shown."""
    one_person_twice = (TWO[0], TWO[0])
    assert _articles(_draft("jilin", staff=one_person_twice)) == {"Jilin Art. 28"}
    assert _articles(_draft("shenzhen", staff=(TWO[0],))) == {"Shenzhen Art. 34"}
    no_id = (TWO[0], Staff(2, " ", "JX-0002"))
    assert _items(_draft("jilin", staff=no_id)) == {"staff.work_id"}
    # no such rule in Liaoning and Chongqing
    assert refusals(_draft("chongqing", staff=())) == []


@pytest.mark.parametrize(
    ("jurisdiction", "article"), [("jilin", "Jilin Art. 28"), ("shenzhen", "Shenzhen Art. 34")]
)
def test_a_work_id_shown_is_the_registered_one(jurisdiction: str, article: str) -> None:
    """Jilin Art. 28(2), Shenzhen Art. 34(2) "present work ID": a work ID the unit cannot check
    against the account is no work ID shown; an account with none registered shows none."""
    unregistered = (TWO[0], Staff(2, "ANYTHING", None))
    refused = refusals(_draft(jurisdiction, staff=unregistered))
    assert [(r.item, r.article) for r in refused] == [("staff.work_id", article)]
    wrong = (TWO[0], Staff(2, "JX-9999", "JX-0002"))
    assert _articles(_draft(jurisdiction, staff=wrong)) == {article}
    # where no article asks for work IDs, none is checked
    assert refusals(_draft("liaoning", staff=unregistered)) == []


def test_jilin_always_wants_the_approval_document_shenzhen_does_not() -> None:
    """Jilin Art. 28(3) "出示批准文件"; Shenzhen Art. 34 has no approval-document item."""
    assert _articles(_draft("jilin", approval_document=False)) == {"Jilin Art. 28"}
    assert refusals(_draft("shenzhen", approval_document=False)) == []


def test_jilin_judicial_copy_needs_county_level_approval() -> None:
    """Jilin Art. 25: judicial organs may consult; copying needs county-level judicial approval."""
    judicial = _draft("jilin", basis=Basis.JUDICIAL, org_kind=OrgKind.JUDICIAL)
    assert refusals(judicial) == []  # consulting is allowed
    copy = replace(judicial, action=Action.COPY, destination="county court, case file")
    assert _articles(copy) == {"Jilin Art. 25"}
    assert refusals(replace(copy, judicial_approval_county=True)) == []


def test_shenzhen_interested_party_views_only() -> None:
    """Shenzhen Art. 35: with the manager's approval an interested party views; no copy without
    public security approval."""
    party = _draft(
        "shenzhen",
        basis=Basis.INTERESTED_PARTY_EMERGENCY,
        org_kind=OrgKind.INDIVIDUAL,
        manager_consent=True,
    )
    assert refusals(party) == []
    assert _articles(replace(party, manager_consent=False)) == {"Shenzhen Art. 35"}
    copy = replace(party, action=Action.COPY, destination="the party's phone")
    assert _articles(copy) == {"Shenzhen Art. 35"}  # the specific rule: view only
    assert refusals(replace(copy, psb_approval=True)) == []


def test_shenzhen_art_34_binds_state_organs_not_an_interested_party() -> None:
    """Shenzhen Art. 34 binds "public security organs, state security organs, and other state
    organs and relevant departments"; an Art. 35 interested party is none of them: one person,
    showing an identity document rather than a work ID, may view."""
    alone = (Staff(7, "身份证 110101199001011234", None),)
    party = _draft(
        "shenzhen",
        basis=Basis.INTERESTED_PARTY_EMERGENCY,
        org_kind=OrgKind.INDIVIDUAL,
        manager_consent=True,
        staff=alone,
    )
    assert refusals(party) == []
    assert refusals(replace(party, org_kind=OrgKind.OTHER_ORGANISATION)) == []
    for organ in STATE_ORGANS:
        assert staff_article("shenzhen", organ) == "Shenzhen Art. 34"
    police_alone = _draft("shenzhen", staff=alone)
    assert _articles(police_alone) == {"Shenzhen Art. 34"}
    # Jilin Art. 28 exempts nobody
    assert staff_article("jilin", OrgKind.INDIVIDUAL) == "Jilin Art. 28"
    assert staff_article("liaoning", OrgKind.PUBLIC_SECURITY) is None


def test_jilin_has_no_interested_party_access_of_its_own() -> None:
    """Jilin Art. 24-27 name no interested party: public security confirmation (Art. 27)."""
    party = _draft("jilin", basis=Basis.INTERESTED_PARTY_EMERGENCY, org_kind=OrgKind.INDIVIDUAL)
    assert _items(party) == {"basis"}


def test_jilin_organisations_need_public_security_confirmation() -> None:
    """Jilin Art. 27: organisations and individuals once a county-level organ has confirmed."""
    org = _draft("jilin", basis=Basis.CONFIRMED_BY_PSB, org_kind=OrgKind.OTHER_ORGANISATION)
    assert _articles(org) == {"Jilin Art. 27"}
    assert _articles(replace(org, manager_consent=True)) == {"Jilin Art. 27"}
    assert refusals(replace(org, psb_approval=True)) == []


def test_shenzhen_manager_consent_is_a_route_for_state_organs_only() -> None:
    """Shenzhen Art. 33 para. 3: other state organs in their own industry or region access
    and reproduce; outside it "they shall get the consent of the system managers or
    permission of the public security organs". A private organisation is no state organ: the
    manager's consent alone never lets it see footage (Art. 30(4): not without
    authorisation)."""
    private = _draft(
        "shenzhen",
        basis=Basis.CONFIRMED_BY_PSB,
        org_kind=OrgKind.OTHER_ORGANISATION,
        manager_consent=True,
    )
    assert [(r.item, r.article) for r in refusals(private)] == [
        ("psb_approval", "Shenzhen Art. 30(4)")
    ]
    assert _articles(replace(private, org_kind=OrgKind.INDIVIDUAL)) == {"Shenzhen Art. 30(4)"}
    assert refusals(replace(private, psb_approval=True, manager_consent=False)) == []

    outside_field = replace(private, org_kind=OrgKind.STATE_ORGAN, manager_consent=False)
    assert _articles(outside_field) == {"Shenzhen Art. 33"}
    assert refusals(replace(outside_field, manager_consent=True)) == []
    assert refusals(replace(outside_field, psb_approval=True)) == []
    # consent covers reproduction too ("access, request to view, or reproduce")
    copy = replace(outside_field, manager_consent=True, action=Action.COPY, destination="bureau")
    assert refusals(copy) == []


def test_state_organs_in_their_own_field_have_a_kind_and_a_basis() -> None:
    """Shenzhen Art. 33 para. 3: "Other state organs and other relevant departments may access,
    request to view, and reproduce system image information in the industry or region of
    their jurisdiction without compensation" — no consent, no permission; Art. 34 applies."""
    assert OrgKind("state-organ") is OrgKind.STATE_ORGAN
    organ = _draft("shenzhen", basis=Basis.OWN_FIELD, org_kind=OrgKind.STATE_ORGAN)
    assert refusals(organ) == []
    copy = replace(organ, action=Action.COPY, destination="market regulator, case file")
    assert refusals(copy) == []
    assert _articles(replace(organ, staff=TWO[:1])) == {"Shenzhen Art. 34"}
    # the basis is a state organ's: a company's "own field" is no basis
    assert _items(replace(organ, org_kind=OrgKind.OTHER_ORGANISATION)) == {"basis"}
    assert _items(replace(organ, org_kind=OrgKind.PUBLIC_SECURITY)) == {"basis"}
    # Jilin's Art. 24-27 know no such basis: public security confirmation (Art. 27)
    assert _items(replace(organ, jurisdiction="jilin")) == {"basis"}
    via_psb = replace(organ, jurisdiction="jilin", basis=Basis.CONFIRMED_BY_PSB)
    assert _articles(via_psb) == {"Jilin Art. 27"}
    assert refusals(replace(via_psb, psb_approval=True)) == []


def test_jilin_unit_reviews_its_own_footage_without_public_security() -> None:
    """Jilin Art. 21(4) (the unit checks its system periodically) and Art. 23 (it reports what
    it finds to public security): no article makes the unit's own staff wait for a public
    security reference to review their own footage. Art. 28 still applies to them (two staff,
    work IDs, an approval document), and a copy leaving the unit still needs Art. 22(6)."""
    own = _draft("jilin", basis=Basis.UNIT_DUTIES, org_kind=OrgKind.OPERATING_UNIT)
    assert refusals(own) == []
    assert _articles(replace(own, approval_document=False)) == {"Jilin Art. 28"}
    assert _articles(replace(own, staff=TWO[:1])) == {"Jilin Art. 28"}
    copy = replace(own, action=Action.COPY, destination="district PSB")
    assert _articles(copy) == {"Jilin Art. 22(6)"}
    assert refusals(replace(copy, psb_approval=True)) == []
    # the unit's own duties are the unit's: nobody else's basis
    assert _items(replace(own, org_kind=OrgKind.OTHER_ORGANISATION)) == {"basis"}
    for jurisdiction in JURISDICTIONS:
        assert refusals(replace(own, jurisdiction=jurisdiction)) == []


@pytest.mark.parametrize(
    ("jurisdiction", "article"),
    [
        ("jilin", "Jilin Art. 22(6)"),
        ("liaoning", "Liaoning Art. 14(6)"),
        ("chongqing", "Chongqing Art. 12(2)"),
        ("shenzhen", "Shenzhen Art. 30(4)"),
    ],
)
def test_no_copy_to_another_party_or_abroad_without_psb_approval(
    jurisdiction: str, article: str
) -> None:
    """Jilin Art. 22(6); Liaoning Art. 14(6); Chongqing Art. 12(2); Shenzhen Art. 30(4)."""
    org = _draft(
        jurisdiction,
        basis=Basis.CONFIRMED_BY_PSB,
        org_kind=OrgKind.OTHER_ORGANISATION,
        action=Action.COPY,
        destination="an insurer",
        manager_consent=True,
    )
    assert article in _articles(org)
    assert refusals(replace(org, psb_approval=True)) == []
    police_abroad = _draft(
        jurisdiction, action=Action.COPY, destination="Interpol", destination_abroad=True
    )
    assert _articles(police_abroad) == {article}


def test_each_provision_citation_says_what_its_article_says() -> None:
    """Only Jilin Art. 22(6) names the approving authority ("未经县级以上人民政府公安机关批准");
    Liaoning Art. 14(6) "shall not provide and disseminate image information without
    authorization"; Shenzhen Art. 30(4) "using, reproducing, reshooting, or providing
    information ... without authorization"; Chongqing Art. 12(2) "comprar, vender, difundir,
    o reproducir ilegalmente" (buying, selling, disseminating or copying illegally)."""
    assert PROVISION_ARTICLE == {
        "jilin": "Jilin Art. 22(6)",
        "liaoning": "Liaoning Art. 14(6)",
        "chongqing": "Chongqing Art. 12(2)",
        "shenzhen": "Shenzhen Art. 30(4)",
    }
    assert "county level" in PROVISION_REASON["jilin"]
    assert "abroad" in PROVISION_REASON["jilin"]
    for other in ("liaoning", "chongqing", "shenzhen"):
        assert "county" not in PROVISION_REASON[other]
    assert "without authorisation" in PROVISION_REASON["liaoning"]
    assert "without authorisation" in PROVISION_REASON["shenzhen"]
    assert "illegally" in PROVISION_REASON["chongqing"]
    assert "bought, sold" in PROVISION_REASON["chongqing"]
    for jurisdiction in JURISDICTIONS:  # the refusal carries the article's own words
        org = _draft(
            jurisdiction,
            basis=Basis.CONFIRMED_BY_PSB,
            org_kind=OrgKind.OTHER_ORGANISATION,
            action=Action.COPY,
            destination="an insurer",
        )
        found = [r for r in refusals(org) if r.article == PROVISION_ARTICLE[jurisdiction]]
        assert [r.reason for r in found] == [PROVISION_REASON[jurisdiction]]


def test_a_copy_must_say_where_it_goes_and_the_basis_must_fit_the_requester() -> None:
    """Jilin Art. 21(3), Chongqing Art. 11(1): the destination is registered; Jilin Art. 25:
    a judicial basis is a judicial organ's."""
    assert _items(_draft("chongqing", action=Action.RETRIEVE_ORIGINAL)) == {"destination"}
    hospital_as_court = _draft("liaoning", basis=Basis.JUDICIAL, org_kind=OrgKind.INDIVIDUAL)
    assert _items(hospital_as_court) == {"basis"}
    with pytest.raises(ValueError, match="no access rules"):
        refusals(_draft("atlantis"))


def _every_draft() -> Iterator[Draft]:
    """Every jurisdiction, action, basis and kind of requester, with staff who sign rightly,
    wrongly or not at all, and each of the draft's yes-or-no facts either way."""
    staffs = (
        (),
        TWO,
        (Staff(1, "JX-0001", "JX-0009"), Staff(2, "JX-0002", None)),  # not the registered
        (Staff(1, "JX-0001", "JX-0001"), Staff(2, " ", "JX-0002")),  # none shown
        (Staff(1, "JX-0001", "JX-0001"),),
    )
    for jurisdiction, action, basis, kind, staff in product(
        JURISDICTIONS, Action, Basis, OrgKind, staffs
    ):
        for filled, document, abroad, psb, judicial, consent in product((False, True), repeat=6):
            yield Draft(
                jurisdiction=jurisdiction,
                action=action,
                basis=basis,
                org_kind=kind,
                purpose="case 2026-114" if filled else " ",
                staff=staff,
                approval_document=document,
                destination="evidence room" if filled else "",
                destination_abroad=abroad,
                psb_approval=psb,
                judicial_approval_county=judicial,
                manager_consent=consent,
            )


def test_every_reason_the_rules_give_is_one_of_their_templates() -> None:
    """The reasons are msgids the web layer translates (entrypoints/web/wording.py): over every
    draft the rules can be shown, each refusal's msgid is one of REASONS, its parameters fill
    it, and every reason the rules have is given somewhere (the two said by services/access
    apart), so REASONS is what the catalogues must translate (tests/test_i18n.py)."""
    given: set[str] = set()
    for draft in _every_draft():
        for r in refusals(draft):
            assert r.msgid in REASONS, r
            assert "%(" not in r.reason, r  # every parameter filled in
            given.add(r.msgid)
    assert given == set(REASONS) - {NOBODY_SIGNED, UNKNOWN_VALUE}
    assert len(REASONS) == len(set(REASONS))
    # the one reason with values: the kind and basis, as codes in English (CLI, ledger)
    (odd,) = refusals(_draft("liaoning", basis=Basis.JUDICIAL, org_kind=OrgKind.INDIVIDUAL))
    assert odd.params == {"kind": "individual", "basis": "judicial"}
    assert odd.reason == "a requester of the kind “individual” cannot ask on the basis “judicial”"
