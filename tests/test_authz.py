"""Authorization over HTTP, operation by operation of the OpenAPI schema, on SQLite and
PostgreSQL: sessions and CSRF, the role matrix (domain/roles.py), other organisations' objects
(not found, never shown) and the grant on the playback path (services/grants.py).

The schema is read at run time, so operations added later are covered by the session and
CSRF checks without editing this file; an operation this file asserts on that is gone from
the schema fails the test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from starlette.websockets import WebSocketDisconnect

from custodes.adapters.db import schema
from custodes.adapters.ffmpeg.stderr import StreamInfo
from custodes.clock import iso, now_us
from custodes.domain.access_rules import Action, Basis
from custodes.domain.camera import CameraSpec
from custodes.domain.roles import Role
from custodes.domain.timing import RunClock
from custodes.entrypoints.web.app import API, create_app
from custodes.entrypoints.web.deps import CSRF_HEADER, SESSION_COOKIE, UNSAFE_METHODS
from custodes.services import access, alarms, auth, documents, ledger
from custodes.services import cameras as camera_service
from custodes.services.context import Context
from custodes.services.sealing import Sealer, SegmentClosed

from .grant_setup import PDF, Person, approved_grant, organisation, person
from .media import make_segments

OPEN = {("post", f"{API}/auth/login"), ("get", f"{API}/health")}
MINUTE = 60_000_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
UNREACHABLE = "rtsp://127.0.0.1:9/x"  # connection refused at once: no stream ever starts
EXPORTS = ("post", f"{API}/exports")  # being written elsewhere: asserted once it is listed
UNIT_ROLES = (Role.DUTY_OPERATOR, Role.SECURITY_MANAGER, Role.AUDITOR, Role.SYSTEM_ADMIN)


# --- the schema ------------------------------------------------------------------------------


def _openapi(client: TestClient) -> dict[str, Any]:
    doc: dict[str, Any] = client.get(f"{API}/openapi.json").json()
    return doc


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path template, operation) for every operation the schema lists."""
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    return [
        (method, template, op)
        for template, item in doc["paths"].items()
        for method, op in item.items()
        if method in methods
    ]


def _listed(doc: dict[str, Any], method: str, template: str) -> bool:
    return method in doc["paths"].get(template, {})


def _concrete(template: str, op: dict[str, Any], values: dict[str, str] | None = None) -> str:
    """The template with each path parameter filled: from `values`, else from its schema (an
    enum's first member, 1 for an integer, `index.m3u8` for a file name)."""
    values = {"name": "index.m3u8", **(values or {})}
    path = template
    for p in op.get("parameters", []):
        if p["in"] != "path":
            continue
        name, s = p["name"], p.get("schema", {})
        value = values.get(name)
        if value is None:
            value = str(s["enum"][0]) if "enum" in s else "1"
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, (template, path)
    return path


# --- logged-in users -------------------------------------------------------------------------


