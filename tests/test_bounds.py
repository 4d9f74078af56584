"""Hostile input, the data half (issue 11 §3): times from outside in one range, refused in the
user's language with nothing stored or recorded; every renderer of stored data total; path
ids bounded on pages; approval documents served under a name and type found in their bytes.
Through the real HTTP service and the CLI, on SQLite and PostgreSQL (the `ctx` fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from custodes.adapters.db import schema
from custodes.domain.camera import CameraSpec
from custodes.domain.roles import Role
from custodes.entrypoints.cli import app as cli
from custodes.entrypoints.web.app import create_app
from custodes.entrypoints.web.deps import CSRF_HEADER
from custodes.services import cameras as camera_service
from custodes.services import ledger
from custodes.services.context import Context

from .grant_setup import Person, organisation, person

API = "/api/v1"
HOUR = 3_600_000_000
NOW = 1_764_000_000_000_000  # 2025-11-24T16:00:00Z
YEAR_ONE = "0001-01-01T00:00:00+23:59"  # before 0001-01-01 in UTC: no calendar date
YEAR_ONE_US = -62_135_683_140_000_000
FAR = "9999-12-31T22:00:00Z"  # year 10000 in Shanghai
FAR_END = "9999-12-31T23:00:00Z"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
EN = {"Accept-Language": "en-GB,en;q=0.9"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
RANGE_EN = "must lie between 1970-01-01 and 2200-01-01 (UTC)"
EN_LOCALE = {"LANG": "en_GB.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}
RANGE_ZH = "须在 1970-01-01 至 2200-01-01（UTC）之间"


@dataclass
class World:
    ctx: Context
    client: TestClient
    cam: int
    manager: Person
    officer: Person
    officer2: Person

    def login(self, who: Person) -> TestClient:
        self.client.cookies.clear()
        res = self.client.post(
            f"{API}/auth/login", json={"username": who.username, "password": who.password}
        )
        assert res.status_code == 200, res.text
        self.client.headers[CSRF_HEADER] = res.json()["csrf_token"]
        return self.client


@pytest.fixture
def world(ctx: Context) -> Iterator[World]:
    now = [NOW]
    ctx.clock = lambda: now[0]
    cam = camera_service.add_camera(
        ctx, CameraSpec(name="gate", url="rtsp://10.0.0.1/s", place="gate")
    ).id
    psb = organisation(ctx, "区公安分局 District PSB", "public-security")
    officer = person(ctx, Role.EXTERNAL_OFFICER, psb, work_id="B-1")
    officer2 = person(ctx, Role.EXTERNAL_OFFICER, psb, work_id="B-2")
    manager = person(ctx, Role.SECURITY_MANAGER)
    with TestClient(create_app(ctx)) as client:
        yield World(ctx, client, cam, manager, officer, officer2)


def _count(ctx: Context, table: Any) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _refusal(res: Any, loc: list[str], msg: str) -> None:
    assert res.status_code == 422, res.text
    detail = res.json()["detail"]
    assert detail[0]["loc"] == loc and detail[0]["msg"] == msg, detail


# --- 1. times from outside: one range, refused in the user's language, nothing stored ----


def test_the_range_is_one(ctx: Context) -> None:
    """Exports, the export format, the API and the CLI share one range and one conversion."""
    from custodes.domain import export_format, instants  # here: the suite runs on old code too

    assert (export_format.EARLIEST_US, export_format.LATEST_US) == (
        instants.EARLIEST_US,
        instants.LATEST_US,
    )
    assert instants.parse("2200-01-01T00:00:00Z", "t") == instants.LATEST_US
    assert instants.parse("1970-01-01T08:00:00+08:00", "t") == 0
    assert instants.parse("2025-11-29T08:00:00.000001+08:00", "t") == 1_764_374_400_000_001
    for text, problem in (
        (YEAR_ONE, "range"),
        (FAR, "range"),
        ("1969-12-31T23:59:59.999999Z", "range"),
        ("2026-11-29T08:00:00", "zone"),
        ("yesterday", "format"),
    ):
        with pytest.raises(instants.BadInstant) as e:
            instants.parse(text, "t")
        assert e.value.problem == problem, text


def test_a_hold_out_of_range_is_refused_in_the_users_language(world: World) -> None:
    c = world.login(world.manager)
    holds, entries = _count(world.ctx, schema.holds), _count(world.ctx, schema.ledger)
    body = {"camera_id": world.cam, "kind": "case", "reason": "case 7"}
    good = {"start": "2025-11-24T08:00:00Z", "end": "2025-11-24T09:00:00Z"}
    for kind in ("case", "important"):
        res = c.post(
            f"{API}/holds", json={**body, **good, "start": YEAR_ONE, "kind": kind}, headers=EN
        )
        _refusal(res, ["body", "start"], RANGE_EN)
    res = c.post(f"{API}/holds", json={**body, **good, "end": FAR}, headers=ZH)
    _refusal(res, ["body", "end"], RANGE_ZH)
    res = c.post(f"{API}/holds", json={**body, **good, "end": good["start"]}, headers=ZH)
    _refusal(res, ["body", "end"], "须晚于 start")
    # without Accept-Language the UI's default language, Chinese
    res = c.post(f"{API}/holds", json={**body, **good, "start": YEAR_ONE})
    _refusal(res, ["body", "start"], RANGE_ZH)
    assert _count(world.ctx, schema.holds) == holds
    assert _count(world.ctx, schema.ledger) == entries
    assert c.get(f"{API}/holds").status_code == 200
    assert c.post(f"{API}/holds", json={**body, **good}).status_code == 201


def test_playback_and_grant_checks_out_of_range_are_refused_unrecorded(world: World) -> None:
    c = world.login(world.officer)
    entries = _count(world.ctx, schema.ledger)
    for start, end, bad in ((FAR, FAR_END, "start"), (YEAR_ONE, "2025-11-24T08:00:00Z", "start")):
        res = c.get(
            f"{API}/cameras/{world.cam}/media", params={"start": start, "end": end}, headers=EN
        )
        _refusal(res, ["query", bad], RANGE_EN)
        res = c.get(
            f"{API}/grants/check",
            params={"camera_id": world.cam, "start": start, "end": end},
            headers=ZH,
        )
        _refusal(res, ["query", bad], RANGE_ZH)
        res = c.get(
            f"{API}/cameras/{world.cam}/recordings", params={"from": start, "to": end}, headers=EN
        )
        _refusal(res, ["query", "from"], RANGE_EN)
    # a nameless camera with a bad range: still the range's answer, not a 500
    res = c.get(f"{API}/cameras/999/media", params={"start": FAR, "end": FAR_END}, headers=EN)
    _refusal(res, ["query", "start"], RANGE_EN)
    assert _count(world.ctx, schema.ledger) == entries  # no refusal entry for the register
    # in range, the grant check still answers (and records) as before
    res = c.get(
        f"{API}/grants/check",
        params={"camera_id": world.cam, "start": "2025-11-24T08:00:00Z", "end": FAR_END},
        headers=EN,
    )
    _refusal(res, ["query", "end"], RANGE_EN)
    res = c.get(
        f"{API}/grants/check",
        params={
            "camera_id": world.cam,
            "start": "2025-11-24T08:00:00Z",
            "end": "2025-11-24T09:00:00Z",
        },
    )
    assert res.status_code == 403, res.text
    assert _count(world.ctx, schema.ledger) == entries + 1


def test_requests_exports_and_deletions_out_of_range_are_refused(world: World) -> None:
    c = world.login(world.officer)
    requests, entries = _count(world.ctx, schema.access_requests), _count(world.ctx, schema.ledger)
    body = {
        "camera_ids": [world.cam],
        "start": YEAR_ONE,
        "end": "2025-11-24T09:00:00+08:00",
        "action": "view",
        "basis": "law-enforcement",
        "purpose": "robbery",
    }
    _refusal(c.post(f"{API}/requests", json=body, headers=EN), ["body", "start"], RANGE_EN)
    res = c.post(f"{API}/requests", json={**body, "start": "2300-01-01T00:00:00+08:00"})
    _refusal(res, ["body", "start"], RANGE_ZH)
    export = {"grant_id": 1, "camera_id": world.cam, "start": FAR, "end": FAR_END}
    _refusal(c.post(f"{API}/exports", json=export, headers=EN), ["body", "start"], RANGE_EN)
    assert _count(world.ctx, schema.access_requests) == requests
    c = world.login(world.manager)
    entries = _count(world.ctx, schema.ledger)
    res = c.delete(
        f"{API}/cameras/{world.cam}/recordings",
        params={"from": YEAR_ONE, "to": "2025-11-24T09:00:00Z"},
        headers=EN,
    )
    _refusal(res, ["query", "from"], RANGE_EN)
    assert _count(world.ctx, schema.ledger) == entries  # no deletion refusal recorded


def test_the_cli_refuses_times_out_of_range_in_the_locales_language(world: World) -> None:
    ctx = world.ctx
    data = ["--data", str(ctx.data.root)]
    login = ["--user", world.manager.username, "--password", world.manager.password]
    runner = CliRunner()
    holds, entries = _count(ctx, schema.holds), _count(ctx, schema.ledger)
    hold = ["hold", "add", "gate", "--kind", "case", "--reason", "case 7", *login, *data]
    res = runner.invoke(
        cli,
        [*hold, "--from", YEAR_ONE, "--to", "2025-11-24T09:00:00Z"],
        env=EN_LOCALE,
    )
    assert res.exit_code == 2, res.output
    assert "--from: must lie between 1970-01-01 and 2200-01-01" in " ".join(res.output.split())
    res = runner.invoke(
        cli,
        [*hold, "--from", "2025-11-24T08:00:00Z", "--to", FAR],
        env={**EN_LOCALE, "LANG": "zh_CN.UTF-8"},
    )
    assert res.exit_code == 2, res.output
    assert "须在 1970-01-01 至 2200-01-01" in res.output.replace("\n", "")
    res = runner.invoke(
        cli, ["recordings", "delete", "gate", "--from", FAR, "--to", FAR_END, *data]
    )
    assert res.exit_code == 2, res.output
    res = runner.invoke(cli, ["ledger", "export", "--since", YEAR_ONE, *data])
    assert res.exit_code == 2 and "--since" in res.output, res.output
    res = runner.invoke(
        cli, [*hold, "--from", "2025-11-24T08:00:00", "--to", FAR_END], env=EN_LOCALE
    )
    assert res.exit_code == 2 and "zone" in res.output, res.output
    assert _count(ctx, schema.holds) == holds
    # a login is a ledger entry (the CLI checks the password); nothing else is
    with ctx.engine.connect() as conn:
        actions = conn.execute(
            select(schema.ledger.c.action).where(schema.ledger.c.seq > entries)
        ).scalars()
        assert not {ledger.HOLD_PLACED, ledger.DELETION_REFUSED} & set(actions)
