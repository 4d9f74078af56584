"""Access requests per jurisdiction and basis: which pass, which are refused, with the article."""

from __future__ import annotations

from dataclasses import replace

import pytest

from custodes.domain.access_rules import (
    Action,
    Basis,
    Draft,
    OrgKind,
    Staff,
    refusals,
)

TWO = (Staff(1, "JX-0001"), Staff(2, "JX-0002"))


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


@pytest.mark.parametrize("jurisdiction", ["jilin", "liaoning", "chongqing", "shenzhen"])
def test_police_viewing_with_everything_passes(jurisdiction: str) -> None:
    assert refusals(_draft(jurisdiction)) == []


def test_purpose_is_always_required_with_the_local_article() -> None:
    assert _articles(_draft("jilin", purpose=" ")) == {"Jilin Art. 21(3)"}
    assert _articles(_draft("liaoning", purpose="")) == {"Liaoning Art. 14(4)"}
    assert _articles(_draft("shenzhen", purpose="")) == {"Shenzhen Art. 24(3)"}


def test_two_staff_with_their_own_accounts_and_work_ids() -> None:
    one_person_twice = (Staff(1, "JX-0001"), Staff(1, "JX-0001"))
    assert _articles(_draft("jilin", staff=one_person_twice)) == {"Jilin Art. 28"}
    assert _articles(_draft("shenzhen", staff=(TWO[0],))) == {"Shenzhen Art. 34"}
    no_id = (Staff(1, "JX-0001"), Staff(2, " "))
    assert _items(_draft("jilin", staff=no_id)) == {"staff.work_id"}
    # no such rule in Liaoning and Chongqing
    assert refusals(_draft("chongqing", staff=())) == []


def test_jilin_always_wants_the_approval_document_shenzhen_does_not() -> None:
    assert _articles(_draft("jilin", approval_document=False)) == {"Jilin Art. 28"}
    assert refusals(_draft("shenzhen", approval_document=False)) == []


def test_jilin_judicial_copy_needs_county_level_approval() -> None:
    judicial = _draft("jilin", basis=Basis.JUDICIAL, org_kind=OrgKind.JUDICIAL)
    assert refusals(judicial) == []  # consulting is allowed
    copy = replace(judicial, action=Action.COPY, destination="county court, case file")
    assert _articles(copy) == {"Jilin Art. 25"}
    assert refusals(replace(copy, judicial_approval_county=True)) == []


def test_shenzhen_interested_party_views_only() -> None:
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


def test_jilin_has_no_interested_party_access_of_its_own() -> None:
    party = _draft("jilin", basis=Basis.INTERESTED_PARTY_EMERGENCY, org_kind=OrgKind.INDIVIDUAL)
    assert _items(party) == {"basis"}


def test_organisations_need_public_security_confirmation_or_consent() -> None:
    org = _draft("jilin", basis=Basis.CONFIRMED_BY_PSB, org_kind=OrgKind.OTHER_ORGANISATION)
    assert _articles(org) == {"Jilin Art. 27"}
    assert refusals(replace(org, psb_approval=True)) == []
    sz = replace(org, jurisdiction="shenzhen")
    assert _articles(sz) == {"Shenzhen Art. 33"}
    assert refusals(replace(sz, manager_consent=True)) == []


@pytest.mark.parametrize(
    ("jurisdiction", "article"),
    [
        ("jilin", "Jilin Art. 22(6)"),
        ("liaoning", "Liaoning Art. 14(6)"),
        ("chongqing", "Chongqing Art. 12(2)"),
        ("shenzhen", "Shenzhen Art. 30(1), 30(4)"),
    ],
)
def test_no_copy_to_another_party_or_abroad_without_psb_approval(
    jurisdiction: str, article: str
) -> None:
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


def test_a_copy_must_say_where_it_goes_and_the_basis_must_fit_the_requester() -> None:
    assert _items(_draft("chongqing", action=Action.RETRIEVE_ORIGINAL)) == {"destination"}
    hospital_as_court = _draft("liaoning", basis=Basis.JUDICIAL, org_kind=OrgKind.INDIVIDUAL)
    assert _items(hospital_as_court) == {"basis"}
    with pytest.raises(ValueError, match="no access rules"):
        refusals(_draft("atlantis"))