@dataclass
class User:
    person: Person
    client: TestClient
    csrf: str

    def call(self, method: str, path: str, *, csrf: bool = True, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if csrf:
            headers[CSRF_HEADER] = self.csrf
        res: httpx.Response = self.client.request(method.upper(), path, headers=headers, **kwargs)
        return res

    def streaming(self, cam: int) -> bool:
        """Whether this user's app has started a live stream of the camera."""
        streams = self.client.app.state.live.streams()  # type: ignore[attr-defined]
        return any(key.startswith(f"{cam}:") for key in streams)


def _login(ctx: Context, stack: ExitStack, p: Person) -> User:
    """A client of its own (its own app, cookie jar and live hub) logged in as `p`."""
    client = stack.enter_context(TestClient(create_app(ctx, live_linger_s=0.1)))
    res = client.post(f"{API}/auth/login", json={"username": p.username, "password": p.password})
    assert res.status_code == 200, res.text
    return User(p, client, res.json()["csrf_token"])


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as s:
        yield s


def _seal_run(ctx: Context, cam: int, run: str, base_us: int, count: int) -> None:
    """`count` real 2-s segments, placed as if received from `base_us` on."""
    run_dir = ctx.data.camera_spool(cam) / run
    clock = RunClock()
    for name, a, b in make_segments(run_dir, count=count):
        timing = clock.place(a, b, base_us + int(b * 1e6))
        Sealer(ctx.engine, ctx.data).seal(
            SegmentClosed(cam, run, run_dir / name, timing, StreamInfo())
        )


def _camera(ctx: Context, name: str) -> int:
    spec = CameraSpec(name=name, url=UNREACHABLE, place="entrance")
    return camera_service.add_camera(ctx, spec, actor="test").id


class _Users(dict[Role, User]):
    """Each role's user, logged in when first asked for (a log-in costs an Argon2 check)."""

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world

    def __missing__(self, role: Role) -> User:
        user = self[role] = self.world.login(self.world.people[role])
        return user


@dataclass
class World:
    """Two cameras (the first with 6 s of sealed footage and assigned to the duty operator),
    one account of each role, a clock that tests may move on."""

    ctx: Context
    stack: ExitStack
    cam: int
    other_cam: int
    base_us: int  # the footage covers [base_us, base_us + 6 s)
    shift: list[int]
    people: dict[Role, Person] = field(default_factory=dict)
    psb: int = 0
    users: _Users = field(init=False)

    def __post_init__(self) -> None:
        self.users = _Users(self)

    def media(self, user: User, cam: int | None = None) -> httpx.Response:
        params = {"start": iso(self.base_us + 1_000_000), "end": iso(self.base_us + 5_000_000)}
        return user.call("get", f"{API}/cameras/{cam or self.cam}/media", params=params)

    def check(self, user: User, need: Action = Action.VIEW) -> httpx.Response:
        params = {
            "camera_id": self.cam,
            "start": iso(self.base_us + 1_000_000),
            "end": iso(self.base_us + 5_000_000),
            "need": need.value,
        }
        return user.call("get", f"{API}/grants/check", params=params)

    def login(self, p: Person) -> User:
        return _login(self.ctx, self.stack, p)


@pytest.fixture
def world(ctx: Context, stack: ExitStack) -> World:
    shift = [0]
    ctx.clock = lambda: now_us() + shift[0]
    cam, other = _camera(ctx, "gate"), _camera(ctx, "yard")
    base = ctx.clock() - 2 * HOUR
    _seal_run(ctx, cam, "run1", base, 3)
    w = World(ctx, stack, cam, other, base, shift)
    w.psb = organisation(ctx, "市公安局 City Public Security Bureau", "public-security")
    for role in Role:
        org = w.psb if role is Role.EXTERNAL_OFFICER else access.OPERATING_UNIT_ID
        w.people[role] = person(ctx, role, org, work_id=f"W-{role.value}")
    with ctx.engine.begin() as conn:
        conn.execute(
            insert(schema.camera_assignments).values(
                account_id=w.people[Role.DUTY_OPERATOR].account_id, camera_id=cam
            )
        )
    return w


def _ledger(ctx: Context, action: str) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(schema.ledger.c.details).where(schema.ledger.c.action == action)
        ).scalars()
        return [json.loads(d) for d in rows]


# --- sessions and CSRF -----------------------------------------------------------------------


def test_every_operation_but_login_and_health_answers_401_without_a_session(
    ctx: Context,
) -> None:
    with TestClient(create_app(ctx)) as client:
        doc = _openapi(client)
        checked = []
        for cookie in (None, "forged"):  # a wrong cookie is no session either
            if cookie:
                client.cookies.set(SESSION_COOKIE, cookie)
            for method, template, op in _operations(doc):
                if (method, template) in OPEN:
                    continue
                path = _concrete(template, op)
                res = client.request(method.upper(), path)
                assert res.status_code == 401, (method, path, cookie, res.status_code, res.text)
                checked.append((method, template))
        assert len(checked) >= 80, checked
        assert client.get(f"{API}/health").status_code == 200


@pytest.mark.parametrize("role", [Role.SYSTEM_ADMIN, Role.EXTERNAL_OFFICER])
def test_every_unsafe_operation_needs_the_csrf_header(
    ctx: Context, stack: ExitStack, role: Role
) -> None:
    """A valid session without X-CSRF-Token (or with a wrong one) gets 403 on POST, PUT, PATCH
    and DELETE, before the role or the body is looked at (deps.current_session); the session
    check comes first, so the same request without a session is 401 (test above)."""
    cam = _camera(ctx, "gate")
    org = (
        organisation(ctx, "市公安局 City Public Security Bureau", "public-security")
        if role is Role.EXTERNAL_OFFICER
        else access.OPERATING_UNIT_ID
    )
    user = _login(ctx, stack, person(ctx, role, org))
    doc = _openapi(user.client)
    checked = 0
    for method, template, op in _operations(doc):
        if method.upper() not in UNSAFE_METHODS or (method, template) in OPEN:
            continue
        path = _concrete(template, op, {"camera_id": str(cam)})
        for headers in ({}, {CSRF_HEADER: "forged"}, {CSRF_HEADER: ""}):
            res = user.call(method, path, csrf=False, headers=headers)
            assert res.status_code == 403, (method, path, headers, res.status_code, res.text)
            assert CSRF_HEADER in res.json()["detail"], (method, path, res.text)
        checked += 1
    assert checked >= 20
    # the session is still good: logging out without the token did not end it
    assert user.call("get", f"{API}/auth/me").status_code == 200
    assert camera_service.find_camera(ctx, str(cam)).retired is None


