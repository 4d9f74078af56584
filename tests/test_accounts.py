"""Organisations and accounts (issue 5, part 1): lockout, TOTP, role and organisation rules,
the last administrator, disabled accounts, passwords, camera assignments; over HTTP and the CLI.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from custodes.adapters.db import schema
from custodes.domain.camera import CameraSpec
from custodes.domain.roles import Permission
from custodes.entrypoints.cli_accounts import accounts_app
from custodes.entrypoints.web.app import create_app
from custodes.entrypoints.web.deps import CSRF_HEADER
from custodes.services import accounts as svc
from custodes.services import auth, ledger
from custodes.services import cameras as camera_service
from custodes.services.context import Context
from custodes.services.setup import ADMIN_USERNAME

from .test_api import PASSWORD, T0, _set_password

CLI = svc.Actor("cli:test")
STEP_US = auth.TOTP_INTERVAL_S * 1_000_000
L = schema.ledger


class Clock:
    def __init__(self, ctx: Context, start: int = T0) -> None:
        self.now = start
        ctx.clock = lambda: self.now

    def advance(self, us: int) -> None:
        self.now += us


def _rows(ctx: Context, action: str | None = None) -> list[Any]:
    query = select(L).order_by(L.c.seq)
    if action is not None:
        query = query.where(L.c.action == action)
    with ctx.engine.connect() as conn:
        return list(conn.execute(query))


def _make(
    ctx: Context, username: str, role: str = "duty_operator", org: int = 1
) -> svc.AccountView:
    return svc.create_account(
        ctx,
        username=username,
        role=role,
        password=PASSWORD,
        organisation_id=org,
        actor=CLI,
        one_time=False,
    )


def _admin(ctx: Context) -> svc.Actor:
    return svc.Actor("account:admin", svc.find_account(ctx, ADMIN_USERNAME).id)


def _code(secret: str, now_us: int, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(now_us // 1_000_000 + steps * auth.TOTP_INTERVAL_S)


def _session(ctx: Context, username: str, totp: str | None = None) -> auth.Session:
    s = auth.login(ctx, username, PASSWORD, totp)
    assert s is not None
    return s


# --- throttling (services/throttle.py; the parallel and HTTP cases: tests/test_duties.py) ---


def test_failures_from_one_source_wait_progressively(ctx: Context) -> None:
    clock = Clock(ctx)
    _make(ctx, "alice")
    for _ in range(auth.MAX_FAILED_LOGINS):
        assert auth.login(ctx, "alice", "wrong password!", source="10.0.0.9") is None
    with pytest.raises(auth.Throttled) as first:  # the 6th waits 1 s, nothing checked
        auth.login(ctx, "alice", PASSWORD, source="10.0.0.9")
    assert first.value.retry_after_s == 1 and first.value.kind == "pair"
    assert auth.login(ctx, "alice", PASSWORD, source="10.0.0.7") is not None  # elsewhere: in
    clock.advance(1_000_000)
    assert auth.login(ctx, "alice", "wrong password!", source="10.0.0.9") is None
    with pytest.raises(auth.Throttled) as second:  # the next waits twice as long
        auth.login(ctx, "alice", PASSWORD, source="10.0.0.9")
    assert second.value.retry_after_s == 2
    clock.advance(2_000_000)
    assert auth.login(ctx, "alice", PASSWORD, source="10.0.0.9") is not None
    # after a success the pair starts again: five more before a delay
    for _ in range(auth.MAX_FAILED_LOGINS):
        assert auth.login(ctx, "alice", "wrong password!", source="10.0.0.9") is None
    failed = [json.loads(r.details) for r in _rows(ctx, ledger.LOGIN_FAILED)]
    throttled = [f for f in failed if f.get("reason") == "throttled"]
    assert [t["key"] for t in throttled] == ["pair", "pair"]
    checked = [f for f in failed if "reason" not in f]
    assert len(checked) == 2 * auth.MAX_FAILED_LOGINS + 1
    assert PASSWORD not in "".join(r.details for r in _rows(ctx))
    assert ledger.verify(ctx).ok


def test_a_stranger_hammering_a_delay_grows_the_ledger_by_a_few_entries(ctx: Context) -> None:
    """Each throttled attempt used to be a ledger entry: a stranger sending log-ins as fast as
    the service answers grew the ledger (and queued every other ledger write) at that rate."""
    clock = Clock(ctx)
    _make(ctx, "alice")
    for _ in range(auth.MAX_FAILED_LOGINS):
        assert auth.login(ctx, "alice", "wrong password!", source="10.0.0.9") is None
    before = len(_rows(ctx))
    refusals = []
    for _ in range(150):
        with pytest.raises(auth.Throttled) as refused:
            auth.login(ctx, "alice", "wrong password!", source="10.0.0.9")
        refusals.append(refused.value.refused)
    assert refusals == list(range(1, 151))
    added = [json.loads(r.details) for r in _rows(ctx)[before:]]
    assert [(a["reason"], a["key"], a["refused"]) for a in added] == [
        ("throttled", "pair", 1),
        ("throttled", "pair", 10),
        ("throttled", "pair", 100),
    ]
    # once admitted again, the next delay's refusals are counted from one
    clock.advance(10_000_000)
    assert auth.login(ctx, "alice", "wrong password!", source="10.0.0.9") is None
    with pytest.raises(auth.Throttled) as again:
        auth.login(ctx, "alice", "wrong password!", source="10.0.0.9")
    assert again.value.refused == 1
    assert json.loads(_rows(ctx)[-1].details)["refused"] == 1
    assert ledger.verify(ctx).ok


def test_a_success_resets_the_count_and_unknown_names_cost_the_same(ctx: Context) -> None:
    Clock(ctx)
    _make(ctx, "bob")
    for _ in range(2):
        for _ in range(auth.MAX_FAILED_LOGINS - 1):
            assert auth.login(ctx, "bob", "wrong password!") is None
        assert auth.login(ctx, "bob", PASSWORD) is not None
    for _ in range(auth.MAX_FAILED_LOGINS):
        assert auth.login(ctx, "nobody-here", PASSWORD) is None
    with pytest.raises(auth.Throttled):  # an unknown name is throttled like a known one
        auth.login(ctx, "nobody-here", PASSWORD)
    details = json.loads(_rows(ctx, ledger.LOGIN_FAILED)[-2].details)
    assert details == {"username": "nobody-here", "account_exists": False, "source": "local"}


def test_an_administrator_lifts_a_delay(ctx: Context) -> None:
    Clock(ctx)
    bob = _make(ctx, "bob")
    for _ in range(auth.MAX_FAILED_LOGINS):
        auth.login(ctx, "bob", "wrong password!")
    with pytest.raises(auth.Throttled):
        auth.login(ctx, "bob", PASSWORD)
    svc.enable_account(ctx, bob.id, actor=CLI)
    assert auth.login(ctx, "bob", PASSWORD) is not None
    (lifted,) = [r for r in _rows(ctx, ledger.ACCOUNT_CHANGED) if r.object == "account:bob"]
    assert json.loads(lifted.details) == {
        "change": "enabled",
        "was_disabled": False,
        "was_locked": True,
    }


def test_the_accounts_page_shows_a_locked_account_and_unlocks_it(ctx: Context) -> None:
    """Nobody could lift a delay in the UI (only `custodes account enable`)."""
    clock = Clock(ctx)
    _set_password(ctx, PASSWORD)
    bob = _make(ctx, "bob")
    for i in range(25):  # many addresses: the name itself waits
        with contextlib.suppress(auth.Throttled):
            auth.login(ctx, "bob", "wrong password!", source=f"198.51.100.{i}")
    with TestClient(create_app(ctx)) as c:
        me = c.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        page = c.get("/accounts", headers={"accept-language": "zh-CN"}).text
        row = page.split(f'data-account="{bob.id}"', 1)[1].split("</tr>", 1)[0]
        assert "锁定" in row and 'class="enable unlock"' in row and "<time data-us=" in row
        res = c.post(
            f"/api/v1/accounts/{bob.id}/enable", headers={CSRF_HEADER: me.json()["csrf_token"]}
        )
        assert res.status_code == 200, res.text
        page = c.get("/accounts").text
        row = page.split(f'data-account="{bob.id}"', 1)[1].split("</tr>", 1)[0]
        assert "unlock" not in row and "locked" not in row
    clock.advance(1)
    assert auth.login(ctx, "bob", PASSWORD, source="198.51.100.200") is not None


# --- TOTP ------------------------------------------------------------------------------------


def test_totp_enrolment_login_and_replay(ctx: Context) -> None:
    clock = Clock(ctx)
    carol = _make(ctx, "carol")
    s = _session(ctx, "carol")
    with pytest.raises(svc.WrongPassword):
        svc.begin_totp(ctx, s, "not the password")
    e = svc.begin_totp(ctx, s, PASSWORD)
    assert e.uri.startswith("otpauth://totp/") and "issuer=Custodes" in e.uri
    assert "carol" in e.uri and e.secret in e.uri
    assert e.secret not in e.enrolment  # sealed
    _session(ctx, "carol")  # not in effect before it is confirmed
    with pytest.raises(svc.Invalid) as wrong:
        svc.confirm_totp(ctx, s, e.enrolment, "000000" if _code(e.secret, T0) != "000000" else "1")
    assert wrong.value.field == "code"
    first = _code(e.secret, T0)
    assert svc.confirm_totp(ctx, s, e.enrolment, first).totp
    with ctx.engine.connect() as conn:
        stored = conn.execute(
            select(schema.accounts.c.totp_secret).where(schema.accounts.c.id == carol.id)
        ).scalar_one()
    assert e.secret.encode() not in stored  # encrypted at rest

    assert auth.login(ctx, "carol", PASSWORD) is None  # missing
    assert auth.login(ctx, "carol", PASSWORD, "12345x") is None  # not a code
    assert auth.login(ctx, "carol", PASSWORD, first) is None  # the confirming code: used
    clock.advance(STEP_US)
    assert auth.login(ctx, "carol", PASSWORD, first) is None  # in the window, but used
    now_code = _code(e.secret, clock.now)
    assert auth.login(ctx, "carol", PASSWORD, now_code) is not None
    assert auth.login(ctx, "carol", PASSWORD, now_code) is None  # replayed
    failures = [json.loads(r.details) for r in _rows(ctx, ledger.LOGIN_FAILED)]
    assert failures[0]["during"] == "re-authentication"  # begin_totp, wrong password
    reasons = [f["totp"] for f in failures[1:] if f["reason"] == "totp"]
    assert reasons == ["missing", "wrong", "replayed", "replayed", "replayed"]
    assert not any(now_code in r.details or first in r.details for r in _rows(ctx))

    clock.advance(4 * STEP_US)  # the device's clock is one step behind or ahead: accepted
    assert auth.login(ctx, "carol", PASSWORD, now_code) is None  # long gone
    assert auth.login(ctx, "carol", PASSWORD, _code(e.secret, clock.now, -1)) is not None
    assert auth.login(ctx, "carol", PASSWORD, _code(e.secret, clock.now, +1)) is not None
    assert auth.login(ctx, "carol", PASSWORD, _code(e.secret, clock.now, +2)) is None

    (enrolled,) = _rows(ctx, ledger.TOTP_ENROLLED)
    assert enrolled.actor == "account:carol" and json.loads(enrolled.details) == {"replaced": False}
    with pytest.raises(svc.WrongPassword):
        svc.remove_totp(ctx, carol.id, actor=svc.Actor.of(s), password="not the password")
    assert not svc.remove_totp(ctx, carol.id, actor=svc.Actor.of(s), password=PASSWORD).totp
    _session(ctx, "carol")
    assert ledger.verify(ctx).ok


def test_an_enrolment_is_the_accounts_own_and_expires(ctx: Context) -> None:
    clock = Clock(ctx)
    _make(ctx, "dave")
    _make(ctx, "erin")
    dave, erin = _session(ctx, "dave"), _session(ctx, "erin")
    e = svc.begin_totp(ctx, dave, PASSWORD)
    with pytest.raises(svc.Invalid, match="not an enrolment of this account"):
        svc.confirm_totp(ctx, erin, e.enrolment, _code(e.secret, clock.now))
    with pytest.raises(svc.Invalid, match="not an enrolment this installation issued"):
        svc.confirm_totp(ctx, dave, "garbage", _code(e.secret, clock.now))
    clock.advance(svc.ENROLMENT_TTL_US)
    with pytest.raises(svc.Invalid, match="expired"):
        svc.confirm_totp(ctx, dave, e.enrolment, _code(e.secret, clock.now))
    assert not svc.find_account(ctx, "dave").totp


# --- rules -----------------------------------------------------------------------------------


def test_roles_fit_the_organisation(ctx: Context) -> None:
    psb = svc.add_organisation(ctx, "市公安局 City PSB", "public-security", actor=CLI)
    assert not psb.operating_unit
    officer = _make(ctx, "officer1", "external_officer", psb.id)
    assert officer.organisation == "市公安局 City PSB"
    with pytest.raises(svc.Invalid) as outsider:
        _make(ctx, "officer2", "duty_operator", psb.id)
    assert outsider.value.field == "role" and "external_officer" in outsider.value.message
    with pytest.raises(svc.Invalid) as insider:
        _make(ctx, "staff1", "external_officer")
    assert insider.value.field == "role"
    with pytest.raises(svc.Invalid):
        svc.set_role(ctx, officer.id, "security_manager", actor=CLI)
    with pytest.raises(svc.Invalid) as kind:
        svc.add_organisation(ctx, "A second unit", "operating-unit", actor=CLI)
    assert kind.value.field == "kind"
    with pytest.raises(svc.Invalid):
        svc.add_organisation(ctx, "Somebody", "a-club", actor=CLI)
    with pytest.raises(svc.Conflict):
        svc.add_organisation(ctx, "市公安局 City PSB", "judicial", actor=CLI)
    with pytest.raises(svc.NotFound):
        _make(ctx, "officer3", "external_officer", 999)
    with pytest.raises(svc.Invalid) as role:
        _make(ctx, "staff2", "janitor")
    assert role.value.field == "role"
    with pytest.raises(svc.Conflict):
        _make(ctx, "officer1", "external_officer", psb.id)
    with pytest.raises(svc.Invalid) as name:
        _make(ctx, "bad name", "auditor")
    assert name.value.field == "username"
    assert [o.name for o in svc.list_organisations(ctx)][1:] == ["市公安局 City PSB"]
    (added,) = _rows(ctx, ledger.ORGANISATION_ADDED)
    assert json.loads(added.details) == {"name": "市公安局 City PSB", "kind": "public-security"}
    created = [json.loads(r.details) for r in _rows(ctx, ledger.ACCOUNT_CREATED)]
    assert created == [
        {
            "role": "external_officer",
            "organisation_id": psb.id,
            "organisation": "市公安局 City PSB",
            "display_name": None,
            "work_id": None,
        }
    ]


def test_the_last_administrator_stays_and_nobody_changes_their_own_role(ctx: Context) -> None:
    admin = _admin(ctx)
    admin_id = admin.account_id
    assert admin_id is not None
    with pytest.raises(svc.LastAdministrator):
        svc.disable_account(ctx, admin_id, actor=CLI)
    with pytest.raises(svc.LastAdministrator):
        svc.set_role(ctx, admin_id, "auditor", actor=CLI)
    root2 = _make(ctx, "root2", "system_admin")
    other = svc.Actor("account:root2", root2.id)
    with pytest.raises(svc.Refused):
        svc.set_role(ctx, admin_id, "auditor", actor=admin)
    with pytest.raises(svc.Refused):
        svc.disable_account(ctx, admin_id, actor=admin)
    with pytest.raises(svc.Refused):
        svc.reset_password(ctx, admin_id, actor=admin)
    # a change of one's own name is fine, and so is naming one's unchanged role
    changed = svc.update_account(
        ctx, admin_id, {"role": "system_admin", "display_name": " 张三 "}, actor=admin
    )
    assert changed.display_name == "张三"
    assert svc.disable_account(ctx, admin_id, actor=other).disabled_us is not None
    with pytest.raises(svc.LastAdministrator):  # a disabled administrator does not count
        svc.set_role(ctx, root2.id, "auditor", actor=CLI)
    with pytest.raises(svc.AwaitingConfirmation):  # enabling an administrator: a 2nd person
        svc.enable_account(ctx, admin_id, actor=other)
    svc.enable_account(ctx, admin_id, actor=CLI)
    assert svc.set_role(ctx, root2.id, "auditor", actor=admin).role == "auditor"
    entries = [(r.actor, json.loads(r.details)) for r in _rows(ctx, ledger.ACCOUNT_CHANGED)]
    assert entries[0] == (
        "account:admin",
        {
            "change": "fields",
            "fields": ["display_name"],
            "values": {"display_name": [None, "张三"]},
        },
    )
    assert entries[-1] == (
        "account:admin",
        {"change": "fields", "fields": ["role"], "values": {"role": ["system_admin", "auditor"]}},
    )


def test_a_disabled_accounts_sessions_die_at_once(ctx: Context) -> None:
    Clock(ctx)
    frank = _make(ctx, "frank")
    s1, s2 = _session(ctx, "frank"), _session(ctx, "frank")
    assert auth.resume(ctx, s1.token) is not None
    view = svc.disable_account(ctx, frank.id, actor=CLI)
    assert view.disabled_us == T0
    assert auth.resume(ctx, s1.token) is None and auth.resume(ctx, s2.token) is None
    assert auth.login(ctx, "frank", PASSWORD) is None
    assert json.loads(_rows(ctx, ledger.LOGIN_FAILED)[-1].details)["reason"] == "disabled"
    (disabled,) = [json.loads(r.details) for r in _rows(ctx, ledger.ACCOUNT_CHANGED)]
    assert disabled == {"change": "disabled", "sessions_ended": 2}
    svc.disable_account(ctx, frank.id, actor=CLI)  # again: nothing changes, nothing recorded
    assert len(_rows(ctx, ledger.ACCOUNT_CHANGED)) == 1
    svc.enable_account(ctx, frank.id, actor=CLI)
    s3 = _session(ctx, "frank")
    # however the flag is set, resume refuses the session
    with ctx.engine.begin() as conn:
        conn.execute(
            update(schema.accounts).where(schema.accounts.c.id == frank.id).values(disabled_us=1)
        )
    assert auth.resume(ctx, s3.token) is None


def test_password_rules_reset_and_own_change(ctx: Context) -> None:
    Clock(ctx)
    for bad, why in [
        ("short pw", "at least 12"),
        ("my-name-is-Grace!", "user name"),
        (" " * 12, "spaces"),
        ("x" * (svc.PASSWORD_MAX + 1), "at most"),
    ]:
        with pytest.raises(svc.Invalid, match=why) as exc:
            svc.create_account(ctx, username="grace", role="auditor", password=bad, actor=CLI)
        assert exc.value.field == "password"
    grace = _make(ctx, "grace", "auditor")
    s = _session(ctx, "grace")
    new = svc.reset_password(ctx, grace.id, actor=CLI)
    assert len(new) >= svc.PASSWORD_MIN
    assert auth.resume(ctx, s.token) is None  # a reset ends the sessions
    assert auth.login(ctx, "grace", PASSWORD) is None
    with pytest.raises(auth.PasswordChangeRequired):  # set by someone else: one-time
        auth.login(ctx, "grace", new)
    with pytest.raises(auth.NewPasswordRefused):
        auth.login(ctx, "grace", new, new_password=new)
    s2 = auth.login(ctx, "grace", new, new_password="my very own choice")
    assert s2 is not None
    assert auth.login(ctx, "grace", new) is None  # it worked once
    new = "my very own choice"
    s = s2
    other = auth.login(ctx, "grace", new)
    assert other is not None
    with pytest.raises(svc.WrongPassword) as wrong:
        svc.change_own_password(ctx, s, "not the old one", "a new long password")
    assert wrong.value.field == "old_password"
    with pytest.raises(svc.Invalid) as short:
        svc.change_own_password(ctx, s, new, "short")
    assert short.value.field == "new_password"
    svc.change_own_password(ctx, s, new, "a new long password")
    assert auth.resume(ctx, s.token) is not None  # this session stays
    assert auth.resume(ctx, other.token) is None  # the others end
    assert auth.login(ctx, "grace", "a new long password") is not None
    changes = [json.loads(r.details)["change"] for r in _rows(ctx, ledger.ACCOUNT_CHANGED)]
    assert changes == ["password-reset", "password-changed", "password-changed"]
    assert not any(new in r.details for r in _rows(ctx))
    assert svc.find_account(ctx, "grace").credential_by == "cli:test"  # kept: docs/DUTIES.md


def test_a_wrong_old_password_is_throttled_like_a_log_in(ctx: Context) -> None:
    Clock(ctx)
    _make(ctx, "heidi")
    s = _session(ctx, "heidi")
    for _ in range(auth.MAX_FAILED_LOGINS):
        with pytest.raises(svc.WrongPassword):
            svc.change_own_password(ctx, s, "guessing the old", "a new long password")
    with pytest.raises(auth.Throttled):  # waiting: not even the right one is checked
        svc.change_own_password(ctx, s, PASSWORD, "a new long password")


def test_camera_assignments(ctx: Context) -> None:
    cams = [
        camera_service.add_camera(ctx, CameraSpec(name=n, url="rtsp://h/x", place="p")).id
        for n in ("A", "B", "C")
    ]
    camera_service.retire_camera(ctx, str(cams[2]))
    ivan = _make(ctx, "ivan")
    judy = _make(ctx, "judy", "security_manager")
    assert svc.set_cameras(ctx, ivan.id, [cams[1], cams[0], cams[0]], actor=CLI).cameras == (
        cams[0],
        cams[1],
    )
    assert svc.assigned_cameras(ctx, ivan.id) == frozenset(cams[:2])
    svc.set_cameras(ctx, ivan.id, [cams[1], cams[0]], actor=CLI)  # unchanged: not recorded
    assert svc.set_cameras(ctx, ivan.id, [cams[1]], actor=CLI).cameras == (cams[1],)
    with pytest.raises(svc.Invalid, match="no camera 999") as unknown:
        svc.set_cameras(ctx, ivan.id, [999], actor=CLI)
    assert unknown.value.field == "cameras"
    with pytest.raises(svc.Invalid, match="retired"):
        svc.set_cameras(ctx, ivan.id, [cams[2]], actor=CLI)
    with pytest.raises(svc.Conflict):
        svc.set_cameras(ctx, judy.id, [cams[0]], actor=CLI)
    entries = [json.loads(r.details) for r in _rows(ctx, ledger.CAMERAS_ASSIGNED)]
    assert entries == [
        {"cameras": cams[:2], "added": cams[:2], "removed": []},
        {"cameras": [cams[1]], "added": [], "removed": [cams[0]]},
    ]
    svc.set_role(ctx, ivan.id, "auditor", actor=CLI)  # other roles hold no assignments
    assert svc.get_account(ctx, ivan.id).cameras == ()
    last = json.loads(_rows(ctx, ledger.ACCOUNT_CHANGED)[-1].details)
    assert last["cameras_unassigned"] == [cams[1]]


# --- HTTP ------------------------------------------------------------------------------------


def test_require_names_the_permission() -> None:
    from fastapi import HTTPException

    from custodes.entrypoints.web.permissions import need, require

    op = auth.Session("t", 7, "op", "duty_operator", "c", 0, 1)
    require(op, Permission.LIVE_ASSIGNED)
    with pytest.raises(HTTPException) as exc:
        require(op, Permission.ACCOUNTS_MANAGE, Permission.ASSIGN_CAMERAS)
    assert exc.value.status_code == 403
    assert "accounts-manage or assign-cameras" in str(exc.value.detail)
    assert "the role duty_operator does not hold" in str(exc.value.detail)
    assert need(Permission.LIVE_ALL, Permission.LIVE_ASSIGNED)(op) is op
    with pytest.raises(HTTPException):
        need(Permission.LIVE_ALL)(op)


ADMIN_ONLY = [
    ("GET", "/api/v1/organisations"),
    ("POST", "/api/v1/organisations"),
    ("POST", "/api/v1/accounts"),
    ("PATCH", "/api/v1/accounts/1"),
    ("POST", "/api/v1/accounts/1/disable"),
    ("POST", "/api/v1/accounts/1/enable"),
    ("POST", "/api/v1/accounts/1/reset-password"),
]
ASSIGNERS = [
    ("GET", "/api/v1/accounts"),
    ("GET", "/api/v1/accounts/1"),
    ("GET", "/api/v1/accounts/1/cameras"),
    ("PUT", "/api/v1/accounts/1/cameras"),
]
OWN = [
    ("POST", "/api/v1/me/password"),
    ("POST", "/api/v1/me/totp"),
    ("POST", "/api/v1/me/totp/confirm"),
    ("DELETE", "/api/v1/me/totp"),
]
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    _set_password(ctx, PASSWORD)
    with TestClient(create_app(ctx)) as c:
        yield c


def _login(c: TestClient, username: str, password: str = PASSWORD, **extra: str) -> Any:
    res = c.post("/api/v1/auth/login", json={"username": username, "password": password, **extra})
    if res.status_code == 200:
        c.headers[CSRF_HEADER] = res.json()["csrf_token"]
    return res


def test_every_new_endpoint_needs_a_session_and_csrf(client: TestClient) -> None:
    for method, path in ADMIN_ONLY + ASSIGNERS + OWN:
        assert client.request(method, path).status_code == 401, (method, path)
    assert _login(client, ADMIN_USERNAME).status_code == 200
    csrf = client.headers.pop(CSRF_HEADER)
    for method, path in ADMIN_ONLY + ASSIGNERS + OWN:
        if method in UNSAFE:
            res = client.request(method, path, json={})
            assert res.status_code == 403 and CSRF_HEADER in res.text, (method, path)
            forged = client.request(method, path, json={}, headers={CSRF_HEADER: csrf + "x"})
            assert forged.status_code == 403, (method, path)


def test_roles_without_the_permission_get_403(client: TestClient, ctx: Context) -> None:
    _make(ctx, "op1")
    _make(ctx, "mgr1", "security_manager")
    assert _login(client, "op1").status_code == 200
    for method, path in ADMIN_ONLY + ASSIGNERS:
        res = client.request(method, path, json={}, headers={"Accept-Language": "en"})
        assert res.status_code == 403, (method, path)
        assert "permission" in res.json()["detail"]
    res = client.get("/api/v1/organisations", headers={"Accept-Language": "zh-CN"})
    said = res.json()["detail"]  # in Chinese, the role by its label, the permission as named
    assert Permission.ACCOUNTS_MANAGE.value in said and "值班员" in said, said
    assert _login(client, "mgr1").status_code == 200
    for method, path in ADMIN_ONLY:
        assert client.request(method, path, json={}).status_code == 403, (method, path)
    assert client.get("/api/v1/accounts").status_code == 200  # to choose whom to assign
    assert client.get("/api/v1/accounts/999/cameras").status_code == 404


def test_unknown_ids_are_404(client: TestClient) -> None:
    _login(client, ADMIN_USERNAME)
    cases: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/api/v1/accounts/999", None),
        ("PATCH", "/api/v1/accounts/999", {"display_name": "x"}),
        ("POST", "/api/v1/accounts/999/disable", None),
        ("POST", "/api/v1/accounts/999/enable", None),
        ("POST", "/api/v1/accounts/999/reset-password", None),
        ("GET", "/api/v1/accounts/999/cameras", None),
        ("PUT", "/api/v1/accounts/999/cameras", {"cameras": []}),
    ]
    for method, path, body in cases:
        res = client.request(method, path, json=body)
        assert res.status_code == 404, (method, path, res.text)


def test_accounts_and_organisations_over_http(client: TestClient, ctx: Context) -> None:
    c = client
    _login(c, ADMIN_USERNAME)
    res = c.post("/api/v1/organisations", json={"name": "Court", "kind": "judicial"})
    assert res.status_code == 201, res.text
    court = res.json()
    assert court["kind"] == "judicial" and not court["operating_unit"]
    assert c.post("/api/v1/organisations", json=court | {"id": None}).status_code == 409
    bad_kind = c.post("/api/v1/organisations", json={"name": "X", "kind": "club"})
    assert bad_kind.status_code == 422 and bad_kind.json()["detail"][0]["loc"] == ["body", "kind"]
    assert [o["name"] for o in c.get("/api/v1/organisations").json()][1:] == ["Court"]

    res = c.post(
        "/api/v1/accounts",
        json={
            "username": "judge1",
            "role": "external_officer",
            "organisation_id": court["id"],
            "display_name": "李法官",
            "work_id": "J-0042",
        },
    )
    # a signer made by an administrator waits for a second person (tests/test_duties.py)
    assert res.status_code == 202, res.text
    proposed = res.json()
    generated = proposed["password"]
    assert len(generated) >= 12 and proposed["pending"]["username"] == "judge1"
    assert proposed["pending"]["details"]["organisation"] == "Court"
    root2 = _make(ctx, "root2", "system_admin")
    second = TestClient(c.app)
    _login(second, "root2")
    confirmed = second.post(f"/api/v1/account-changes/{proposed['pending']['id']}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    judge = confirmed.json()
    assert judge["organisation"] == "Court" and judge["one_time_password"] is True
    assert judge["credential_by"] == "account:admin"
    assert c.get(f"/api/v1/accounts/{judge['id']}").json() == judge
    assert root2.id != judge["id"]
    given = c.post(
        "/api/v1/accounts",
        json={"username": "op2", "role": "duty_operator", "password": PASSWORD},
    )
    assert given.status_code == 202 and given.json()["password"] is None
    op2_made = second.post(f"/api/v1/account-changes/{given.json()['pending']['id']}/confirm")
    assert op2_made.status_code == 200
    auditor = c.post("/api/v1/accounts", json={"username": "aud1", "role": "auditor"})
    assert auditor.status_code == 201 and auditor.json()["password"]  # leads to no footage

    def loc(res: Any) -> list[str]:
        assert res.status_code == 422, res.text
        return list(res.json()["detail"][0]["loc"])

    base = {"username": "x1", "role": "auditor"}
    assert loc(c.post("/api/v1/accounts", json=base | {"role": "king"})) == ["body", "role"]
    assert loc(c.post("/api/v1/accounts", json=base | {"password": "short"})) == [
        "body",
        "password",
    ]
    assert loc(c.post("/api/v1/accounts", json=base | {"organisation_id": 99})) == [
        "body",
        "organisation_id",
    ]
    assert loc(c.post("/api/v1/accounts", json=base | {"role": "external_officer"})) == [
        "body",
        "role",
    ]
    assert loc(c.post("/api/v1/accounts", json=base | {"username": "a" * 65})) == [
        "body",
        "username",
    ]
    assert c.post("/api/v1/accounts", json={**base, "username": "op2"}).status_code == 409
    assert c.post("/api/v1/accounts", json={**base, "username": "judge1"}).status_code == 409

    upd = c.patch(f"/api/v1/accounts/{judge['id']}", json={"work_id": "J-0043"})
    assert upd.status_code == 200 and upd.json()["work_id"] == "J-0043"
    assert loc(c.patch(f"/api/v1/accounts/{judge['id']}", json={"role": None})) == [
        "body",
        "role",
    ]
    me = c.get("/api/v1/auth/me").json()
    own = c.patch("/api/v1/accounts/1", json={"role": "auditor"}, headers={"accept-language": "en"})
    assert own.status_code == 403 and "own" in own.json()["detail"]
    assert me["role"] == "system_admin" and me["organisation_id"] == 1

    dis = c.post(f"/api/v1/accounts/{judge['id']}/disable")
    assert dis.status_code == 200 and dis.json()["disabled_us"] is not None
    enable = c.post(f"/api/v1/accounts/{judge['id']}/enable")
    assert enable.status_code == 202 and enable.json()["pending"]["kind"] == "enable"
    assert (
        second.post(f"/api/v1/account-changes/{enable.json()['pending']['id']}/confirm").json()[
            "disabled_us"
        ]
        is None
    )
    reset = c.post(f"/api/v1/accounts/{judge['id']}/reset-password")
    assert reset.status_code == 202
    new = reset.json()["password"]
    assert new and new != generated
    cancelled = c.post(f"/api/v1/account-changes/{reset.json()['pending']['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    chosen = c.post(
        f"/api/v1/accounts/{judge['id']}/reset-password", json={"password": "chosen password 1"}
    )
    assert chosen.status_code == 202 and chosen.json()["password"] is None
    change = chosen.json()["pending"]["id"]
    assert c.post(f"/api/v1/account-changes/{change}/confirm").status_code == 403  # proposer
    assert second.post(f"/api/v1/account-changes/{change}/confirm").status_code == 200
    assert second.post(f"/api/v1/account-changes/{change}/confirm").status_code == 409  # done

    cam = camera_service.add_camera(ctx, CameraSpec(name="Gate", url="rtsp://h/x", place="p"))
    op2 = op2_made.json()["id"]
    put = c.put(f"/api/v1/accounts/{op2_made.json()['id']}/cameras", json={"cameras": [cam.id]})
    assert put.status_code == 200 and put.json() == {"cameras": [cam.id]}
    assert c.get(f"/api/v1/accounts/{op2}/cameras").json() == {"cameras": [cam.id]}
    assert loc(c.put(f"/api/v1/accounts/{op2}/cameras", json={"cameras": [999]})) == [
        "body",
        "cameras",
    ]
    assert c.put(f"/api/v1/accounts/{judge['id']}/cameras", json={"cameras": []}).status_code == (
        409
    )

    # the judge logs in and sees who they are
    judge_client = TestClient(c.app)
    res = _login(judge_client, "judge1", "chosen password 1")
    assert res.status_code == 403 and res.json()["detail"]["code"] == "password-change-required"
    res = _login(judge_client, "judge1", "chosen password 1", new_password="the judge's own 1")
    assert res.status_code == 200, res.text
    assert {k: res.json()[k] for k in ("role", "organisation_id", "display_name", "work_id")} == {
        "role": "external_officer",
        "organisation_id": court["id"],
        "display_name": "李法官",
        "work_id": "J-0043",
    }
    actors = {r.actor for r in _rows(ctx) if r.action != ledger.LOGIN}
    assert "account:admin" in actors
    assert ledger.verify(ctx).ok


def test_own_password_and_totp_over_http(client: TestClient, ctx: Context) -> None:
    clock = Clock(ctx)
    c = client
    _make(ctx, "kim")
    assert _login(c, "kim").status_code == 200

    def loc(res: Any) -> list[str]:
        assert res.status_code == 422, res.text
        return list(res.json()["detail"][0]["loc"])

    body = {"old_password": "wrong old password", "new_password": "a new long password"}
    assert loc(c.post("/api/v1/me/password", json=body)) == ["body", "old_password"]
    body["old_password"] = PASSWORD
    assert loc(c.post("/api/v1/me/password", json=body | {"new_password": "short"})) == [
        "body",
        "new_password",
    ]
    assert loc(c.post("/api/v1/me/password", json=body | {"new_password": "kim-kim-kim-kim"})) == [
        "body",
        "new_password",
    ]
    assert c.post("/api/v1/me/password", json=body).status_code == 204
    password = "a new long password"
    assert c.get("/api/v1/auth/me").status_code == 200  # this session stays

    assert loc(c.post("/api/v1/me/totp", json={"password": PASSWORD})) == ["body", "password"]
    begun = c.post("/api/v1/me/totp", json={"password": password})
    assert begun.status_code == 200, begun.text
    e = begun.json()
    assert e["uri"].startswith("otpauth://totp/")
    confirm = {"enrolment": e["enrolment"], "code": "12345"}
    assert loc(c.post("/api/v1/me/totp/confirm", json=confirm)) == ["body", "code"]
    wrong = str((int(_code(e["secret"], clock.now)) + 1) % 1_000_000).zfill(6)
    assert loc(c.post("/api/v1/me/totp/confirm", json=confirm | {"code": wrong})) == [
        "body",
        "code",
    ]
    ok = c.post("/api/v1/me/totp/confirm", json=confirm | {"code": _code(e["secret"], clock.now)})
    assert ok.status_code == 200 and ok.json()["totp"] is True

    other = TestClient(c.app)
    refused = _login(other, "kim", password)
    assert refused.status_code == 401
    assert _login(other, "ghost", password).json() == refused.json()  # nothing told apart
    assert loc(_login(other, "kim", password, totp="abcdef")) == ["body", "totp"]
    clock.advance(STEP_US)
    assert _login(other, "kim", password, totp=_code(e["secret"], clock.now)).status_code == 200
    assert other.get("/api/v1/auth/me").json()["username"] == "kim"

    assert loc(c.request("DELETE", "/api/v1/me/totp", json={"password": "nope"})) == [
        "body",
        "password",
    ]
    gone = c.request("DELETE", "/api/v1/me/totp", json={"password": password})
    assert gone.status_code == 200 and gone.json()["totp"] is False
    assert _login(TestClient(c.app), "kim", password).status_code == 200


def test_a_throttled_source_gets_429_and_others_get_in(client: TestClient, ctx: Context) -> None:
    Clock(ctx)  # the delays do not run out while the test runs
    _make(ctx, "leo")
    wrong = _login(client, "leo", "wrong password!")
    for _ in range(auth.MAX_FAILED_LOGINS - 1):
        assert _login(client, "leo", "wrong password!").json() == wrong.json()
    assert _login(client, "ghost", "wrong password!").json() == wrong.json()  # same 401
    waiting = _login(client, "leo", PASSWORD)
    assert waiting.status_code == 429 and int(waiting.headers["retry-after"]) >= 1
    elsewhere = TestClient(client.app, client=("192.0.2.7", 4000))
    assert _login(elsewhere, "leo", PASSWORD).status_code == 200


# --- CLI -------------------------------------------------------------------------------------


def test_cli_accounts_and_organisations(ctx: Context) -> None:
    runner = CliRunner()
    data = ["--data", str(ctx.data.root)]

    def run(*args: str, code: int = 0, stdin: str | None = None) -> str:
        res = runner.invoke(accounts_app, [*args, *data], input=stdin)
        assert res.exit_code == code, res.output
        return res.output

    out = run("org-add", "Emergency Bureau", "--kind", "emergency-authority", "--json")
    org = json.loads(out)
    assert org["kind"] == "emergency-authority"
    run("org-add", "Emergency Bureau", "--kind", "judicial", code=2)
    run("org-add", "Unit 2", "--kind", "operating-unit", code=2)
    assert "Emergency Bureau" in run("org-list")
    assert [o["name"] for o in json.loads(run("org-list", "--json"))][1:] == ["Emergency Bureau"]

    out = run("add", "medic1", "--role", "external_officer", "--org", "Emergency Bureau", "--json")
    medic = json.loads(out)
    assert medic["organisation_id"] == org["id"]
    with pytest.raises(auth.PasswordChangeRequired):  # the host chose it: one-time
        auth.login(ctx, "medic1", medic["password"])
    assert auth.login(ctx, "medic1", medic["password"], new_password=PASSWORD) is not None
    out = run(
        "add",
        "op9",
        "--role",
        "duty_operator",
        "--name",
        "王五",
        "--work-id",
        "W9",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert "password:" not in out
    assert auth.login(ctx, "op9", PASSWORD, new_password="a password of my own") is not None
    run("add", "op10", "--role", "external_officer", code=2)  # the unit: never outsiders
    run("add", "op11", "--role", "auditor", "--password-stdin", stdin="short\n", code=2)
    listed = {a["username"]: a for a in json.loads(run("list", "--json"))}
    assert listed["op9"]["display_name"] == "王五" and listed["op9"]["work_id"] == "W9"
    assert "op9" in run("list")

    cam = camera_service.add_camera(ctx, CameraSpec(name="Gate", url="rtsp://h/x", place="p"))
    assert json.loads(run("assign", "op9", "Gate", "--json"))["cameras"] == [cam.id]
    run("assign", "op9", "NoSuchCamera", code=2)
    run("assign", "medic1", "Gate", code=2)

    run("set-role", "op9", "security_manager")
    assert svc.find_account(ctx, "op9").role == "security_manager"
    run("set-role", ADMIN_USERNAME, "auditor", code=2)  # the last administrator
    run("disable", ADMIN_USERNAME, code=2)
    run("disable", "op9")
    assert auth.login(ctx, "op9", "a password of my own") is None
    run("enable", "op9")
    out = run("reset-password", "op9")
    new = out.split("password: ")[1].split()[0]
    assert auth.login(ctx, "op9", new, new_password="a second of my own") is not None
    run("reset-password", "op9", "--password-stdin", stdin="another long password\n")
    with pytest.raises(auth.PasswordChangeRequired):
        auth.login(ctx, "op9", "another long password")
    assert json.loads(run("changes", "--json")) == []  # the host's changes wait for nobody
    run("disable", "nobody", code=2)

    actors = {
        r.actor
        for r in _rows(ctx)
        if r.action in _CHANGES and json.loads(r.details).get("change") != "password-changed"
    }  # (a one-time password replaced at log-in is the owner's own change)
    assert len(actors) == 1 and actors.pop().startswith("cli:")
    with ctx.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(schema.accounts)).scalar_one()
    assert total == 3  # admin, medic1, op9
    assert ledger.verify(ctx).ok


_CHANGES = {
    ledger.ACCOUNT_CREATED,
    ledger.ACCOUNT_CHANGED,
    ledger.ORGANISATION_ADDED,
    ledger.CAMERAS_ASSIGNED,
}
