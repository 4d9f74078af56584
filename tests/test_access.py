"""Access requests, signatures, decisions and grants (services/access/, services/grants.py),
on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from custodes.adapters.db import schema
from custodes.clock import iso
from custodes.domain.access_rules import Action, Basis
from custodes.domain.camera import CameraSpec
from custodes.domain.roles import Role
from custodes.entrypoints.web.app import create_app
from custodes.services import access, documents, grants, ledger
from custodes.services import accounts as account_service
from custodes.services import cameras as camera_service
from custodes.services.context import Context
from custodes.services.settings import set_setting

from .grant_setup import PDF, approved_grant, organisation, person
from .web_client import log_in as _as

HOUR = 3_600_000_000
DAY = 24 * HOUR


def _camera(ctx: Context, name: str = "gate") -> int:
    spec = CameraSpec(name=name, url=f"rtsp://127.0.0.1:1/{name}", place="entrance")
    return camera_service.add_camera(ctx, spec, actor="test").id


def _entries(ctx: Context, action: str) -> list[dict[str, object]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(schema.ledger.c.details).where(schema.ledger.c.action == action)
        ).scalars()
        return [json.loads(d) for d in rows]


@pytest.fixture
def cam(ctx: Context) -> int:
    return _camera(ctx)


def _psb_pair(ctx: Context) -> tuple[access.Actor, access.Actor]:
    psb = organisation(ctx, "区公安分局 District PSB", "public-security")
    a = person(ctx, Role.EXTERNAL_OFFICER, psb, work_id="A001").actor
    b = person(ctx, Role.EXTERNAL_OFFICER, psb, work_id="B002").actor
    return a, b


def _request(
    ctx: Context, actor: access.Actor, cam: int, action: Action = Action.COPY, **kw: object
) -> int:
    now = ctx.clock()
    fields: dict[str, object] = {
        "camera_ids": (cam,),
        "start_us": now - 2 * HOUR,
        "end_us": now - HOUR,
        "action": action,
        "basis": Basis.LAW_ENFORCEMENT,
        "purpose": "theft at the gate",
        "destination": "district PSB evidence room",
    }
    fields.update(kw)
    return access.create_request(ctx, actor, access.NewRequest(**fields))  # type: ignore[arg-type]


def test_full_flow_grants_the_signed_staff_and_is_in_the_ledger(ctx: Context, cam: int) -> None:
    now = ctx.clock()
    setup = approved_grant(ctx, camera_ids=[cam], start_us=now - 2 * HOUR, end_us=now - HOUR)
    g = setup.grant
    assert g.action is Action.COPY
    for holder in setup.holders:
        with ctx.engine.connect() as conn:
            found = grants.find(
                conn,
                account_id=holder.account_id,
                camera_id=cam,
                start_us=now - 90 * 60_000_000,
                end_us=now - HOUR,
                need=Action.COPY,
                now_us=ctx.clock(),
            )
        assert found is not None and found.id == g.id
    view = access.get_request(ctx, setup.holders[0].actor, setup.request_id)
    assert view.state == "approved" and view.grant is not None
    assert [s.username for s in view.staff] == [h.username for h in setup.holders]
    assert view.document is not None and view.document["filename"] == "调取证据通知书.pdf"
    approved = _entries(ctx, ledger.REQUEST_APPROVED)
    assert approved[-1]["grant"] == g.id and approved[-1]["request"] == setup.request_id
    signed = _entries(ctx, ledger.REQUEST_SIGNED)
    assert len(signed) == 2


def test_grant_scope_camera_range_action_expiry_revocation(ctx: Context, cam: int) -> None:
    other = _camera(ctx, "yard")
    now = ctx.clock()
    setup = approved_grant(
        ctx, camera_ids=[cam], start_us=now - 2 * HOUR, end_us=now - HOUR, action=Action.VIEW
    )
    holder = setup.holders[0]

    def check(camera: int, a: int, b: int, need: Action, at: int | None = None) -> bool:
        with ctx.engine.connect() as conn:
            return (
                grants.find(
                    conn,
                    account_id=holder.account_id,
                    camera_id=camera,
                    start_us=a,
                    end_us=b,
                    need=need,
                    now_us=at or ctx.clock(),
                )
                is not None
            )

    assert check(cam, now - 2 * HOUR, now - HOUR, Action.VIEW)
    assert not check(cam, now - 2 * HOUR, now - HOUR, Action.COPY)  # view never yields a file
    assert not check(other, now - 2 * HOUR, now - HOUR, Action.VIEW)  # another camera
    assert not check(cam, now - 3 * HOUR, now - HOUR, Action.VIEW)  # outside the range
    assert not check(cam, now - 2 * HOUR, now - HOUR, Action.VIEW, at=setup.grant.expires_us)
    with ctx.engine.connect() as conn:  # the manager who approved holds nothing
        assert (
            grants.find(
                conn,
                account_id=setup.manager.account_id,
                camera_id=cam,
                start_us=now - 2 * HOUR,
                end_us=now - HOUR,
                need=Action.VIEW,
                now_us=ctx.clock(),
            )
            is None
        )
    with pytest.raises(access.NotAllowed):  # an officer cannot revoke
        access.revoke(ctx, holder.actor, setup.grant.id, reason="no")
    access.revoke(ctx, setup.manager.actor, setup.grant.id, reason="case closed")
    assert not check(cam, now - 2 * HOUR, now - HOUR, Action.VIEW)
    with pytest.raises(grants.NoGrant, match="file an access request"):
        grants.require(
            ctx,
            account_id=holder.account_id,
            username=holder.username,
            camera_id=cam,
            start_us=now - 2 * HOUR,
            end_us=now - HOUR,
            need=Action.VIEW,
        )
    assert _entries(ctx, ledger.ACCESS_DENIED)[-1]["need"] == "view"
    assert _entries(ctx, ledger.GRANT_REVOKED)[-1]["reason"] == "case closed"


def test_one_account_cannot_sign_twice_and_one_signature_is_refused(ctx: Context, cam: int) -> None:
    a, _ = _psb_pair(ctx)
    doc = documents.upload(ctx, a, "notice.pdf", PDF)
    rid = _request(ctx, a, cam, document_id=doc.id)
    access.sign(ctx, a, rid, "A001")
    with pytest.raises(access.AccessError, match="signed this request already"):
        access.sign(ctx, a, rid, "A001")
    with pytest.raises(access.Refused) as refused:
        access.submit(ctx, a, rid)
    assert [(r.item, r.article) for r in refused.value.items] == [("staff", "Jilin Art. 28")]
    assert _entries(ctx, ledger.REQUEST_REFUSED)[-1]["refusals"] == [
        {
            "item": "staff",
            "reason": "at least two staff, each signing with their own account",
            "article": "Jilin Art. 28",
        }
    ]
    assert access.get_request(ctx, a, rid).state == "draft"


def test_work_id_must_match_the_account(ctx: Context, cam: int) -> None:
    a, _ = _psb_pair(ctx)
    rid = _request(ctx, a, cam)
    with pytest.raises(access.AccessError, match="work ID registered"):
        access.sign(ctx, a, rid, "X999")
    with pytest.raises(access.AccessError, match="work ID"):
        access.sign(ctx, a, rid, "  ")


def test_missing_document_refused_with_the_article(ctx: Context, cam: int) -> None:
    a, b = _psb_pair(ctx)
    rid = _request(ctx, a, cam)
    access.sign(ctx, a, rid, "A001")
    access.sign(ctx, b, rid, "B002")
    with pytest.raises(access.Refused) as refused:
        access.submit(ctx, a, rid)
    assert ("approval_document", "Jilin Art. 28") in [
        (r.item, r.article) for r in refused.value.items
    ]


def test_approver_cannot_be_a_requester(ctx: Context, cam: int) -> None:
    """Roles already keep managers from requesting; the party check also catches an account
    that signed as a duty operator and was made a manager before the decision."""
    operator = person(ctx, Role.DUTY_OPERATOR, work_id="U-7")
    promoted = person(ctx, Role.DUTY_OPERATOR, work_id="U-8")
    other_manager = person(ctx, Role.SECURITY_MANAGER)
    doc = documents.upload(ctx, operator.actor, "psb-confirmation.pdf", PDF)
    rid = _request(
        ctx,
        operator.actor,
        cam,
        action=Action.VIEW,
        basis=Basis.CONFIRMED_BY_PSB,
        destination="",
        document_id=doc.id,
        psb_approval_ref="公(2026)88号",
    )
    access.sign(ctx, operator.actor, rid, "U-7")
    access.sign(ctx, promoted.actor, rid, "U-8")
    access.submit(ctx, operator.actor, rid)
    with pytest.raises(access.NotAllowed):  # a duty operator never decides
        access.approve(ctx, operator.actor, rid)
    as_manager = access.Actor(
        promoted.account_id, promoted.username, Role.SECURITY_MANAGER.value, 1
    )
    with pytest.raises(access.NotAllowed, match="another manager decides"):
        access.approve(ctx, as_manager, rid)
    with pytest.raises(access.NotAllowed):  # managers do not file requests
        _request(ctx, other_manager.actor, cam)
    assert access.approve(ctx, other_manager.actor, rid) > 0


def test_other_organisations_requests_are_not_found(ctx: Context, cam: int) -> None:
    a, _ = _psb_pair(ctx)
    rid = _request(ctx, a, cam)
    court = organisation(ctx, "区人民法院 District Court", "judicial")
    judge = person(ctx, Role.EXTERNAL_OFFICER, court, work_id="J1").actor
    with pytest.raises(access.NotFound):
        access.get_request(ctx, judge, rid)
    with pytest.raises(access.NotFound):
        access.sign(ctx, judge, rid, "J1")
    assert [r.id for r in access.list_requests(ctx, judge)] == []
    auditor = person(ctx, Role.AUDITOR).actor
    assert [r.id for r in access.list_requests(ctx, auditor)] == [rid]
    with pytest.raises(access.NotAllowed):  # auditors read, never decide or request
        _request(ctx, auditor, cam)


def test_abroad_needs_psb_approval_even_for_the_unit(ctx: Context, cam: int) -> None:
    now = ctx.clock()
    setup_ok = approved_grant(ctx, camera_ids=[cam], start_us=now - 2 * HOUR, end_us=now - HOUR)
    assert setup_ok.grant.id > 0
    a, b = _psb_pair(ctx)
    doc = documents.upload(ctx, a, "n.pdf", PDF)
    rid = _request(ctx, a, cam, document_id=doc.id, destination_abroad=True)
    access.sign(ctx, a, rid, "A001")
    access.sign(ctx, b, rid, "B002")
    with pytest.raises(access.Refused) as refused:
        access.submit(ctx, a, rid)
    assert [(r.item, r.article) for r in refused.value.items] == [
        ("psb_approval", "Jilin Art. 22(6)")
    ]


def test_bad_fields_name_the_field(ctx: Context, cam: int) -> None:
    a, _ = _psb_pair(ctx)
    now = ctx.clock()
    with pytest.raises(access.AccessError) as e:
        _request(ctx, a, cam, start_us=now - HOUR, end_us=now - 2 * HOUR)
    assert e.value.field == "end"
    with pytest.raises(access.AccessError) as e:
        _request(ctx, a, cam, start_us=now - 40 * DAY, end_us=now)
    assert e.value.field == "end"
    with pytest.raises(access.AccessError) as e:
        _request(ctx, a, 999)
    assert e.value.field == "camera_ids"
    with pytest.raises(access.AccessError) as e:
        documents.upload(ctx, a, "evil.pdf", b"MZ\x90\x00 not a pdf")
    assert e.value.field == "document"


def test_document_is_stored_once_read_only_and_hashed(ctx: Context) -> None:
    a, _ = _psb_pair(ctx)
    d1 = documents.upload(ctx, a, "../../etc/passwd.pdf", PDF)
    d2 = documents.upload(ctx, a, "again.pdf", PDF)
    assert d1.path == d2.path and d1.path.read_bytes() == PDF
    assert d1.filename == "passwd.pdf"
    assert d1.path.stat().st_mode & 0o222 == 0
    court = organisation(ctx, "区人民法院 District Court", "judicial")
    judge = person(ctx, Role.EXTERNAL_OFFICER, court, work_id="J1").actor
    with pytest.raises(access.NotFound):
        documents.get(ctx, judge, d1.id, read_all=False)


def test_footage_not_yet_recorded_cannot_be_requested(ctx: Context, cam: int) -> None:
    a, _ = _psb_pair(ctx)
    now = ctx.clock()
    with pytest.raises(access.AccessError, match="live view") as e:
        _request(ctx, a, cam, start_us=now - HOUR, end_us=now + HOUR)
    assert e.value.field == "end"
    assert _request(ctx, a, cam, start_us=now - HOUR, end_us=now) > 0  # "until now" is fine


def test_only_the_approving_manager_gives_the_managers_consent(ctx: Context, cam: int) -> None:
    """Shenzhen Art. 35: an interested party views with the manager's approval; the party
    cannot claim it, the approver gives it (or the rules refuse the approval)."""
    set_setting(ctx, "jurisdiction", "shenzhen")
    family = organisation(ctx, "张某 (个人) Mr Zhang", "individual")
    a = person(ctx, Role.EXTERNAL_OFFICER, family, work_id="ID-1").actor
    b = person(ctx, Role.EXTERNAL_OFFICER, family, work_id="ID-2").actor
    manager = person(ctx, Role.SECURITY_MANAGER).actor
    rid = _request(
        ctx,
        a,
        cam,
        action=Action.VIEW,
        basis=Basis.INTERESTED_PARTY_EMERGENCY,
        destination="",
    )
    access.sign(ctx, a, rid, "ID-1")
    access.sign(ctx, b, rid, "ID-2")
    access.submit(ctx, a, rid)  # consent is not the requester's to give: not missing yet
    with pytest.raises(access.Refused) as refused:
        access.approve(ctx, manager, rid)
    assert [(r.item, r.article) for r in refused.value.items] == [
        ("manager_consent", "Shenzhen Art. 35")
    ]
    grant_id = access.approve(ctx, manager, rid, manager_consent=True)
    assert grant_id > 0 and access.get_request(ctx, manager, rid).manager_consent
    assert _entries(ctx, ledger.REQUEST_APPROVED)[-1]["manager_consent"] is True


def test_a_request_nobody_signed_is_never_granted(ctx: Context, cam: int) -> None:
    set_setting(ctx, "jurisdiction", "liaoning")  # no staff rule of its own
    a, _ = _psb_pair(ctx)
    rid = _request(ctx, a, cam, action=Action.VIEW, destination="")
    access.submit(ctx, a, rid)
    with pytest.raises(access.Refused, match="nobody has signed"):
        access.approve(ctx, person(ctx, Role.SECURITY_MANAGER).actor, rid)


def test_a_grant_follows_its_holder_out_of_a_signing_role(ctx: Context, cam: int) -> None:
    now = ctx.clock()
    setup = approved_grant(ctx, camera_ids=[cam], start_us=now - 2 * HOUR, end_us=now - HOUR)
    holder = setup.holders[0]

    def holds() -> bool:
        found = []
        with ctx.engine.connect() as conn:
            for named in (None, setup.grant.id):  # any grant, and this one by its id
                found.append(
                    grants.find(
                        conn,
                        account_id=holder.account_id,
                        camera_id=cam,
                        start_us=now - 2 * HOUR,
                        end_us=now - HOUR,
                        need=Action.VIEW,
                        now_us=ctx.clock(),
                        grant_id=named,
                    )
                    is not None
                )
        assert found[0] == found[1]
        return found[0]

    assert holds()
    with ctx.engine.begin() as conn:  # made auditor (roles change through services/accounts)
        conn.execute(
            update(schema.accounts)
            .where(schema.accounts.c.id == holder.account_id)
            .values(role=Role.AUDITOR.value)
        )
    assert not holds()  # an auditor sees no footage, whatever it held before
    with ctx.engine.begin() as conn:
        conn.execute(
            update(schema.accounts)
            .where(schema.accounts.c.id == holder.account_id)
            .values(role=Role.EXTERNAL_OFFICER.value, disabled_us=now)
        )
    assert not holds()  # nor does a disabled account


# --- the rules read again (issue 11, section 5), through the HTTP service -------------------


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as c:
        yield c


def _http_request(ctx: Context, c: TestClient, cam: int, **fields: object) -> int:
    now = ctx.clock()
    body: dict[str, object] = {
        "camera_ids": [cam],
        "start": iso(now - 2 * HOUR),
        "end": iso(now - HOUR),
        "action": "view",
        "basis": "law-enforcement",
        "purpose": "theft at the gate",
        **fields,
    }
    res = c.post("/api/v1/requests", json=body)
    assert res.status_code == 201, res.text
    return int(res.json()["id"])


def test_an_officer_with_no_registered_work_id_cannot_sign_with_any(
    ctx: Context, cam: int, client: TestClient
) -> None:
    """Jilin Art. 28(2) "出示工作证件": the work ID shown is checked against the one the unit
    registered for the account; an account with none registered has none to show, so no
    made-up work ID passes. Where no article asks for one (Liaoning), none is checked."""
    psb = organisation(ctx, "区公安分局 District PSB", "public-security")
    registered = person(ctx, Role.EXTERNAL_OFFICER, psb, work_id="A001")
    unregistered = person(ctx, Role.EXTERNAL_OFFICER, psb, work_id=None)
    c = _as(client, registered)
    doc = c.post("/api/v1/documents", files={"file": ("n.pdf", PDF, "application/octet-stream")})
    assert doc.status_code == 201, doc.text
    rid = _http_request(ctx, c, cam, document_id=doc.json()["id"])
    c = _as(client, unregistered)
    res = c.post(
        f"/api/v1/requests/{rid}/sign", json={"work_id": "A001"}, headers={"Accept-Language": "en"}
    )
    assert res.status_code == 422, res.text
    assert res.json()["detail"][0]["loc"] == ["body", "work_id"]
    assert "no work ID is registered" in res.json()["detail"][0]["msg"]
    assert "Jilin Art. 28" in res.json()["detail"][0]["msg"]
    assert access.get_request(ctx, registered.actor, rid).staff == ()
    # the rules check it again at approval: a work ID unregistered after signing is refused
    c = _as(client, registered)
    assert c.post(f"/api/v1/requests/{rid}/sign", json={"work_id": "A001"}).status_code == 204
    other = person(ctx, Role.EXTERNAL_OFFICER, psb, work_id="B002")
    c = _as(client, other)
    assert c.post(f"/api/v1/requests/{rid}/sign", json={"work_id": "B002"}).status_code == 204
    with ctx.engine.begin() as conn:
        conn.execute(
            update(schema.accounts)
            .where(schema.accounts.c.id == other.account_id)
            .values(work_id=None)
        )
    res = c.post(f"/api/v1/requests/{rid}/submit")
    assert res.status_code == 422, res.text
    assert [(d["loc"], d["article"]) for d in res.json()["detail"]] == [
        (["body", "staff.work_id"], "Jilin Art. 28")
    ]
    # Liaoning's text asks no work ID: an account without one signs what it shows
    set_setting(ctx, "jurisdiction", "liaoning")
    c = _as(client, registered)
    rid2 = _http_request(ctx, c, cam)
    c = _as(client, unregistered)
    assert c.post(f"/api/v1/requests/{rid2}/sign", json={"work_id": "X-1"}).status_code == 204


def test_shenzhen_a_private_organisation_is_not_let_in_on_consent_alone(
    ctx: Context, cam: int, client: TestClient
) -> None:
    """Shenzhen Art. 33 para. 3: the manager's consent (or public security permission) is how
    other state organs reach footage outside their own industry or region. A private
    organisation is no state organ: approving with consent is refused (Art. 30(4): no use
    without authorisation); a state organ outside its field is approved on the same consent."""
    set_setting(ctx, "jurisdiction", "shenzhen")
    insurer = organisation(ctx, "某保险公司 An insurer", "other-organisation")
    clerk = person(ctx, Role.EXTERNAL_OFFICER, insurer, work_id="I-1")
    manager = person(ctx, Role.SECURITY_MANAGER)
    c = _as(client, clerk)
    rid = _http_request(ctx, c, cam, basis="confirmed-by-public-security")
    assert c.post(f"/api/v1/requests/{rid}/sign", json={"work_id": "I-1"}).status_code == 204
    res = c.post(f"/api/v1/requests/{rid}/submit")
    assert res.status_code == 422, res.text
    assert [d["article"] for d in res.json()["detail"]] == ["Shenzhen Art. 30(4)"]

    regulator = organisation(ctx, "市场监管局 Market regulator", "state-organ")
    officers = [person(ctx, Role.EXTERNAL_OFFICER, regulator, work_id=f"M-{i}") for i in range(2)]
    c = _as(client, officers[0])
    rid = _http_request(ctx, c, cam, basis="confirmed-by-public-security")
    for i, officer in enumerate(officers):
        c = _as(client, officer)
        res = c.post(f"/api/v1/requests/{rid}/sign", json={"work_id": f"M-{i}"})
        assert res.status_code == 204, res.text
    assert c.post(f"/api/v1/requests/{rid}/submit").status_code == 204
    c = _as(client, manager)
    refused = c.post(f"/api/v1/requests/{rid}/approve", json={})
    assert refused.status_code == 422
    assert [d["article"] for d in refused.json()["detail"]] == ["Shenzhen Art. 33"]
    granted = c.post(f"/api/v1/requests/{rid}/approve", json={"manager_consent": True})
    assert granted.status_code == 200, granted.text


def test_shenzhen_state_organ_in_its_own_field_and_a_lone_interested_party(
    ctx: Context, cam: int, client: TestClient
) -> None:
    """Shenzhen Art. 33 para. 3: a state organ in its own industry or region needs neither
    consent nor permission, but Art. 34 binds it (two staff, work IDs). Art. 34 does not bind
    an Art. 35 interested party: one person signs, and views with the manager's approval."""
    set_setting(ctx, "jurisdiction", "shenzhen")
    manager = person(ctx, Role.SECURITY_MANAGER)
    regulator = organisation(ctx, "交通运输局 Transport bureau", "state-organ")
    a = person(ctx, Role.EXTERNAL_OFFICER, regulator, work_id="T-1")
    b = person(ctx, Role.EXTERNAL_OFFICER, regulator, work_id="T-2")
    c = _as(client, a)
    rid = _http_request(
        ctx, c, cam, basis="own-field", action="copy", destination="transport bureau case file"
    )
    assert c.post(f"/api/v1/requests/{rid}/sign", json={"work_id": "T-1"}).status_code == 204
    res = c.post(f"/api/v1/requests/{rid}/submit")
    assert res.status_code == 422
    assert [d["article"] for d in res.json()["detail"]] == ["Shenzhen Art. 34"]
    c = _as(client, b)
    assert c.post(f"/api/v1/requests/{rid}/sign", json={"work_id": "T-2"}).status_code == 204
    assert c.post(f"/api/v1/requests/{rid}/submit").status_code == 204
    c = _as(client, manager)
    assert c.post(f"/api/v1/requests/{rid}/approve", json={}).status_code == 200

    family = organisation(ctx, "李某 (个人) Ms Li", "individual")
    party = person(ctx, Role.EXTERNAL_OFFICER, family, work_id=None)
    c = _as(client, party)
    rid = _http_request(ctx, c, cam, basis="interested-party-emergency")
    res = c.post(f"/api/v1/requests/{rid}/sign", json={"work_id": "身份证 440301199001011234"})
    assert res.status_code == 204, res.text
    assert c.post(f"/api/v1/requests/{rid}/submit").status_code == 204
    c = _as(client, manager)
    res = c.post(f"/api/v1/requests/{rid}/approve", json={"manager_consent": True})
    assert res.status_code == 200, res.text