# --- the role matrix -------------------------------------------------------------------------

Expected = dict[Role, tuple[int, ...]]


def _only(allowed: tuple[Role, ...], ok: tuple[int, ...], refused: int = 403) -> Expected:
    return {r: ok if r in allowed else (refused,) for r in Role}


def test_role_matrix(world: World) -> None:
    w = world
    base = w.base_us
    doc = _openapi(w.users[Role.SYSTEM_ADMIN].client)
    everyone = tuple(Role)
    request_body = {
        "camera_ids": [w.cam],
        "start": iso(base - MINUTE),
        "end": iso(base + MINUTE),
        "action": "view",
        "basis": "law-enforcement",
        "purpose": "a fight at the gate",
    }
    hold_body = {
        "camera_id": w.cam,
        "start": iso(base),
        "end": iso(base + MINUTE),
        "kind": "case",
        "reason": "case 42",
    }
    media = {"start": iso(base + 1_000_000), "end": iso(base + 5_000_000)}
    hls = f"{API}/cameras/{w.cam}/hls/main"
    with w.ctx.engine.begin() as conn:  # an alarm only a person closes
        alarms.raise_footage_cut(conn, w.cam, "seq 1 open when recording stopped", base)
        (alarm_id,) = [a.id for a in alarms.open_alarms(conn) if a.kind == alarms.FOOTAGE_CUT]
    # (method, template in the schema, concrete path, request kwargs, expected per role)
    rows: list[tuple[str, str, str, dict[str, Any], Expected]] = [
        ("get", "/cameras", "/cameras", {}, _only(everyone, (200,))),
        ("get", "/cameras/{camera_id}", f"/cameras/{w.cam}", {}, _only(everyone, (200,))),
        (
            "post",
            "/cameras",
            "/cameras",
            {"json": {"name": "new", "url": UNREACHABLE, "place": "p"}},
            _only((Role.SYSTEM_ADMIN,), (201,)),
        ),
        (
            "patch",
            "/cameras/{camera_id}",
            f"/cameras/{w.other_cam}",
            {"json": {"site": "North"}},
            _only((Role.SYSTEM_ADMIN,), (200,)),
        ),
        # recorded footage needs a grant, whatever the role: nobody here holds one
        (
            "get",
            "/cameras/{camera_id}/media",
            f"/cameras/{w.cam}/media",
            {"params": media},
            _only((), ()),
        ),
        (
            "get",
            "/cameras/{camera_id}/recordings",
            f"/cameras/{w.cam}/recordings",
            {"params": {"from": media["start"], "to": media["end"]}},
            _only(everyone, (200,)),
        ),
        (
            "get",
            "/cameras/{camera_id}/retention",
            f"/cameras/{w.cam}/retention",
            {},
            _only(UNIT_ROLES, (200,)),
        ),
        ("get", "/holds", "/holds", {}, _only(UNIT_ROLES, (200,))),
        (
            "post",
            "/holds",
            "/holds",
            {"json": hold_body},
            _only((Role.SECURITY_MANAGER,), (201,)),
        ),
        ("get", "/requests", "/requests", {}, _only(everyone, (200,))),
        ("get", "/grants", "/grants", {}, _only(everyone, (200,))),
        (
            "post",
            "/requests",
            "/requests",
            {"json": request_body},
            _only((Role.DUTY_OPERATOR, Role.EXTERNAL_OFFICER), (201,)),
        ),
        (
            "get",
            "/register",
            "/register",
            {},
            _only((Role.SECURITY_MANAGER, Role.AUDITOR, Role.EXTERNAL_OFFICER), (200,)),
        ),
        (
            "get",
            "/accounts",
            "/accounts",
            {},
            _only((Role.SYSTEM_ADMIN, Role.SECURITY_MANAGER), (200,)),
        ),
        (
            "get",
            "/organisations",
            "/organisations",
            {},
            _only((Role.SYSTEM_ADMIN,), (200,)),
        ),
        (  # changes waiting for a second person: who may confirm reads them (docs/DUTIES.md)
            "get",
            "/account-changes",
            "/account-changes",
            {},
            _only((Role.SYSTEM_ADMIN, Role.SECURITY_MANAGER), (200,)),
        ),
        (
            "get",
            "/accounts/{account_id}/cameras",
            f"/accounts/{w.people[Role.DUTY_OPERATOR].account_id}/cameras",
            {},
            _only((Role.SYSTEM_ADMIN, Role.SECURITY_MANAGER), (200,)),
        ),
        ("get", "/status", "/status", {}, _only(everyone, (200,))),
        (  # the first of the two roles closes it; the second finds it closed
            "post",
            "/alarms/{alarm_id}/acknowledge",
            f"/alarms/{alarm_id}/acknowledge",
            {},
            _only((Role.SECURITY_MANAGER, Role.SYSTEM_ADMIN), (200, 409)),
        ),
        ("get", "/exports", "/exports", {}, _only(everyone, (200,))),
        (
            "post",
            "/exports",
            "/exports",
            {"json": {"grant_id": 1, "camera_id": w.cam, **media}},
            _only((), ()),  # an export needs a copy grant, whatever the role
        ),
        # live: the permission is checked before any stream starts; a permitted request for a
        # file of a stream that is not running is 404, for the playlist of an unreachable
        # camera 503: either tells it from the refusal
        (
            "get",
            "/cameras/{camera_id}/hls/{stream}/{name}",
            f"/cameras/{w.cam}/hls/main/init.mp4",
            {},
            _only((Role.DUTY_OPERATOR, Role.SECURITY_MANAGER, Role.SYSTEM_ADMIN), (404,)),
        ),
        (
            "get",
            "/cameras/{camera_id}/hls/{stream}/{name}",
            f"/cameras/{w.other_cam}/hls/main/init.mp4",
            {},
            _only((Role.SECURITY_MANAGER, Role.SYSTEM_ADMIN), (404,)),
        ),
    ]
    wrong: list[str] = []
    for method, template, path, kwargs, expected in rows:
        assert _listed(doc, method, API + template), f"{method.upper()} {template} is gone"
        for role in Role:
            res = w.users[role].call(method, API + path, **kwargs)
            if res.status_code not in expected[role]:
                wrong.append(
                    f"{role.value}: {method.upper()} {path} → {res.status_code} "
                    f"(expected {expected[role]}): {res.text[:200]}"
                )
            elif res.status_code == 403 and CSRF_HEADER in res.text:
                wrong.append(f"{role.value}: {method.upper()} {path}: refused for CSRF")
    assert not wrong, "\n".join(wrong)

    # the live playlist itself: refused before any stream starts …
    for role in (Role.AUDITOR, Role.EXTERNAL_OFFICER):
        res = w.users[role].call("get", f"{hls}/index.m3u8")
        assert res.status_code == 403, (role, res.text)
        assert not w.users[role].streaming(w.cam)
    op = w.users[Role.DUTY_OPERATOR]
    res = op.call("get", f"{API}/cameras/{w.other_cam}/hls/main/index.m3u8")
    assert res.status_code == 403 and not op.streaming(w.other_cam)  # not assigned to it
    # … and for the assigned camera it is tried: the camera cannot be reached
    res = op.call("get", f"{hls}/index.m3u8")
    assert res.status_code in (503, 404), res.text
    # the live WebSocket (not in the OpenAPI schema) refuses the same roles, before any stream
    for role, cam in (
        (Role.AUDITOR, w.cam),
        (Role.EXTERNAL_OFFICER, w.cam),
        (Role.DUTY_OPERATOR, w.other_cam),
    ):
        user = w.users[role]
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            user.client.websocket_connect(f"{API}/cameras/{cam}/live") as ws,
        ):
            ws.receive_json()
        assert closed.value.code == 4403, (role, closed.value)
        assert not user.streaming(cam)
    assert _ledger(w.ctx, ledger.LIVE_VIEWED) == []
    # every /media and export refusal above is in the ledger, the administrator's included
    denied = _ledger(w.ctx, ledger.ACCESS_DENIED)
    assert sum(d["need"] == "view" for d in denied) == len(Role)  # one /media each
    assert sum(d["need"] == "copy" for d in denied) == len(Role)  # one POST /exports each
    assert _ledger(w.ctx, ledger.MEDIA_VIEWED) == []


