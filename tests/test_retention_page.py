"""The retention page (/retention): who sees it and who may act on it, what it shows of each
camera's retention and of each hold, and that the holds API's refusals behind its form and
buttons (a range backwards or in year 9999, the same person twice, a role that may not) come
back in the user's language. (The form and the dialog in Chromium: test_browser_admin.py.)"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from custodes.adapters.db import schema
from custodes.domain.camera import CameraSpec
from custodes.domain.roles import Role
from custodes.entrypoints.web.app import create_app
from custodes.services import cameras as camera_service
from custodes.services import retention
from custodes.services.context import Context

from .grant_setup import person
from .web_client import log_in as _as

EN = {"Accept-Language": "en-GB,en;q=0.9"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as c:
        yield c


@pytest.fixture
def camera(ctx: Context) -> int:
    spec = CameraSpec(name="gate", url="rtsp://10.0.0.1/s", place="p")
    cam = camera_service.add_camera(ctx, spec).id
    with ctx.engine.begin() as conn:  # an operator's longer period (no interface sets it yet)
        conn.execute(
            update(schema.cameras).where(schema.cameras.c.id == cam).values(retention_days=40)
        )
    return cam


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _hold(ctx: Context, camera: int, actor: str = "account:someone") -> int:
    return retention.place_hold(
        ctx,
        camera_id=camera,
        start_us=1_790_000_000_000_000,
        end_us=1_790_000_600_000_000,
        kind="case",
        reason="burglary at the gate, case 2026-17",
        reference="CASE-17",
        actor=actor,
    )


def test_the_page_shows_retention_and_holds_to_who_reads_them(
    ctx: Context, client: TestClient, camera: int
) -> None:
    hold = _hold(ctx, camera)
    manager = person(ctx, Role.SECURITY_MANAGER)
    page = _as(client, manager).get("/retention", headers=EN)
    assert page.status_code == 200, page.text
    text = _text(page.text)
    assert 'id="nav-retention"' in page.text
    # Jilin's floor is 15 days; the camera is configured for 40, which is what is kept
    row = re.search(rf'<tr data-camera="{camera}">(.*?)</tr>', page.text, re.DOTALL)
    assert row is not None
    cells = _text(row.group(1))
    assert "15 days" in cells and "40 days" in cells and "the configured period" in cells
    assert f'data-hold="{hold}"' in page.text
    assert "burglary at the gate" in text and "CASE-17" in text and "someone" in text
    assert 'id="hold-form"' in page.text and "Ask to release" in text  # a manager acts
    zh = client.get("/retention", headers=ZH)
    assert "保全" in zh.text and "Ask to release" not in zh.text


def test_an_auditor_reads_the_page_but_acts_on_nothing(
    ctx: Context, client: TestClient, camera: int
) -> None:
    _hold(ctx, camera)
    page = _as(client, person(ctx, Role.AUDITOR)).get("/retention", headers=EN)
    assert page.status_code == 200
    assert 'id="hold-form"' not in page.text and "release-hold" not in page.text
    officer = person(ctx, Role.EXTERNAL_OFFICER)
    refused = _as(client, officer).get("/retention", headers=EN)
    assert refused.status_code == 403
    assert 'id="nav-retention"' not in refused.text
    assert client.get("/api/v1/holds").status_code == 403


def test_the_second_step_of_a_release_is_offered_to_another_person_only(
    ctx: Context, client: TestClient, camera: int
) -> None:
    first, second = person(ctx, Role.SECURITY_MANAGER), person(ctx, Role.SECURITY_MANAGER)
    hold = _hold(ctx, camera)
    res = _as(client, first).post(f"/api/v1/holds/{hold}/release")
    assert res.json()["outcome"] == "requested"
    mine = client.get("/retention", headers=EN).text
    assert "You asked for its release" in mine and "release-hold" not in mine
    again = client.post(f"/api/v1/holds/{hold}/release", headers=ZH)
    assert again.status_code == 409
    said = again.json()["detail"]  # refused, in Chinese, naming the person by user name
    assert (
        "须由另一个账户确认" in said and f"{first.username} 提出" in said and "account:" not in said
    )
    theirs = _as(client, second).get("/retention", headers=EN).text
    assert 'class="release-hold danger" data-step="confirm-release"' in theirs
    assert client.post(f"/api/v1/holds/{hold}/release").json()["outcome"] == "released"
    done = client.get("/retention?done=released", headers=EN).text
    assert f"Released by {second.username}" in done and "The hold is released." in done


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-12-01T10:00:00+08:00", "2026-12-01T09:00:00+08:00"),  # backwards
        ("9999-01-01T00:00:00Z", "9999-01-02T00:00:00Z"),  # past 2200
    ],
)
def test_a_hold_the_form_cannot_place_is_refused_in_chinese(
    ctx: Context, client: TestClient, camera: int, start: str, end: str
) -> None:
    _as(client, person(ctx, Role.SECURITY_MANAGER))
    body = {"camera_id": camera, "start": start, "end": end, "kind": "case", "reason": "x"}
    res = client.post("/api/v1/holds", json=body, headers=ZH)
    assert res.status_code == 422, res.text
    (error,) = res.json()["detail"]
    assert re.search(r"[\u3400-\u9fff]", error["msg"]), error
    assert retention.list_holds(ctx) == []
    assert 'id="no-holds"' in client.get("/retention", headers=ZH).text  # nothing placed


def test_a_role_that_may_not_place_a_hold_is_refused(
    ctx: Context, client: TestClient, camera: int
) -> None:
    _as(client, person(ctx, Role.DUTY_OPERATOR))
    body = {
        "camera_id": camera,
        "start": "2026-12-01T09:00:00+08:00",
        "end": "2026-12-01T10:00:00+08:00",
        "kind": "case",
        "reason": "x",
    }
    assert client.post("/api/v1/holds", json=body).status_code == 403
    page = client.get("/retention", headers=EN)
    assert page.status_code == 200, page.text
    assert 'id="hold-form"' not in page.text  # the operator reads, never places
    assert retention.list_holds(ctx) == []
