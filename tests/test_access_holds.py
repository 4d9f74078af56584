"""Automatic access holds: the footage an access request names is kept — past its retention
floor — until the request is rejected or withdrawn, or its grant has expired or been revoked;
each placement and release is a ledger entry; no person releases one. On SQLite and PostgreSQL
(the `ctx` fixture); `verify` passes after every sweep."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from custodes.adapters.db import schema
from custodes.domain.access_rules import Action, Basis
from custodes.domain.periods import days
from custodes.domain.roles import Role
from custodes.entrypoints.web.app import create_app
from custodes.entrypoints.web.deps import CSRF_HEADER
from custodes.services import access, documents, ledger, retention
from custodes.services import sweep as sweep_module
from custodes.services.context import Context
from custodes.services.sweep import sweep
from custodes.services.verify import verify

from .grant_setup import PDF, Person, approved_grant, organisation, person
from .sealed import CADENCE, SEGMENTS, T0, Archive, seal_archive
from .test_retention import SITE

HOUR = 3_600_000_000
DAY = 24 * HOUR
SYSTEM = retention.RETENTION_ACTOR


@dataclass
class World:
    ctx: Context
    gate: Archive
    yard: Archive
    now: list[int]

    @property
    def start(self) -> int:
        return T0 - 60_000_000

    @property
    def end(self) -> int:
        return max(self.gate.end_us(SEGMENTS - 1), self.yard.end_us(SEGMENTS - 1))

    @property
    def floor_end(self) -> int:
        """When the footage is past its 15-day floor: 00:00 Fri 4 Dec 2026, Shanghai."""
        return SITE.end(self.end, days(15))

    def at(self, when: int) -> None:
        self.now[0] = when

    def kept(self) -> int:
        return len(self.gate.seqs()) + len(self.yard.seqs())


@pytest.fixture
def world(ctx: Context) -> Iterator[World]:
    now = [T0 + HOUR]
    ctx.clock = lambda: now[0]
    yield World(ctx, seal_archive(ctx, "gate"), seal_archive(ctx, "yard"), now)


def _officers(ctx: Context) -> tuple[access.Actor, access.Actor]:
    psb = organisation(ctx, "区公安分局 District PSB", "public-security")
    tag = secrets.token_hex(2)
    a = person(ctx, Role.EXTERNAL_OFFICER, psb, work_id=f"A-{tag}").actor
    b = person(ctx, Role.EXTERNAL_OFFICER, psb, work_id=f"B-{tag}").actor
    return a, b


def _file(w: World, cams: list[int] | None = None) -> tuple[int, access.Actor, access.Actor]:
    """A draft request for the footage of both cameras (or `cams`), by two PSB officers."""
    a, b = _officers(w.ctx)
    doc = documents.upload(w.ctx, a, "调取证据通知书.pdf", PDF)
    rid = access.create_request(
        w.ctx,
        a,
        access.NewRequest(
            camera_ids=tuple(cams or [w.gate.cam, w.yard.cam]),
            start_us=w.start,
            end_us=w.end,
            action=Action.COPY,
            basis=Basis.LAW_ENFORCEMENT,
            purpose="案件侦查 case investigation",
            destination="district PSB evidence room",
            document_id=doc.id,
        ),
    )
    return rid, a, b


def _submit(w: World, rid: int, a: access.Actor, b: access.Actor) -> None:
    for officer in (a, b):
        with w.ctx.engine.connect() as conn:
            work_id = conn.execute(
                select(schema.accounts.c.work_id).where(schema.accounts.c.id == officer.account_id)
            ).scalar_one()
        access.sign(w.ctx, officer, rid, str(work_id))
    access.submit(w.ctx, a, rid)


def _entries(ctx: Context, action: str, request_id: int) -> list[tuple[str, dict[str, object]]]:
    """(actor, details) of the hold entries that name the request, in ledger order."""
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(schema.ledger.c.actor, schema.ledger.c.details)
            .where(schema.ledger.c.action == action)
            .order_by(schema.ledger.c.seq)
        ).all()
    found = [(r.actor, json.loads(r.details)) for r in rows]
    return [(actor, d) for actor, d in found if d.get("request") == request_id]


def _open_holds(ctx: Context, request_id: int) -> list[retention.HoldView]:
    return [
        h for h in retention.list_holds(ctx) if h.request_id == request_id and h.released_by is None
    ]


def _verified(ctx: Context) -> None:
    report = verify(ctx, cadence=CADENCE)
    assert not report.failed, report.to_json()


def _refused(w: World) -> str:
    with pytest.raises(retention.RetentionRefused) as refused:
        retention.check_deletion(
            w.ctx, w.gate.cam, w.start, w.gate.end_us(3), actor="account:mallory", via="api"
        )
    return refused.value.refusal.reason


def test_a_draft_keeps_its_footage_until_it_is_withdrawn(world: World) -> None:
    w = world
    rid, a, _ = _file(w)
    holds = _open_holds(w.ctx, rid)
    assert sorted(h.camera_id for h in holds) == sorted([w.gate.cam, w.yard.cam])
    for h in holds:  # one per camera, over the request's range, until it is decided
        assert (h.kind, h.start_us, h.end_us, h.until_us) == ("access", w.start, w.end, None)
        assert h.created_by == SYSTEM
    placed = _entries(w.ctx, ledger.HOLD_PLACED, rid)
    assert [(actor, d["cause"], d["by"]) for actor, d in placed] == [
        (SYSTEM, ledger.REQUEST_CREATED, a.ledger_actor)
    ] * 2
    w.at(w.floor_end + 30 * DAY)  # far past the 15-day floor
    assert sweep(w.ctx).segments == 0
    assert w.kept() == 2 * SEGMENTS
    assert f"named in access request {rid}" in _refused(w)
    access.withdraw(w.ctx, a, rid)
    assert _open_holds(w.ctx, rid) == []
    released = _entries(w.ctx, ledger.HOLD_RELEASED, rid)
    assert [(actor, d["cause"], d["by"]) for actor, d in released] == [
        (SYSTEM, ledger.REQUEST_WITHDRAWN, a.ledger_actor)
    ] * 2
    assert sweep(w.ctx).segments == 2 * SEGMENTS
    _verified(w.ctx)


def test_a_rejected_request_lets_its_footage_go(world: World) -> None:
    w = world
    rid, a, b = _file(w)
    _submit(w, rid, a, b)
    w.at(w.floor_end)
    assert sweep(w.ctx).segments == 0
    manager = person(w.ctx, Role.SECURITY_MANAGER)
    access.reject(w.ctx, manager.actor, rid, note="no case number")
    released = _entries(w.ctx, ledger.HOLD_RELEASED, rid)
    assert [(d["cause"], d["by"]) for _, d in released] == [
        (ledger.REQUEST_REJECTED, manager.actor.ledger_actor)
    ] * 2
    assert sweep(w.ctx).segments == 2 * SEGMENTS
    _verified(w.ctx)


def _grant(w: World) -> tuple[int, int, Person, int]:
    """Approved shortly before the floor ends: (request, grant, manager, grant's expiry)."""
    w.at(w.floor_end - HOUR)
    setup = approved_grant(w.ctx, camera_ids=[w.gate.cam], start_us=w.start, end_us=w.end)
    return setup.request_id, setup.grant.id, setup.manager, setup.grant.expires_us


def test_a_grant_keeps_its_footage_until_it_is_revoked(world: World) -> None:
    w = world
    rid, grant_id, manager, expires = _grant(w)
    (hold,) = _open_holds(w.ctx, rid)
    assert (hold.camera_id, hold.until_us) == (w.gate.cam, expires)
    # the ledger: placed with the draft, renewed at approval to end with the grant
    placed = _entries(w.ctx, ledger.HOLD_PLACED, rid)
    released = _entries(w.ctx, ledger.HOLD_RELEASED, rid)
    assert [d["cause"] for _, d in placed] == [ledger.REQUEST_CREATED, ledger.REQUEST_APPROVED]
    assert placed[1][1]["grant"] == grant_id and placed[1][1]["until_us"] == expires
    assert [d["cause"] for _, d in released] == [ledger.REQUEST_APPROVED]
    w.at(w.floor_end + DAY)
    assert sweep(w.ctx).segments == SEGMENTS  # the yard: the request named only the gate
    assert len(w.gate.seqs()) == SEGMENTS  # held by the grant
    assert f"named in access request {rid}" in _refused(w)
    access.revoke(w.ctx, manager.actor, grant_id, reason="case closed")
    assert _open_holds(w.ctx, rid) == []
    last = _entries(w.ctx, ledger.HOLD_RELEASED, rid)[-1]
    assert (last[0], last[1]["cause"]) == (SYSTEM, ledger.GRANT_REVOKED)
    assert sweep(w.ctx).segments == SEGMENTS
    _verified(w.ctx)


def test_an_expired_grant_lets_its_footage_go_at_the_next_sweep(world: World) -> None:
    w = world
    rid, _, _, expires = _grant(w)
    w.at(expires - 1)
    assert sweep(w.ctx).segments == SEGMENTS  # the yard, named by no request
    assert len(_open_holds(w.ctx, rid)) == 1
    assert len(w.gate.seqs()) == SEGMENTS
    w.at(expires)
    assert sweep(w.ctx).segments == SEGMENTS
    assert _open_holds(w.ctx, rid) == []
    (view,) = [h for h in retention.list_holds(w.ctx) if h.request_id == rid and h.until_us]
    assert view.released_by == SYSTEM
    last = _entries(w.ctx, ledger.HOLD_RELEASED, rid)[-1]
    assert last == (
        SYSTEM,
        {
            "camera_id": w.gate.cam,
            "kind": "access",
            "request": rid,
            "cause": "grant-expired",
            "by": SYSTEM,
        },
    )
    _verified(w.ctx)


def test_nobody_releases_an_access_hold_by_hand(world: World) -> None:
    w = world
    rid, _, _ = _file(w, [w.gate.cam])
    (hold,) = _open_holds(w.ctx, rid)
    for who in ("account:alice", "account:bob"):
        with pytest.raises(retention.HoldError, match=r"access hold.*ends by itself"):
            retention.release_hold(w.ctx, hold.id, actor=who)
    with pytest.raises(retention.HoldError, match="access workflow"):
        retention.place_hold(
            w.ctx,
            camera_id=w.gate.cam,
            start_us=w.start,
            end_us=w.end,
            kind="access",
            reason="by hand",
            actor="account:alice",
        )
    manager = person(w.ctx, Role.SECURITY_MANAGER)
    with TestClient(create_app(w.ctx)) as client:
        res = client.post(
            "/api/v1/auth/login", json={"username": manager.username, "password": manager.password}
        )
        client.headers[CSRF_HEADER] = res.json()["csrf_token"]
        res = client.post(f"/api/v1/holds/{hold.id}/release", headers={"Accept-Language": "en"})
        assert res.status_code == 409 and "nobody releases it by hand" in res.json()["detail"]
        res = client.post(f"/api/v1/holds/{hold.id}/release")  # the default language: Chinese
        assert res.status_code == 409 and "不能手动解除" in res.json()["detail"], res.text
        listed = client.get("/api/v1/holds").json()
        assert [(h["kind"], h["request_id"]) for h in listed] == [("access", rid)]
    assert _open_holds(w.ctx, rid) == [hold]
    assert _entries(w.ctx, ledger.HOLD_RELEASE_REQUESTED, rid) == []


def test_an_edited_request_moves_its_hold(world: World) -> None:
    """The service has no edit step today; one that changes a request's range or cameras
    calls hold_request_footage in its transaction, and the holds follow."""
    w = world
    rid, a, _ = _file(w, [w.gate.cam])
    (old,) = _open_holds(w.ctx, rid)
    narrower = (w.start, w.yard.end_us(3))
    with w.ctx.engine.begin() as conn:
        placed = retention.hold_request_footage(
            conn,
            request_id=rid,
            camera_ids=[w.yard.cam],
            start_us=narrower[0],
            end_us=narrower[1],
            until_us=None,
            cause="request-edited",
            by=a.ledger_actor,
            now_us=w.now[0],
        )
    (new,) = _open_holds(w.ctx, rid)
    assert placed == [new.id] and new.id != old.id
    assert (new.camera_id, new.start_us, new.end_us) == (w.yard.cam, *narrower)
    released = _entries(w.ctx, ledger.HOLD_RELEASED, rid)
    assert [d["cause"] for _, d in released] == ["request-edited"]
    w.at(w.floor_end)
    sweep(w.ctx)
    assert w.gate.seqs() == []  # no longer named
    assert w.yard.seqs() == [0, 1, 2, 3, 4]  # the intervals [0] [1-4] overlap the new range
    with w.ctx.engine.begin() as conn:  # the same again changes nothing
        assert (
            retention.hold_request_footage(
                conn,
                request_id=rid,
                camera_ids=[w.yard.cam],
                start_us=narrower[0],
                end_us=narrower[1],
                until_us=None,
                cause="request-edited",
                by=a.ledger_actor,
                now_us=w.now[0],
            )
            == []
        )
    assert _open_holds(w.ctx, rid) == [new]


def test_an_open_request_without_its_holds_gets_them_at_the_next_sweep(world: World) -> None:
    """A request filed before access holds existed (or whose rows were lost) is held from the
    first sweep on, before anything is deleted."""
    w = world
    rid, _, _ = _file(w, [w.gate.cam])
    grant_rid, _, _, expires = _grant(w)
    with w.ctx.engine.begin() as conn:
        conn.execute(delete(schema.holds))
    w.at(w.floor_end + DAY)
    assert sweep(w.ctx).segments == SEGMENTS  # the yard: named by no request
    assert len(w.gate.seqs()) == SEGMENTS
    (restored,) = _open_holds(w.ctx, rid)
    assert restored.until_us is None
    (granted,) = _open_holds(w.ctx, grant_rid)
    assert granted.until_us == expires
    causes = [d["cause"] for _, d in _entries(w.ctx, ledger.HOLD_PLACED, rid)]
    assert causes == [ledger.REQUEST_CREATED, "restored"]


def test_a_request_filed_while_the_sweep_runs_keeps_its_footage(world: World) -> None:
    """The sweep judges an interval, then deletes it in a transaction of its own: a hold placed
    in between (a request filed meanwhile) is seen there, and the interval stays."""
    w = world
    w.at(w.floor_end)
    with w.ctx.engine.connect() as conn:
        site = retention.site_calendar(conn)
    judged = list(sweep_module._expired_intervals(w.ctx, w.gate.cam, w.now[0], None, site))
    assert judged  # all of it is past its floor
    rid, _, _ = _file(w, [w.gate.cam])
    for a, b in judged:
        assert sweep_module._prune(w.ctx, w.gate.cam, a, b, "system:sweep") is None
    assert len(w.gate.seqs()) == SEGMENTS
    assert _open_holds(w.ctx, rid)
