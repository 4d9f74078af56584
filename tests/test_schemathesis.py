"""Schemathesis against the whole API, logged in: no input a client can send makes a 5xx,
and every answer's status code is one the schema documents for its operation.

Every operation of the app's OpenAPI schema is fuzzed, one test item per operation
(schemathesis 4: `schemathesis.openapi.from_dict(app.openapi())` with the app attached, so the
calls go in-process over ASGI, and `@schema.parametrize()`), with the `not_a_server_error` and
`status_code_conformance` checks (the refusals are documented in one table,
entrypoints/web/status_codes.py), as each role: a system administrator, a security manager
(the grant's approver), a duty operator with a camera assigned, an auditor, and an external
officer holding a grant. The schema is
read when this module is collected, so operations added later are fuzzed without editing it.
(`schemathesis.pytest.from_fixture` is not used: in schemathesis 4.32 it sets
`Node._nodeid`, which pytest 9.2 no longer has.) SQLite only: one database is enough to find
the server's own errors; the role and organisation checks run on both in tests/test_authz.py.

Bounded for CI: the coverage phase's fixed cases plus MAX_EXAMPLES generated ones per
operation, derandomised (the same cases on every run), no example database, no shrinking, no
deadline: for the administrator and the officer MAX_EXAMPLES, for the manager, the duty
operator and the auditor (most of whose calls end in a 403) MAX_EXAMPLES_OTHERS: one item per
operation and role, about a minute and a half on 2 shared cores (a third of it the register
PDFs, each embedding its CJK font). The data the operations can find:
two cameras (one with sealed footage, assigned to the duty operator), an approved request
with its document and grant, a draft request. The cameras' URLs refuse connections, so the
live HLS playlist answers 503 at once instead of waiting for a camera; the live WebSocket is
not in the OpenAPI schema and is not fuzzed here (tests/test_http_hardening.py tries it). A
fuzzed call may log the session out, or change the account's password or disable it (the
services refuse most of that for one's own account): a call answered 401 is made again
after putting the account back and logging in again.

A 500 inside the app propagates as its exception (the in-process transport re-raises it), so a
failure shows the traceback of the route that broke, with the case that broke it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import status_code_conformance
from sqlalchemy import create_engine, delete, insert, update

from custodes.adapters.db import schema as db
from custodes.adapters.ffmpeg.stderr import StreamInfo
from custodes.domain.access_rules import Action, Basis
from custodes.domain.camera import CameraSpec
from custodes.domain.roles import Role
from custodes.domain.timing import RunClock
from custodes.entrypoints.web.app import API, create_app
from custodes.entrypoints.web.deps import CSRF_HEADER, SESSION_COOKIE
from custodes.paths import DATABASE_URL_ENV, DataDir
from custodes.services import access, auth
from custodes.services import cameras as camera_service
from custodes.services.context import Context
from custodes.services.sealing import Sealer, SegmentClosed
from custodes.services.setup import initialise

from .grant_setup import Person, approved_grant, person
from .media import make_segments

MAX_EXAMPLES = 5  # per operation, besides the coverage phase's fixed cases
MAX_EXAMPLES_OTHERS = 2  # for the roles with fewer operations open to them (CI time)
HOUR = 3_600_000_000
UNREACHABLE = "rtsp://127.0.0.1:9/{}"  # connection refused: the live stream fails at once


@dataclass
class Seeded:
    ctx: Context
    cast: dict[Role, Person]  # one account of each role; the officer holds a view grant


# The app is made once, for the schema (collected at import); its context is the fixture's,
# set before the first call (deps.get_ctx reads app.state.ctx at every request).
_NO_CONTEXT = Context(DataDir(Path("/nonexistent/custodes")), create_engine("sqlite://"))
APP = create_app(_NO_CONTEXT, live_linger_s=0.1)
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = APP


@pytest.fixture(scope="module", params=["sqlite"])
def fuzz_ctx(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    """A database of its own (SQLite), with something for the operations to find."""
    assert request.param == "sqlite"
    tmp = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(DATABASE_URL_ENV, f"sqlite:///{tmp / 'custodes.db'}")
        ctx = initialise(DataDir(tmp / "data"), "jilin").context
    cams = [
        camera_service.add_camera(
            ctx, CameraSpec(name=n, url=UNREACHABLE.format(n), place="entrance"), actor="test"
        ).id
        for n in ("gate", "yard")
    ]
    base = ctx.clock() - 2 * HOUR
    run_dir = ctx.data.camera_spool(cams[0]) / "run1"
    clock = RunClock()
    for name, a, b in make_segments(run_dir, count=3):
        timing = clock.place(a, b, base + int(b * 1e6))
        Sealer(ctx.engine, ctx.data).seal(
            SegmentClosed(cams[0], "run1", run_dir / name, timing, StreamInfo())
        )
    setup = approved_grant(
        ctx, camera_ids=cams, start_us=base - HOUR, end_us=base + HOUR, action=Action.VIEW
    )
    officer = setup.holders[0]
    operator = person(ctx, Role.DUTY_OPERATOR)
    with ctx.engine.begin() as conn:
        conn.execute(
            insert(db.camera_assignments).values(account_id=operator.account_id, camera_id=cams[0])
        )
    cast = {
        Role.SYSTEM_ADMIN: person(ctx, Role.SYSTEM_ADMIN),
        Role.SECURITY_MANAGER: setup.manager,
        Role.DUTY_OPERATOR: operator,
        Role.AUDITOR: person(ctx, Role.AUDITOR),
        Role.EXTERNAL_OFFICER: officer,
    }
    access.create_request(
        ctx,
        officer.actor,
        access.NewRequest(
            camera_ids=(cams[1],),
            start_us=base,
            end_us=base + HOUR,
            action=Action.VIEW,
            basis=Basis.LAW_ENFORCEMENT,
            purpose="a draft",
        ),
    )
    APP.state.ctx = ctx
    try:
        yield Seeded(ctx, cast)
    finally:
        shutdown_lifespans()  # stops the app's live hub (and any ffmpeg it started)
        APP.state.ctx = _NO_CONTEXT
        ctx.engine.dispose()


class Login:
    """A session of one account for the fuzzed calls, logged in again (and the account put
    back) whenever a call undid it: a log-out, a new password, disabled, locked."""

    def __init__(self, ctx: Context, who: Person, role: Role) -> None:
        self.ctx, self.who, self.role = ctx, who, role
        self.session: auth.Session | None = None

    def call(self, case: schemathesis.Case[Any]) -> Response:
        response = case.call(headers=self._headers())
        if response.status_code == 401 and case.operation.path != f"{API}/auth/login":
            self.session = None  # a call before this one ended the session
            response = case.call(headers=self._headers())
        return response

    def _headers(self) -> dict[str, str]:
        if self.session is None:
            try:
                s = auth.login(self.ctx, self.who.username, self.who.password)
            except auth.Throttled:  # fuzzed wrong passwords made the name wait (issue 11)
                s = None
            if s is None or s.role != self.role.value:
                self._restore()
                s = auth.login(self.ctx, self.who.username, self.who.password)
            assert s is not None and s.role == self.role.value
            self.session = s
        s = self.session
        return {"Cookie": f"{SESSION_COOKIE}={s.token}", CSRF_HEADER: s.csrf_token}

    def _restore(self) -> None:
        with self.ctx.engine.begin() as conn:
            conn.execute(
                update(db.accounts)
                .where(db.accounts.c.id == self.who.account_id)
                .values(
                    password_hash=auth.hash_password(self.who.password),
                    role=self.role.value,
                    disabled_us=None,
                    totp_secret=None,
                    password_one_time=False,
                )
            )
            conn.execute(delete(db.login_throttle))


FULL = [Role.SYSTEM_ADMIN, Role.EXTERNAL_OFFICER]  # the most operations open to them
OTHERS = [r for r in Role if r not in FULL]


def _login(request: pytest.FixtureRequest, fuzz_ctx: Seeded) -> Login:
    role: Role = request.param
    return Login(fuzz_ctx.ctx, fuzz_ctx.cast[role], role)


@pytest.fixture(scope="module", params=FULL, ids=lambda r: r.value)
def fuzz_login(request: pytest.FixtureRequest, fuzz_ctx: Seeded) -> Login:
    return _login(request, fuzz_ctx)


@pytest.fixture(scope="module", params=OTHERS, ids=lambda r: r.value)
def fuzz_login_other(request: pytest.FixtureRequest, fuzz_ctx: Seeded) -> Login:
    return _login(request, fuzz_ctx)


def _check(case: schemathesis.Case[Any], login: Login) -> None:
    response = login.call(case)
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance])


_BOUNDED = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": list(HealthCheck),
    "phases": [Phase.explicit, Phase.generate],
}


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, **_BOUNDED)  # type: ignore[arg-type]
def test_no_input_makes_a_server_error(case: schemathesis.Case[Any], fuzz_login: Login) -> None:
    _check(case, fuzz_login)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES_OTHERS, **_BOUNDED)  # type: ignore[arg-type]
def test_no_input_makes_a_server_error_for_the_other_roles(
    case: schemathesis.Case[Any], fuzz_login_other: Login
) -> None:
    _check(case, fuzz_login_other)