def test_system_admin_sees_no_recorded_footage_without_a_grant(world: World) -> None:
    admin = world.users[Role.SYSTEM_ADMIN]
    res = world.media(admin)
    assert res.status_code == 403 and "请提交调取申请" in res.json()["detail"]  # zh: default
    assert world.check(admin).status_code == 403
    # nor does a grant held by others open it
    now = world.ctx.clock()
    approved_grant(world.ctx, camera_ids=[world.cam], start_us=now - 3 * HOUR, end_us=now)
    assert world.media(admin).status_code == 403
    assert world.media(world.users[Role.SECURITY_MANAGER]).status_code == 403


# --- other organisations' objects ------------------------------------------------------------


def _signed_request(ctx: Context, officers: list[Person], cam: int, a: int, b: int) -> int:
    """A copy request of the officers' organisation, signed by each of them."""
    doc = documents.upload(ctx, officers[0].actor, "通知书.pdf", PDF)
    request_id = access.create_request(
        ctx,
        officers[0].actor,
        access.NewRequest(
            camera_ids=(cam,),
            start_us=a,
            end_us=b,
            action=Action.COPY,
            basis=Basis.LAW_ENFORCEMENT,
            purpose="案件侦查 case investigation",
            destination="县公安局刑侦大队 County PSB criminal investigation",
            document_id=doc.id,
        ),
    )
    for officer in officers:
        access.sign(ctx, officer.actor, request_id, f"B-{officer.username}")
    return request_id


