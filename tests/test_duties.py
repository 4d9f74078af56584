"""One person must never be enough (issue 11 §1, docs/DUTIES.md), through the real HTTP
service on SQLite and PostgreSQL.

The attack: with one administrator's credentials only, no sequence of calls yields recorded
footage or an export — neither on a fresh installation (the administrator alone) nor on one
whose real officers and manager the host made. Then the rules one by one: a second person
confirms, and not just anyone; a one-time password works once; an approval whose signers and
approver one person made is refused; log-ins are counted before hashing, per source, and the
hashing pool is bounded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from secrets import token_hex
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from custodes.adapters.db import schema
from custodes.clock import iso, now_us
from custodes.domain.duties import (
    Credential,
    approval_refusal,
    confirm_refusal,
    lineage,
    sole_holder,
)
from custodes.domain.roles import CONFIRMING_ROLES, Role, empowers
from custodes.entrypoints.cli_accounts import accounts_app
from custodes.entrypoints.web.app import API, create_app
from custodes.entrypoints.web.deps import CSRF_HEADER
from custodes.services import auth, ledger, passwords
from custodes.services.context import Context
from custodes.services.setup import ADMIN_USERNAME

from .grant_setup import PDF
from .test_api import PASSWORD, _set_password
from .test_authz import HOUR, _camera, _seal_run

PSB = "市公安局 City Public Security Bureau"
CHOSEN = "chosen by the admin 1"


class Client:
    """One browser: its own cookies, the CSRF header once logged in, its own address."""

    def __init__(self, stack: ExitStack, app: Any, source: str = "testclient") -> None:
        self.c: TestClient = stack.enter_context(TestClient(app, client=(source, 50000)))
        self.c.headers["Accept-Language"] = "en"  # the refusals below are read in English

    def login(self, username: str, password: str, **extra: str) -> httpx.Response:
        res: httpx.Response = self.c.post(
            f"{API}/auth/login", json={"username": username, "password": password, **extra}
        )
        if res.status_code == 200:
            self.c.headers[CSRF_HEADER] = res.json()["csrf_token"]
        return res

    def first_login(self, username: str, password: str, new: str) -> None:
        """A one-time password: refused alone, accepted with a new one."""
        res = self.login(username, password)
        assert res.status_code == 403, res.text
        assert res.json()["detail"]["code"] == "password-change-required"
        res = self.login(username, password, new_password=new)
        assert res.status_code == 200, res.text

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        res: httpx.Response = self.c.request(method.upper(), f"{API}{path}", **kwargs)
        return res


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as s:
        yield s


@pytest.fixture
def site(ctx: Context) -> dict[str, Any]:
    """A camera with 6 s of real sealed footage, two hours ago."""
    _set_password(ctx, PASSWORD)
    ctx.clock = now_us
    cam = _camera(ctx, "gate")
    base = ctx.clock() - 2 * HOUR
    _seal_run(ctx, cam, "run1", base, 3)
    return {"cam": cam, "base": base}


def _count(ctx: Context, table: Any) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _cli(ctx: Context, *args: str, stdin: str | None = None) -> str:
    res = CliRunner().invoke(accounts_app, [*args, "--data", str(ctx.data.root)], input=stdin)
    assert res.exit_code == 0, res.output
    return res.output


def _host_makes(ctx: Context, username: str, role: str, *extra: str) -> str:
    """The host's command line makes an account (a second, named person on the host) with
    a password it is given; returns that password."""
    password = f"host-set {token_hex(6)}"
    _cli(ctx, "add", username, "--role", role, *extra, "--password-stdin", stdin=password + "\n")
    return password


def _media(c: Client, site: dict[str, Any]) -> httpx.Response:
    params = {"start": iso(site["base"] + 1_000_000), "end": iso(site["base"] + 5_000_000)}
    return c.call("get", f"/cameras/{site['cam']}/media", params=params)


def _request_body(site: dict[str, Any], document_id: int | None) -> dict[str, Any]:
    return {
        "camera_ids": [site["cam"]],
        "start": iso(site["base"]),
        "end": iso(site["base"] + 6_000_000),
        "action": "copy",
        "basis": "law-enforcement",
        "purpose": "案件侦查 case investigation",
        "destination": "市公安局刑侦支队 City PSB criminal investigation",
        "document_id": document_id,
    }


def _no_footage(ctx: Context, *clients: Client, site: dict[str, Any]) -> None:
    assert _count(ctx, schema.grants) == 0
    assert _count(ctx, schema.exports) == 0
    for c in clients:
        res = _media(c, site)
        assert res.status_code >= 400 and not res.headers.get("content-type", "").startswith(
            "video/"
        ), res.text
    for action in (ledger.MEDIA_VIEWED, ledger.EXPORT_CREATED, ledger.REQUEST_APPROVED):
        assert _ledger_details(ctx, action) == [], action


# --- the attack ------------------------------------------------------------------------------


def test_one_administrator_alone_gets_no_footage(
    ctx: Context, site: dict[str, Any], stack: ExitStack
) -> None:
    app = create_app(ctx)
    admin = Client(stack, app)
    assert admin.login(ADMIN_USERNAME, PASSWORD).status_code == 200
    psb = admin.call("post", "/organisations", json={"name": PSB, "kind": "public-security"})
    assert psb.status_code == 201
    org = psb.json()["id"]

    # every account that could sign, approve or confirm is only proposed
    proposals: dict[str, int] = {}
    for username, role, organisation in (
        ("officer1", "external_officer", org),
        ("officer2", "external_officer", org),
        ("manager", "security_manager", 1),
        ("root2", "system_admin", 1),
        ("operator", "duty_operator", 1),
    ):
        res = admin.call(
            "post",
            "/accounts",
            json={
                "username": username,
                "role": role,
                "organisation_id": organisation,
                "password": CHOSEN,
                "work_id": f"W-{username}",
            },
        )
        assert res.status_code == 202, res.text
        proposals[username] = res.json()["pending"]["id"]
    # and none of them exists, so none can log in
    for username in proposals:
        assert Client(stack, app).login(username, CHOSEN).status_code == 401
    # the proposer cannot confirm them
    for change in proposals.values():
        res = admin.call("post", f"/account-changes/{change}/confirm")
        assert res.status_code == 403, res.text
    # an auditor is made at once (it leads to no footage) — and can confirm nothing
    made = admin.call("post", "/accounts", json={"username": "aud", "role": "auditor"})
    assert made.status_code == 201
    auditor = Client(stack, app)
    auditor.first_login("aud", made.json()["password"], "a fresh secret 1")
    for change in proposals.values():
        assert auditor.call("post", f"/account-changes/{change}/confirm").status_code == 403
    # nor can it be promoted without a second person
    promote = admin.call(
        "patch", f"/accounts/{made.json()['id']}", json={"role": "security_manager"}
    )
    assert promote.status_code == 202
    assert (
        admin.call(
            "post", f"/account-changes/{promote.json()['pending']['id']}/confirm"
        ).status_code
        == 403
    )
    assert admin.call("get", f"/accounts/{made.json()['id']}").json()["role"] == "auditor"
    # what the administrator's own role may do leads nowhere
    assert admin.call("post", "/requests", json=_request_body(site, None)).status_code == 403
    upload = admin.call("post", "/documents", files={"file": ("a.pdf", PDF, "application/pdf")})
    assert upload.status_code == 403
    assert admin.call("post", "/requests/1/approve", json={}).status_code in (403, 404)
    export = {
        "grant_id": 1,
        "camera_id": site["cam"],
        "start": iso(site["base"]),
        "end": iso(site["base"] + 4_000_000),
    }
    assert admin.call("post", "/exports", json=export).status_code in (403, 404, 422)

    # every operation of the schema, as the administrator, with an empty body and ids 1…9
    doc = admin.call("get", "/openapi.json").json()
    for template, item in doc["paths"].items():
        for method in item:
            if method not in ("get", "post", "put", "patch", "delete") or any(
                skip in template for skip in ("logout", "/hls/", "/live")
            ):
                continue
            for ident in ("1", "2", str(proposals["manager"])):
                path = template.removeprefix(API)
                for part in (
                    "camera_id",
                    "account_id",
                    "request_id",
                    "grant_id",
                    "change_id",
                    "document_id",
                    "export_id",
                    "hold_id",
                    "alarm_id",
                    "id",
                ):
                    path = path.replace("{" + part + "}", ident)
                path = path.replace("{stream}", "main").replace("{name}", "index.m3u8")
                admin.call(method, path, json={})  # whatever it answers, see below
    assert admin.call("get", "/auth/me").status_code == 200

    _no_footage(ctx, admin, auditor, site=site)
    with ctx.engine.connect() as conn:
        states = set(conn.execute(select(schema.account_changes.c.state)).scalars())
        logins = set(
            conn.execute(
                select(schema.ledger.c.object).where(schema.ledger.c.action == ledger.LOGIN)
            ).scalars()
        )
    assert "confirmed" not in states
    assert logins == {"account:admin", "account:aud"}
    assert ledger.verify(ctx).ok


def test_nor_with_the_real_people_the_host_made(
    ctx: Context, site: dict[str, Any], stack: ExitStack
) -> None:
    """The host made the real officers and the manager; the administrator resets, enables,
    promotes — every one of which waits for a second person — and gets nothing."""
    _cli(ctx, "org-add", PSB, "--kind", "public-security")
    secrets = {
        "o1": _host_makes(ctx, "o1", "external_officer", "--org", PSB, "--work-id", "J-1"),
        "o2": _host_makes(ctx, "o2", "external_officer", "--org", PSB, "--work-id", "J-2"),
        "mgr": _host_makes(ctx, "mgr", "security_manager"),
    }
    app = create_app(ctx)
    admin = Client(stack, app)
    assert admin.login(ADMIN_USERNAME, PASSWORD).status_code == 200
    accounts = {a["username"]: a for a in admin.call("get", "/accounts").json()}
    for name in secrets:
        assert accounts[name]["credential_by"].startswith("cli:")
        res = admin.call(
            "post", f"/accounts/{accounts[name]['id']}/reset-password", json={"password": CHOSEN}
        )
        assert res.status_code == 202, res.text
        assert Client(stack, app).login(name, CHOSEN).status_code == 401  # not in effect
    # disabling takes power away: at once; enabling gives it back: proposed
    assert admin.call("post", f"/accounts/{accounts['mgr']['id']}/disable").status_code == 200
    assert admin.call("post", f"/accounts/{accounts['mgr']['id']}/enable").status_code == 202
    # the real people still have their own passwords (one-time, from the host)
    o1 = Client(stack, app)
    o1.first_login("o1", secrets["o1"], "officer one's own 1")
    pending = o1.call("get", "/account-changes")
    assert pending.status_code == 403  # an officer confirms nothing
    _no_footage(ctx, admin, o1, site=site)
    assert ledger.verify(ctx).ok


# --- a second person, and not just anyone ----------------------------------------------------


def test_the_approval_is_refused_when_one_person_made_every_signer_and_the_approver(
    ctx: Context, site: dict[str, Any], stack: ExitStack
) -> None:
    """A second administrator (made on the host) is fooled into confirming everything: the
    first then holds both officers and a manager. The approval is still refused; an approver
    made by someone else may approve."""
    root2_password = _host_makes(ctx, "root2", "system_admin")
    real_manager = _host_makes(ctx, "realmgr", "security_manager")
    app = create_app(ctx)
    admin, root2 = Client(stack, app), Client(stack, app)
    assert admin.login(ADMIN_USERNAME, PASSWORD).status_code == 200
    root2.first_login("root2", root2_password, "root two's own pw")
    org = admin.call("post", "/organisations", json={"name": PSB, "kind": "public-security"})
    cast = {}
    for username, role, organisation in (
        ("fake1", "external_officer", org.json()["id"]),
        ("fake2", "external_officer", org.json()["id"]),
        ("fakemgr", "security_manager", 1),
    ):
        res = admin.call(
            "post",
            "/accounts",
            json={
                "username": username,
                "role": role,
                "organisation_id": organisation,
                "password": CHOSEN,
                "work_id": f"W-{username}",
            },
        )
        assert res.status_code == 202
        confirmed = root2.call("post", f"/account-changes/{res.json()['pending']['id']}/confirm")
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["credential_by"] == "account:admin"
        cast[username] = Client(stack, app)
        cast[username].first_login(username, CHOSEN, f"a new password {len(cast)}")
        assert Client(stack, app).login(username, CHOSEN).status_code == 401  # worked once
    # the administrator's manager confirms nothing the administrator proposes
    more = admin.call(
        "post",
        "/accounts",
        json={"username": "fake3", "role": "external_officer", "organisation_id": org.json()["id"]},
    )
    refused = cast["fakemgr"].call(
        "post", f"/account-changes/{more.json()['pending']['id']}/confirm"
    )
    assert refused.status_code == 403 and "made or last reset" in refused.text

    f1, f2, fm = cast["fake1"], cast["fake2"], cast["fakemgr"]
    doc = f1.call("post", "/documents", files={"file": ("通知书.pdf", PDF, "application/pdf")})
    assert doc.status_code == 201, doc.text
    req = f1.call("post", "/requests", json=_request_body(site, doc.json()["id"]))
    assert req.status_code == 201, req.text
    rid = req.json()["id"]
    assert f1.call("post", f"/requests/{rid}/sign", json={"work_id": "W-fake1"}).status_code == 204
    assert f2.call("post", f"/requests/{rid}/sign", json={"work_id": "W-fake2"}).status_code == 204
    assert f1.call("post", f"/requests/{rid}/submit").status_code == 204
    res = fm.call("post", f"/requests/{rid}/approve", json={})
    assert res.status_code == 422, res.text
    (item,) = [d for d in res.json()["detail"] if d["loc"][-1] == "separation_of_duties"]
    assert "account:admin" in item["msg"] and item["article"] == "Jilin Art. 28"
    _no_footage(ctx, admin, f1, f2, fm, site=site)
    refusal = [
        json.loads(d)
        for d in _ledger_details(ctx, ledger.REQUEST_REFUSED)
        if json.loads(d)["step"] == "approve"
    ]
    assert any(r["item"] == "separation_of_duties" for r in refusal[-1]["refusals"])

    # a manager the administrator did not make decides: two people, and it goes ahead
    real = Client(stack, app)
    real.first_login("realmgr", real_manager, "the real manager's")
    assert real.call("post", f"/requests/{rid}/approve", json={}).status_code == 200
    assert _count(ctx, schema.grants) == 1


def _ledger_details(ctx: Context, action: str) -> list[str]:
    with ctx.engine.connect() as conn:
        return list(
            conn.execute(
                select(schema.ledger.c.details).where(schema.ledger.c.action == action)
            ).scalars()
        )


def test_who_may_confirm_and_what_waits() -> None:
    admin = "account:admin"
    assert empowers(None, Role.EXTERNAL_OFFICER) and empowers(Role.AUDITOR, Role.DUTY_OPERATOR)
    assert not empowers(None, Role.AUDITOR) and not empowers(Role.SECURITY_MANAGER, Role.AUDITOR)
    assert empowers(Role.SYSTEM_ADMIN, Role.SECURITY_MANAGER)  # a decider, newly
    other = Credential("account:root2", "cli:root")
    assert (
        confirm_refusal(
            proposer=admin, confirmer=other, confirmer_role="system_admin", target="account:o1"
        )
        is None
    )
    not_confirming = confirm_refusal(
        proposer=admin, confirmer=other, confirmer_role="auditor", target=None
    )
    assert not_confirming is not None  # and it names the confirming roles as they are
    assert {Role.SYSTEM_ADMIN, Role.SECURITY_MANAGER} == CONFIRMING_ROLES
    assert "(system administrator, security manager)" in str(not_confirming)
    assert confirm_refusal(
        proposer="account:root2", confirmer=other, confirmer_role="system_admin", target=None
    )
    assert confirm_refusal(
        proposer=admin, confirmer=other, confirmer_role="security_manager", target="account:root2"
    )
    made = Credential("account:m", admin)
    assert confirm_refusal(
        proposer=admin, confirmer=made, confirmer_role="security_manager", target=None
    )
    signers = [Credential("account:o1", admin), Credential("account:o2", admin)]
    assert sole_holder([*signers, made]) == admin
    assert approval_refusal("shenzhen", signers, made) is not None
    assert approval_refusal("shenzhen", signers, Credential("account:m", "cli:root")) is None
    assert approval_refusal("jilin", signers, Credential("account:m", None)) is None
    # the manager who made both signers, approving themselves
    by_m = [Credential("account:o1", "account:m"), Credential("account:o2", "account:m")]
    assert sole_holder([*by_m, Credential("account:m", "cli:root")]) == "account:m"
    assert sole_holder([Credential("account:o1", None), Credential("account:o2", None)]) is None
    # the chain of makers is followed: the admin made x, x made y, so the admin holds y
    chain = {"account:x": admin, admin: None}
    y = Credential("account:y", "account:x", lineage("account:x", chain))
    assert y.holders == {"account:y", "account:x", admin}
    assert confirm_refusal(
        proposer=admin, confirmer=y, confirmer_role="security_manager", target=None
    )
    assert approval_refusal("jilin", signers, y) is not None
    # the other way round: the confirmer made the proposer (directly or up the chain)
    assert confirm_refusal(
        proposer="account:y",
        confirmer=Credential(admin, None),
        confirmer_role="system_admin",
        target=None,
        proposer_credential=y,
    )
    assert lineage("account:a", {"account:a": "account:b", "account:b": "account:a"}) == {
        "account:a",
        "account:b",
    }  # a cycle ends


def test_an_administrator_cannot_confirm_through_an_account_they_made(
    ctx: Context, stack: ExitStack
) -> None:
    """Once a real second person has confirmed an administrator the first one proposed, the
    two accounts are one person's: the made one proposes, its maker confirms — refused, in
    either direction, so one administrator never becomes two."""
    _set_password(ctx, PASSWORD)
    root2 = _host_makes(ctx, "root2", "system_admin")
    app = create_app(ctx)
    admin, second, made = Client(stack, app), Client(stack, app), Client(stack, app)
    admin.login(ADMIN_USERNAME, PASSWORD)
    second.first_login("root2", root2, "root two's own pw")
    b2 = admin.call(
        "post", "/accounts", json={"username": "b2", "role": "system_admin", "password": CHOSEN}
    )
    assert b2.status_code == 202, b2.text
    ok = second.call("post", f"/account-changes/{b2.json()['pending']['id']}/confirm")
    assert ok.status_code == 200, ok.text  # a real second person let b2 in
    made.first_login("b2", CHOSEN, "b two's own pw 1")
    mgr = made.call(
        "post", "/accounts", json={"username": "m9", "role": "security_manager", "password": CHOSEN}
    )
    assert mgr.status_code == 202, mgr.text
    change = mgr.json()["pending"]["id"]
    mine = admin.call("post", f"/account-changes/{change}/confirm")
    assert mine.status_code == 403 and "made or last reset by" in mine.text, mine.text
    assert Client(stack, app).login("m9", CHOSEN).status_code == 401  # never made
    # and the other way round, as before: what the maker proposes, the made one cannot confirm
    reset = admin.call("post", f"/accounts/{ok.json()['id']}/reset-password")
    assert reset.status_code == 202, reset.text
    theirs = made.call("post", f"/account-changes/{reset.json()['pending']['id']}/confirm")
    assert theirs.status_code in (403, 409), theirs.text


def test_a_proposal_lapses_and_is_checked_again_at_confirmation(
    ctx: Context, stack: ExitStack
) -> None:
    _set_password(ctx, PASSWORD)
    root2 = _host_makes(ctx, "root2", "system_admin")
    aud = _host_makes(ctx, "aud2", "auditor")
    app = create_app(ctx)
    admin, second = Client(stack, app), Client(stack, app)
    admin.login(ADMIN_USERNAME, PASSWORD)
    second.first_login("root2", root2, "root two's own pw")
    aud_id = next(a["id"] for a in admin.call("get", "/accounts").json() if a["username"] == "aud2")
    one = admin.call("patch", f"/accounts/{aud_id}", json={"role": "security_manager"})
    two = admin.call("patch", f"/accounts/{aud_id}", json={"role": "duty_operator"})
    assert (
        second.call("post", f"/account-changes/{two.json()['pending']['id']}/confirm").status_code
        == 200
    )
    stale = second.call("post", f"/account-changes/{one.json()['pending']['id']}/confirm")
    assert stale.status_code == 409 and "propose it again" in stale.text  # the role moved on
    three = admin.call("post", f"/accounts/{aud_id}/reset-password")
    assert three.status_code == 202 and three.json()["password"]
    later = ctx.clock() + 8 * 86_400_000_000
    ctx.clock = lambda: later
    assert second.login("root2", "root two's own pw").status_code == 200  # a new day's session
    lapsed = second.call("post", f"/account-changes/{three.json()['pending']['id']}/confirm")
    assert lapsed.status_code == 409 and "lapsed" in lapsed.text
    assert second.call("post", "/account-changes/99999/confirm").status_code == 404
    assert second.call("post", f"/account-changes/{2**40}/confirm").status_code == 422
    assert aud  # the auditor's host password was never used


# --- log-ins: counted before hashing, per source; a bounded pool -----------------------------


@pytest.mark.real_argon2  # the checks take the product's time, the pool its real load
def test_twenty_parallel_guesses_are_five_checks_and_the_owner_still_gets_in(
    ctx: Context,
) -> None:
    _set_password(ctx, PASSWORD)
    fixed = now_us()
    ctx.clock = lambda: fixed  # no delay runs out during the test
    barrier = threading.Barrier(20)

    def guess(i: int) -> str:
        barrier.wait()
        try:
            s = auth.login(ctx, ADMIN_USERNAME, f"guess number {i}", source="198.51.100.1")
        except auth.Throttled:
            return "throttled"
        except auth.Busy:  # admitted, but no hashing slot came in time (a loaded machine)
            return "busy"
        return "refused" if s is None else "in"

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(guess, range(20)))
        owner = pool.submit(auth.login, ctx, ADMIN_USERNAME, PASSWORD, source="203.0.113.5")
        assert owner.result() is not None  # a correct password from elsewhere, mid-burst
    assert outcomes.count("refused") + outcomes.count("busy") == auth.MAX_FAILED_LOGINS
    assert outcomes.count("throttled") == 20 - auth.MAX_FAILED_LOGINS
    checked = [
        json.loads(d)
        for d in _ledger_details(ctx, ledger.LOGIN_FAILED)
        if "reason" not in json.loads(d)
    ]
    assert len(checked) == outcomes.count("refused")  # Argon2 ran five times, not twenty
    # the stranger's address waits; the name it shares waits at most a minute
    with pytest.raises(auth.Throttled) as waiting:
        auth.login(ctx, ADMIN_USERNAME, PASSWORD, source="198.51.100.1")
    assert waiting.value.kind == "pair"


def test_other_accounts_wrong_passwords_never_make_mine_wait(ctx: Context) -> None:
    """Re-authentication (changing one's own password or second factor) is throttled per
    account: seven accounts' five wrong passwords each do not make an eighth wait."""
    fixed = now_us()
    ctx.clock = lambda: fixed
    ids = {}
    for i in range(8):
        password = _host_makes(ctx, f"aud{i}", "auditor")
        with ctx.engine.connect() as conn:
            ids[i] = int(
                conn.execute(
                    select(schema.accounts.c.id).where(schema.accounts.c.username == f"aud{i}")
                ).scalar_one()
            )
        if i == 7:
            mine = password
    for i in range(7):
        for _ in range(5):
            assert auth.check_password(ctx, ids[i], "not my password at all") is False
    assert auth.check_password(ctx, ids[7], mine) is True
    with pytest.raises(auth.Throttled):  # each account's own guesses still wait
        auth.check_password(ctx, ids[0], "not my password at all")


def test_many_addresses_slow_a_name_for_a_minute_at_most(ctx: Context) -> None:
    _set_password(ctx, PASSWORD)
    now = [now_us()]
    ctx.clock = lambda: now[0]
    for i in range(30):
        try:
            auth.login(ctx, ADMIN_USERNAME, "not the password!", source=f"192.0.2.{i}")
        except auth.Throttled as exc:
            assert exc.kind == "name" and exc.retry_after_s <= 60
    with pytest.raises(auth.Throttled) as blocked:
        auth.login(ctx, ADMIN_USERNAME, PASSWORD, source="203.0.113.9")
    assert blocked.value.kind == "name" and blocked.value.retry_after_s <= 60
    now[0] += 60_000_000
    assert auth.login(ctx, ADMIN_USERNAME, PASSWORD, source="203.0.113.9") is not None


@pytest.mark.real_argon2
def test_the_hashing_pool_is_bounded_and_excess_gets_503(
    ctx: Context, monkeypatch: pytest.MonkeyPatch, stack: ExitStack
) -> None:
    _set_password(ctx, PASSWORD)
    monkeypatch.setattr(passwords, "HASH_WAIT_S", 0.2)
    client = Client(stack, create_app(ctx))
    held = [passwords._slots.acquire(timeout=5) for _ in range(passwords.HASH_SLOTS)]
    try:
        assert all(held)  # every slot taken: a log-in waits briefly, then 503
        res = client.login(ADMIN_USERNAME, PASSWORD)
        assert res.status_code == 503 and res.headers["retry-after"] == "1"
    finally:
        for _ in held:
            passwords._slots.release()
    assert client.login(ADMIN_USERNAME, PASSWORD).status_code == 200


def test_the_login_page_asks_for_a_new_password(ctx: Context, stack: ExitStack) -> None:
    page = Client(stack, create_app(ctx)).c.get("/login", headers={"Accept-Language": "zh-CN"})
    assert 'id="new-password-step"' in page.text and "只能使用一次" in page.text
