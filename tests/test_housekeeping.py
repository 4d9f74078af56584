"""The housekeeper: background verification raises the integrity alarm (status, ledger, the
page banner); the sweep and the ledger checkpoint run on their own."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from custodes.adapters.db import schema
from custodes.entrypoints.web.app import create_app
from custodes.recorder.housekeeping import Housekeeper, Schedule
from custodes.services.context import Context
from custodes.services.status import AlarmStatus, system_status

from .recent import T0 as RECENT
from .recording import wait_for
from .sealed import seal_archive
from .test_api import PASSWORD, _set_password

FAST = Schedule(
    ledger_checkpoint_s=0.2, capacity_s=3600, sweep_s=3600, verify_s=0.5, verify_rate_bytes_s=50e6
)


def _integrity(ctx: Context) -> list[AlarmStatus]:
    # the capacity check may raise its own alarm on this disk: not what this test is about
    return [a for a in system_status(ctx).alarms if a.kind == "integrity"]


def _verify_entries(ctx: Context) -> list[dict[str, object]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(schema.ledger.c.details)
            .where(schema.ledger.c.action == "verify-ran")
            .order_by(schema.ledger.c.seq)
        ).all()
    return [json.loads(r[0]) for r in rows]


def test_background_verification_raises_and_clears_the_alarm(ctx: Context) -> None:
    archive = seal_archive(ctx, t0=RECENT)  # the housekeeper's sweep runs on the real clock
    target = archive.path(7)
    original = target.read_bytes()
    keeper = Housekeeper(ctx, FAST)
    keeper.start()
    try:
        wait_for("a clean verification", lambda: len(_verify_entries(ctx)) >= 1, 20)
        assert _verify_entries(ctx)[0]["ok"] is True
        assert _integrity(ctx) == []
        target.chmod(0o644)
        target.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
        wait_for("the integrity alarm", lambda: len(_integrity(ctx)) == 1, 20)
        (alarm,) = _integrity(ctx)
        assert alarm.kind == "integrity" and "modified" in alarm.message
        assert any(e["ok"] is False for e in _verify_entries(ctx))
        _set_password(ctx, PASSWORD)
        with TestClient(create_app(ctx)) as client:
            client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
            page = client.get("/cameras", headers={"Accept-Language": "en"})
            assert 'id="alarm-banner"' in page.text and "Integrity check failed" in page.text
            kinds = {a["kind"] for a in client.get("/api/v1/status").json()["alarms"]}
            assert "integrity" in kinds
        target.write_bytes(original)  # repaired from a copy: the next run clears the alarm
        wait_for("the alarm to clear", lambda: _integrity(ctx) == [], 20)
        with ctx.engine.connect() as conn:
            signed = conn.execute(select(schema.ledger_checkpoints.c.seq)).all()
        assert signed  # the ledger's head is signed on its own
    finally:
        keeper.stop()
        keeper.join(30)