def _fill(schema_doc: dict[str, Any], body: dict[str, Any], known: dict[str, Any]) -> Any:
    """A JSON body for a request-body schema: each property from `known` by name."""
    if "$ref" in body:
        name = body["$ref"].rsplit("/", 1)[1]
        body = schema_doc["components"]["schemas"][name]
    return {k: known[k] for k in body.get("properties", {}) if k in known}


def test_another_organisations_objects_are_not_found(world: World) -> None:
    """An external officer of organisation A asks for organisation B's request, document,
    grant, export and footage: 404 for what is addressed by id (the same answer as an id that
    does not exist), 403 where the route refuses by role or by grant; never 200.

    Which is which: GET /requests/{id}, /documents/{id}, /exports/{id} (and its /download,
    /clip.mp4) and POST /requests/{id}/sign|submit|withdraw → 404; POST
    /requests/{id}/approve|reject and /grants/{id}/revoke → 403 (the role may not, whatever
    the id); GET /grants/check, GET /cameras/{id}/media and POST /exports under B's grant →
    403 (no grant of the caller's covers it); GET /register?organisation_id=B → 403."""
    w, ctx = world, world.ctx
    a_officer = w.users[Role.EXTERNAL_OFFICER]
    county = organisation(ctx, "县公安局 County Public Security Bureau", "public-security")
    b_people = [
        person(ctx, Role.EXTERNAL_OFFICER, county, username="b1", work_id="B-b1"),
        person(ctx, Role.EXTERNAL_OFFICER, county, username="b2", work_id="B-b2"),
    ]
    a, b = w.base_us - 10 * MINUTE, w.base_us + HOUR
    b_request = _signed_request(ctx, b_people, w.cam, a, b)
    access.submit(ctx, b_people[0].actor, b_request)
    b_grant = access.approve(ctx, w.people[Role.SECURITY_MANAGER].actor, b_request)
    b_draft = _signed_request(ctx, b_people[:1], w.cam, a, b)
    b_doc = access.get_request(ctx, b_people[0].actor, b_request).document
    assert b_doc is not None
    missing = 999_999
    # B's officers do see it all (the fixture is right), and make an export
    b_user = w.login(b_people[0])
    assert b_user.call("get", f"{API}/requests/{b_request}").status_code == 200
    assert b_user.call("get", f"{API}/documents/{b_doc['id']}").status_code == 200
    assert w.media(b_user).status_code == 200
    doc = _openapi(a_officer.client)
    export_body = {
        "grant_id": b_grant,
        "request_id": b_request,
        "camera_id": w.cam,
        "start": iso(w.base_us + 1_000_000),
        "end": iso(w.base_us + 5_000_000),
    }
    assert _listed(doc, *EXPORTS)
    body_schema = doc["paths"][EXPORTS[1]]["post"]["requestBody"]["content"]
    body_json = _fill(doc, body_schema["application/json"]["schema"], export_body)
    res = b_user.call("post", EXPORTS[1], json=body_json)
    assert res.status_code == 201, f"update _fill for the exports body: {res.text}"
    b_export: str = res.json()["id"]

    kinds = {"request": "申请", "grant": "授权", "export": "导出", "document": "文件"}

    def same_as_missing(res: httpx.Response, real: int | str, kind: str) -> None:
        assert res.status_code == 404, res.text
        # in the UI's default language, Chinese (invalid.sentence)
        assert res.json()["detail"] == f"没有编号为 {real} 的{kinds[kind]}"

    for user in (a_officer, w.users[Role.DUTY_OPERATOR]):  # the operating unit is another org
        same_as_missing(user.call("get", f"{API}/requests/{b_request}"), b_request, "request")
        same_as_missing(user.call("get", f"{API}/requests/{missing}"), missing, "request")
        same_as_missing(user.call("get", f"{API}/documents/{b_doc['id']}"), b_doc["id"], "document")
        same_as_missing(user.call("get", f"{API}/documents/{missing}"), missing, "document")
        listed = {r["id"] for r in user.call("get", f"{API}/requests").json()}
        assert not listed & {b_request, b_draft}
        # a step on B's draft: 404, and nothing changed
        for step, step_body in (("sign", {"work_id": "A-1"}), ("submit", None), ("withdraw", None)):
            res = user.call("post", f"{API}/requests/{b_draft}/{step}", json=step_body)
            same_as_missing(res, b_draft, "request")
        # the grant check and the footage: 403 (no grant of theirs), never B's grant
        assert w.check(user).status_code == 403
        assert w.media(user).status_code == 403
        # deciding and revoking are not their role's: 403 before the id is looked at
        res = user.call("post", f"{API}/requests/{b_request}/reject", json={"note": "x"})
        assert res.status_code == 403
        res = user.call("post", f"{API}/requests/{b_request}/approve", json={})
        assert res.status_code == 403
        res = user.call("post", f"{API}/grants/{b_grant}/revoke", json={"reason": "x"})
        assert res.status_code == 403
        # B's export, and an export under B's grant
        for tail in ("", "/download", "/clip.mp4"):
            res = user.call("get", f"{API}/exports/{b_export}{tail}")
            same_as_missing(res, b_export, "export")
        listed = {e["id"] for e in user.call("get", f"{API}/exports").json()}
        assert b_export not in listed
        res = user.call("post", EXPORTS[1], json=body_json)
        assert res.status_code == 403, res.text
    assert access.get_request(ctx, b_people[0].actor, b_draft).state == "draft"
    assert len(access.get_request(ctx, b_people[0].actor, b_draft).staff) == 1
    assert access.get_request(ctx, b_people[0].actor, b_request).grant is not None

    # B's document cannot be attached to A's request
    body: dict[str, Any] = {
        "camera_ids": [w.cam],
        "start": iso(a),
        "end": iso(b),
        "action": "view",
        "basis": "law-enforcement",
        "purpose": "p",
        "document_id": b_doc["id"],
    }
    res = a_officer.call("post", f"{API}/requests", json=body)
    assert res.status_code == 422 and res.json()["detail"][0]["loc"] == ["body", "document_id"]
    # the register: B's rows are not A's to read (403 when asked for by organisation)
    res = a_officer.call("get", f"{API}/register", params={"organisation_id": county})
    assert res.status_code == 403
    rows = a_officer.call("get", f"{API}/register").json()
    assert all(r["organisation_id"] in (w.psb, None) for r in rows), rows
    assert all(r["request_id"] not in (b_request, b_draft) for r in rows)
    # while the roles that read every organisation's requests do see them
    auditor = w.users[Role.AUDITOR]
    assert auditor.call("get", f"{API}/requests/{b_request}").status_code == 200
    assert auditor.call("get", f"{API}/documents/{b_doc['id']}").status_code == 200
    assert w.media(auditor).status_code == 403  # but not the footage
    # the export's metadata, but not its footage
    assert auditor.call("get", f"{API}/exports/{b_export}").status_code == 200
    assert auditor.call("get", f"{API}/exports/{b_export}/download").status_code == 403
    assert auditor.call("get", f"{API}/exports/{b_export}/clip.mp4").status_code == 403
    # B's own officer still downloads it
    res = b_user.call("get", f"{API}/exports/{b_export}/download")
    assert res.status_code == 200 and res.content[:2] == b"PK"


