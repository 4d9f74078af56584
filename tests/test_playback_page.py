"""The synchronised-playback page (/playback): which cameras it shows, from what it is given
in the address — anything absurd is left out, never an error — and in each language.
(Its clock in Chromium: tests/test_browser_playback.py.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from custodes.domain.camera import CameraSpec
from custodes.domain.roles import Role
from custodes.entrypoints.web.app import create_app
from custodes.entrypoints.web.pages_playback import MAX_CAMERAS, chosen, instant_ms
from custodes.services import cameras as camera_service
from custodes.services.context import Context

from .grant_setup import organisation, person
from .web_client import log_in


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as c:
        yield c


def test_the_cameras_asked_for_are_known_ones_once_each_and_at_most_four() -> None:
    asked = ["3", "x", "3", "-1", "99999999999999999999999", "", "1", "5", "7", "9"]
    assert chosen(asked, {1, 3, 5, 7, 9}) == [3, 1, 5, 7]
    assert MAX_CAMERAS == 4
    assert chosen(["2"], {1}) == []


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "yesterday",
        "2026-01-01T00:00:00",
        "9999-12-31T23:59:59+00:00",
        "1960-01-01T00:00Z",
    ],
)
def test_a_start_that_is_no_instant_of_the_past_is_none(value: str | None) -> None:
    assert instant_ms(value) is None


def test_a_start_with_its_zone_is_that_instant() -> None:
    assert (
        instant_ms("2026-01-01T08:00:00+08:00")
        == int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()) * 1000
    )


def test_the_page_shows_the_cameras_asked_for_in_order_and_ignores_the_rest(
    ctx: Context, client: TestClient
) -> None:
    ids = [
        camera_service.add_camera(
            ctx, CameraSpec(name=f"门口 {n}", url=f"rtsp://10.0.0.{n}/s", place="gate")
        ).id
        for n in (1, 2, 3)
    ]
    camera_service.retire_camera(ctx, str(ids[2]), actor="cli:test")
    officer = person(ctx, Role.EXTERNAL_OFFICER, organisation(ctx, "派出所", "public-security"))
    c = log_in(client, officer)
    asked = f"camera={ids[1]}&camera=abc&camera={ids[2]}&camera={ids[0]}&at=9999-01-01T00:00Z"
    page = c.get(f"/playback?{asked}", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200, page.text
    tiles = re.findall(r'class="sync-tile" data-camera="(\d+)"', page.text)
    assert tiles == [str(ids[1]), str(ids[0])]  # the retired one and the word are left out
    assert "data-at=" not in page.text  # no starting point from a time to come
    assert "<h1>同步回放</h1>" in page.text
    assert f'<option value="{ids[2]}"' not in page.text  # nor offered
    en = c.get(
        f"/playback?camera={ids[0]}&at=2026-01-01T00:00:00Z", headers={"Accept-Language": "en"}
    )
    assert "<h1>Synchronised playback</h1>" in en.text and 'data-at="1767225600000"' in en.text
    empty = c.get("/playback", headers={"Accept-Language": "en"})
    assert "Choose up to four cameras" in empty.text and "sync-playback.js" not in empty.text


def test_the_page_needs_a_log_in(client: TestClient) -> None:
    res = client.get("/playback?camera=1", follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"].startswith("/login?next=")