def test_jilin_unit_staff_review_their_own_footage_without_a_psb_reference(
    ctx: Context, cam: int, client: TestClient
) -> None:
    """Jilin Art. 21(4) (the unit's periodic checks) and Art. 23 (its reports to public
    security): the unit's own staff review their own footage without any public security
    reference, which no article asks; Art. 28 still asks two staff, work IDs and an approval
    document of them."""
    operators = [person(ctx, Role.DUTY_OPERATOR, work_id=f"U-{i}") for i in range(2)]
    manager = person(ctx, Role.SECURITY_MANAGER)
    c = _as(client, operators[0])
    doc = c.post(
        "/api/v1/documents", files={"file": ("自查审批单.pdf", PDF, "application/octet-stream")}
    )
    assert doc.status_code == 201, doc.text
    rid = _http_request(
        ctx,
        c,
        cam,
        basis="unit-duties",
        purpose="定期检查 periodic check (Art. 21(4))",
        document_id=doc.json()["id"],
    )
    for i, operator in enumerate(operators):
        c = _as(client, operator)
        assert c.post(f"/api/v1/requests/{rid}/sign", json={"work_id": f"U-{i}"}).status_code == 204
    assert c.post(f"/api/v1/requests/{rid}/submit").status_code == 204, "no PSB reference asked"
    c = _as(client, manager)
    granted = c.post(f"/api/v1/requests/{rid}/approve", json={})
    assert granted.status_code == 200, granted.text
    view = access.get_request(ctx, manager.actor, rid)
    assert view.psb_approval_ref is None and view.basis == "unit-duties"


def test_a_state_organ_is_an_organisation_kind_that_can_be_added(ctx: Context) -> None:
    """Shenzhen Art. 33 para. 3 and Art. 34 name "other state organs and relevant departments":
    the kind exists (stored as its string, no schema change) and an administrator adds one."""
    org = account_service.add_organisation(
        ctx, "市场监管局 Market regulator", "state-organ", actor=account_service.Actor("cli:test")
    )
    assert org.kind == "state-organ" and not org.operating_unit
    with ctx.engine.connect() as conn:
        stored = conn.execute(
            select(schema.organisations.c.kind).where(schema.organisations.c.id == org.id)
        ).scalar_one()
    assert stored == "state-organ"