# --- grants on the playback path -------------------------------------------------------------


def _holder(w: World, action: Action) -> tuple[User, int, Person]:
    now = w.ctx.clock()
    setup = approved_grant(
        w.ctx, camera_ids=[w.cam], start_us=now - 3 * HOUR, end_us=now - HOUR, action=action
    )
    return w.login(setup.holders[0]), setup.grant.id, setup.manager


def test_view_grant_plays_back_but_never_exports(world: World) -> None:
    w = world
    holder, grant_id, _ = _holder(w, Action.VIEW)
    res = w.media(holder)
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == "video/mp4" and len(res.content) > 1000
    assert _ledger(w.ctx, ledger.MEDIA_VIEWED)[-1]["grant"] == grant_id
    assert w.check(holder, Action.VIEW).json()["grant_id"] == grant_id
    assert w.check(holder, Action.COPY).status_code == 403
    assert w.check(holder, Action.RETRIEVE_ORIGINAL).status_code == 403
    # another camera, or a range beyond the grant
    assert w.media(holder, w.other_cam).status_code == 403
    late = {"start": iso(w.ctx.clock() - 30 * MINUTE), "end": iso(w.ctx.clock() - MINUTE)}
    assert holder.call("get", f"{API}/cameras/{w.cam}/media", params=late).status_code == 403
    # an officer of the same organisation who did not sign: no grant
    colleague = w.users[Role.EXTERNAL_OFFICER]
    assert w.media(colleague).status_code == 403
    doc = _openapi(holder.client)
    assert _listed(doc, *EXPORTS)
    known = {
        "grant_id": grant_id,
        "camera_id": w.cam,
        "start": iso(w.base_us + 1_000_000),
        "end": iso(w.base_us + 5_000_000),
    }
    op = doc["paths"][EXPORTS[1]]["post"]
    body_schema = op["requestBody"]["content"]["application/json"]["schema"]
    res = holder.call("post", EXPORTS[1], json=_fill(doc, body_schema, known))
    assert res.status_code == 403, f"a view grant must not export: {res.text}"


def test_expired_grant_no_longer_plays_back(world: World) -> None:
    w = world
    holder, grant_id, _ = _holder(w, Action.VIEW)
    assert w.media(holder).status_code == 200
    # five minutes before the expiry it still plays
    w.shift[0] = access.DEFAULT_VALIDITY_US - 5 * MINUTE
    holder = w.login(holder.person)
    assert w.media(holder).status_code == 200
    w.shift[0] = access.DEFAULT_VALIDITY_US + MINUTE  # the session is six minutes old
    res = w.media(holder)
    assert res.status_code == 403 and "请提交调取申请" in res.json()["detail"]  # zh: default
    assert w.check(holder).status_code == 403
    (g,) = [g for g in holder.call("get", f"{API}/grants").json() if g["id"] == grant_id]
    assert g["live"] is False


def test_revoked_grant_no_longer_plays_back(world: World) -> None:
    w = world
    holder, grant_id, manager_person = _holder(w, Action.COPY)
    assert w.media(holder).status_code == 200
    # only the security manager revokes: the holder and the administrator may not
    for user in (holder, w.users[Role.SYSTEM_ADMIN], w.users[Role.AUDITOR]):
        res = user.call("post", f"{API}/grants/{grant_id}/revoke", json={"reason": "x"})
        assert res.status_code == 403
    assert w.media(holder).status_code == 200
    manager = w.login(manager_person)
    res = manager.call("post", f"{API}/grants/{grant_id}/revoke", json={"reason": "case closed"})
    assert res.status_code == 204, res.text
    res = w.media(holder)  # the same session, at once
    assert res.status_code == 403
    assert w.check(holder, Action.VIEW).status_code == 403
    assert w.check(holder, Action.COPY).status_code == 403
    again = manager.call("post", f"{API}/grants/{grant_id}/revoke", json={"reason": "again"})
    assert again.status_code == 422
    res = manager.call("post", f"{API}/grants/999999/revoke", json={"reason": "x"})
    assert res.status_code == 404
    with w.ctx.engine.connect() as conn:
        revoked = conn.execute(
            select(schema.grants.c.revoked_us).where(schema.grants.c.id == grant_id)
        ).scalar_one()
    assert revoked is not None
    assert auth.resume(w.ctx, "not a token") is None


def test_only_the_operating_unit_deletes_recordings_past_retention(world: World) -> None:
    w = world
    old = w.ctx.clock() - 400 * DAY
    _seal_run(w.ctx, w.other_cam, "old", old, 2)
    window = {"from": iso(old), "to": iso(old + 10_000_000)}
    for role in (Role.EXTERNAL_OFFICER, Role.AUDITOR):
        res = w.users[role].call("delete", f"{API}/cameras/{w.other_cam}/recordings", params=window)
        assert res.status_code == 403, (role, res.status_code, res.text)


def test_ids_no_row_can_have_are_refused_as_invalid(world: World) -> None:
    """An id past what the id columns hold (32 bits) is invalid input (422 naming it), like any
    malformed value, never a 500: the database would refuse to bind it."""
    w = world
    officer, manager = w.users[Role.EXTERNAL_OFFICER], w.users[Role.SECURITY_MANAGER]
    for big in (2**31, 2**63, 2**70):
        for path in (f"/requests/{big}", f"/documents/{big}", f"/cameras/{big}"):
            res = officer.call("get", API + path)
            assert res.status_code == 422 and res.json()["detail"][0]["loc"][0] == "path", path
        for step, step_body in (("sign", {"work_id": "W"}), ("submit", None), ("withdraw", None)):
            res = officer.call("post", f"{API}/requests/{big}/{step}", json=step_body)
            assert res.status_code == 422, (step, res.text)
        for step, step_body in (("approve", {}), ("reject", {"note": "n"})):
            res = manager.call("post", f"{API}/requests/{big}/{step}", json=step_body)
            assert res.status_code == 422, (step, res.text)
        res = manager.call("post", f"{API}/grants/{big}/revoke", json={"reason": "r"})
        assert res.status_code == 422, res.text
        params = {"camera_id": big, "start": iso(w.base_us), "end": iso(w.base_us + MINUTE)}
        res = officer.call("get", f"{API}/grants/check", params=params)
        assert res.status_code == 422 and res.json()["detail"][0]["loc"] == ["query", "camera_id"]
        body: dict[str, Any] = {
            "camera_ids": [big],
            "start": iso(w.base_us),
            "end": iso(w.base_us + MINUTE),
            "action": "view",
            "basis": "law-enforcement",
            "purpose": "p",
        }
        res = officer.call("post", f"{API}/requests", json=body)
        assert res.status_code == 422 and res.json()["detail"][0]["loc"][:2] == [
            "body",
            "camera_ids",
        ]
        res = officer.call(
            "post", f"{API}/requests", json={**body, "camera_ids": [w.cam], "document_id": big}
        )
        assert res.status_code == 422 and res.json()["detail"][0]["loc"] == ["body", "document_id"]
    assert _ledger(w.ctx, ledger.ACCESS_DENIED) == []  # no entry names a camera that cannot be


def test_a_page_the_role_cannot_use_says_so_and_shows_no_camera_address(ctx: Context) -> None:
    """The camera form (with its RTSP address) opened for roles that cannot save it, and the
    list offered Add and Edit to them; pages a role may not see answered a bare "forbidden"."""
    cam = camera_service.add_camera(
        ctx, CameraSpec(name="Gate", url="rtsp://10.9.8.7:554/main", place="gate")
    )
    psb = organisation(ctx, "市公安局 PSB", "public-security")
    officer = person(ctx, Role.EXTERNAL_OFFICER, psb, work_id="J-7")
    admin = person(ctx, Role.SYSTEM_ADMIN)
    with TestClient(create_app(ctx)) as c:
        for who, lang, words in (
            (officer, "zh-CN", "您的角色无权访问此页面"),
            (officer, "en", "Your role does not allow this page"),
        ):
            c.cookies.clear()
            assert (
                c.post(
                    f"{API}/auth/login", json={"username": who.username, "password": who.password}
                ).status_code
                == 200
            )
            for path in (f"/cameras/{cam.id}/edit", "/cameras/new", "/accounts", "/changes"):
                page = c.get(path, headers={"accept-language": lang})
                assert page.status_code == 403, path
                assert words in page.text and 'id="nav-' in page.text, path
                assert "10.9.8.7" not in page.text
            listing = c.get("/cameras", headers={"accept-language": lang}).text
            assert "/edit" not in listing and 'id="add-camera"' not in listing
        c.cookies.clear()
        assert (
            c.post(
                f"{API}/auth/login", json={"username": admin.username, "password": admin.password}
            ).status_code
            == 200
        )
        assert c.get(f"/cameras/{cam.id}/edit").status_code == 200
        listing = c.get("/cameras").text
        assert f"/cameras/{cam.id}/edit" in listing and 'id="add-camera"' in listing
