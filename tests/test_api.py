"""The HTTP API: sessions, CSRF, the registry, timeline and media endpoints."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from custodes.adapters.db import schema
from custodes.adapters.ffmpeg.clip import clip_command, init_segment
from custodes.adapters.ffmpeg.stderr import StreamInfo
from custodes.clock import iso
from custodes.domain.camera import CameraSpec
from custodes.domain.timing import RunClock
from custodes.entrypoints.web.app import create_app
from custodes.entrypoints.web.deps import CSRF_HEADER, SESSION_COOKIE
from custodes.services import auth, ledger
from custodes.services import cameras as svc
from custodes.services.context import Context
from custodes.services.sealing import Sealer, SegmentClosed
from custodes.services.setup import ADMIN_USERNAME

from .grant_setup import approved_grant
from .media import make_segments

T0 = 1_795_000_000_000_000  # 2026-11-18T…Z
PASSWORD = "correct horse battery staple"


def _set_password(ctx: Context, password: str) -> None:
    """The admin's password, hashed as the product hashes one (cheaply unless the test is
    marked real_argon2: tests/conftest.py)."""
    from sqlalchemy import update

    with ctx.engine.begin() as conn:
        conn.execute(
            update(schema.accounts)
            .where(schema.accounts.c.username == ADMIN_USERNAME)
            .values(password_hash=auth.hash_password(password), password_one_time=False)
        )


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    _set_password(ctx, PASSWORD)
    with TestClient(create_app(ctx)) as c:
        yield c


@pytest.fixture
def logged_in(client: TestClient) -> TestClient:
    res = client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
    assert res.status_code == 200, res.text
    client.headers[CSRF_HEADER] = res.json()["csrf_token"]
    return client


def ledger_entries(ctx: Context, action: str) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(schema.ledger.c.details).where(schema.ledger.c.action == action)
        ).scalars()
        return [json.loads(d) for d in rows]


def _seal_run(ctx: Context, cam: int, run: str, base_us: int, count: int) -> None:
    """`count` real 2-s segments, placed as if received from `base_us` on."""
    run_dir = ctx.data.camera_spool(cam) / run
    clock = RunClock()
    for name, a, b in make_segments(run_dir, count=count):
        timing = clock.place(a, b, base_us + int(b * 1e6))
        Sealer(ctx.engine, ctx.data).seal(
            SegmentClosed(cam, run, run_dir / name, timing, StreamInfo())
        )


def test_every_endpoint_but_login_and_health_needs_a_session(client: TestClient) -> None:
    open_paths = {"/api/v1/auth/login", "/api/v1/health"}
    checked = 0
    schema = client.get("/api/v1/openapi.json").json()
    for template, operations in schema["paths"].items():
        if template in open_paths:
            continue
        path = (
            template.replace("{camera_id}", "1")
            .replace("{stream}", "main")
            .replace("{name}", "index.m3u8")
            .replace("{hold_id}", "1")
        )
        for method in operations:
            res = client.request(method.upper(), path)
            assert res.status_code == 401, (method, path, res.status_code)
            checked += 1
    assert checked >= 9
    assert client.get("/api/v1/health").status_code == 200
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "Custodes"


def test_login_cookie_logout_and_wrong_password(client: TestClient) -> None:
    bad = client.post("/api/v1/auth/login", json={"username": "admin", "password": "nope"})
    assert bad.status_code == 401
    nobody = client.post("/api/v1/auth/login", json={"username": "ghost", "password": "x"})
    assert nobody.status_code == 401 and nobody.json() == bad.json()
    res = client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
    cookie = next(h for h in res.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get("/api/v1/auth/me").json()["username"] == "admin"
    assert client.post("/api/v1/auth/logout").status_code == 403  # no CSRF token
    csrf = res.json()["csrf_token"]
    assert client.post("/api/v1/auth/logout", headers={CSRF_HEADER: csrf}).status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401


def test_session_expires(ctx: Context) -> None:
    _set_password(ctx, PASSWORD)
    s = auth.login(ctx, "admin", PASSWORD, now=T0)
    assert s is not None
    assert auth.resume(ctx, s.token, now=T0 + auth.IDLE_TIMEOUT_US // 2) is not None
    late = T0 + auth.IDLE_TIMEOUT_US // 2 + auth.IDLE_TIMEOUT_US + 1
    assert auth.resume(ctx, s.token, now=late) is None
    s2 = auth.login(ctx, "admin", PASSWORD, now=T0)
    assert s2 is not None
    step = auth.IDLE_TIMEOUT_US // 2
    t = T0
    while t < T0 + auth.ABSOLUTE_TIMEOUT_US - step:
        t += step
        assert auth.resume(ctx, s2.token, now=t) is not None
    assert auth.resume(ctx, s2.token, now=T0 + auth.ABSOLUTE_TIMEOUT_US) is None


def test_session_expiry_over_http(ctx: Context) -> None:
    """Idle for 30 min, or 12 h after log-in however active: the next request gets 401."""
    now = [T0]
    ctx.clock = lambda: now[0]
    _set_password(ctx, PASSWORD)
    with TestClient(create_app(ctx)) as client:
        res = client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        assert res.status_code == 200
        now[0] += auth.IDLE_TIMEOUT_US - 60_000_000  # 29 min idle: still in
        assert client.get("/api/v1/cameras").status_code == 200
        now[0] += auth.IDLE_TIMEOUT_US - 60_000_000  # the request above slid the expiry on
        assert client.get("/api/v1/auth/me").status_code == 200
        now[0] += auth.IDLE_TIMEOUT_US + 1  # then idle past 30 min
        assert client.get("/api/v1/auth/me").status_code == 401
        assert client.get("/api/v1/cameras").status_code == 401  # the session is gone
        # an active session ends at the 12-hour mark all the same
        now[0] = T0
        client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        while now[0] + 20 * 60_000_000 < T0 + auth.ABSOLUTE_TIMEOUT_US:
            now[0] += 20 * 60_000_000
            assert client.get("/api/v1/auth/me").status_code == 200, iso(now[0])
        now[0] = T0 + auth.ABSOLUTE_TIMEOUT_US
        assert client.get("/api/v1/auth/me").status_code == 401


def test_camera_registry_over_http(logged_in: TestClient) -> None:
    c = logged_in
    body = {"name": "Gate", "url": "rtsp://u:pw@10.0.0.9/main", "place": "school-gate"}
    no_csrf = c.post("/api/v1/cameras", json=body, headers={CSRF_HEADER: "forged"})
    assert no_csrf.status_code == 403
    res = c.post("/api/v1/cameras", json=body)
    assert res.status_code == 201, res.text
    cam = res.json()
    assert cam["url"] == "rtsp://10.0.0.9/main" and cam["has_credentials"]
    assert "pw" not in res.text
    bad = c.post("/api/v1/cameras", json={**body, "name": "G2", "url": "http://x"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "url"]
    dup = c.post("/api/v1/cameras", json=body)
    assert dup.status_code == 422 and dup.json()["detail"][0]["loc"] == ["body", "name"]
    null = c.patch(f"/api/v1/cameras/{cam['id']}", json={"name": None})
    assert null.status_code == 422 and null.json()["detail"][0]["loc"] == ["body", "name"]
    upd = c.patch(f"/api/v1/cameras/{cam['id']}", json={"site": "North"})
    assert upd.status_code == 200 and upd.json()["site"] == "North"
    assert [x["name"] for x in c.get("/api/v1/cameras").json()] == ["Gate"]
    assert c.get("/api/v1/cameras/999").status_code == 404
    assert c.post(f"/api/v1/cameras/{cam['id']}/retire").json()["retired"]
    assert c.get("/api/v1/cameras").json() == []


def test_timeline_spans_and_gap_around_an_outage(logged_in: TestClient, ctx: Context) -> None:
    cam = svc.add_camera(ctx, CameraSpec(name="C", url="rtsp://h/x", place="p")).id
    _seal_run(ctx, cam, "run1", T0, 3)  # T0 .. T0+6 s
    with ctx.engine.begin() as conn:
        conn.execute(
            insert(schema.gaps).values(
                camera_id=cam, start_us=T0 + 6_000_000, end_us=T0 + 20_000_000, reason="lost"
            )
        )
    _seal_run(ctx, cam, "run2", T0 + 20_000_000, 2)  # T0+20 .. T0+24 s
    res = logged_in.get(
        f"/api/v1/cameras/{cam}/recordings",
        params={"from": iso(T0 - 60_000_000), "to": iso(T0 + 60_000_000)},
    )
    assert res.status_code == 200, res.text
    t = res.json()
    assert [(s["start_us"], s["end_us"], s["segments"]) for s in t["spans"]] == [
        (T0, T0 + 6_000_000, 3),
        (T0 + 20_000_000, T0 + 24_000_000, 2),
    ]
    assert [(g["start_us"], g["end_us"], g["reason"]) for g in t["gaps"]] == [
        (T0 + 6_000_000, T0 + 20_000_000, "lost")
    ]
    clipped = logged_in.get(
        f"/api/v1/cameras/{cam}/recordings",
        params={"from": iso(T0 + 2_000_000), "to": iso(T0 + 21_000_000)},
    ).json()
    assert clipped["spans"][0]["start_us"] == T0 + 2_000_000
    assert clipped["spans"][1]["end_us"] == T0 + 21_000_000


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday", "to": "2026-11-29T00:00:00Z"}, "from"),
        ({"from": "2026-11-29T00:00:00Z"}, "to"),
        ({"from": "2026-11-29T00:00:00Z", "to": "2026-11-28T00:00:00Z"}, "to"),
        ({"from": "2026-01-01T00:00:00Z", "to": "2026-11-28T00:00:00Z"}, "to"),
    ],
)
def test_bad_timeline_parameters_name_the_field(
    logged_in: TestClient, ctx: Context, params: dict[str, str], field: str
) -> None:
    cam = svc.add_camera(ctx, CameraSpec(name="C", url="rtsp://h/x", place="p")).id
    res = logged_in.get(f"/api/v1/cameras/{cam}/recordings", params=params)
    assert res.status_code == 422
    assert res.json()["detail"][0]["loc"][-1] == field


def test_media_range_is_one_mp4_of_the_right_duration(
    logged_in: TestClient, ctx: Context, tmp_path: Path
) -> None:
    cam = svc.add_camera(ctx, CameraSpec(name="C", url="rtsp://h/x", place="p")).id
    _seal_run(ctx, cam, "run1", T0, 5)  # 10 s, keyframe every 1 s
    start, end = T0 + 2_500_000, T0 + 7_300_000
    params = {"start": iso(start), "end": iso(end)}
    # the administrator configures cameras but holds no grant: no recorded footage
    denied = logged_in.get(f"/api/v1/cameras/{cam}/media", params=params)
    assert denied.status_code == 403 and "请提交调取申请" in denied.json()["detail"]  # zh: default
    setup = approved_grant(ctx, camera_ids=[cam], start_us=T0, end_us=T0 + 3_600_000_000)
    officer = setup.holders[0]
    logged_in.post("/api/v1/auth/logout")
    res = logged_in.post(
        "/api/v1/auth/login", json={"username": officer.username, "password": officer.password}
    )
    logged_in.headers[CSRF_HEADER] = res.json()["csrf_token"]
    res = logged_in.get(f"/api/v1/cameras/{cam}/media", params=params)
    assert res.status_code == 200, res.text
    viewed = ledger_entries(ctx, ledger.MEDIA_VIEWED)[-1]
    assert viewed["grant"] == setup.grant.id and viewed["request"] == setup.request_id
    outside = logged_in.get(
        f"/api/v1/cameras/{cam}/media",
        params={"start": iso(T0 - 10_000_000), "end": iso(T0 + 5_000_000)},
    )
    assert outside.status_code == 403
    assert res.headers["content-type"] == "video/mp4"
    out = tmp_path / "clip.mp4"
    out.write_bytes(res.content)
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    duration = float(probe.stdout.strip())
    wanted = (end - start) / 1e6
    assert wanted - 0.1 <= duration <= wanted + 1.0 + 0.1  # from the keyframe before start
    assert res.headers["X-Custodes-Segments"] == "3"  # [2,4) [4,6) [6,8)
    empty = logged_in.get(
        f"/api/v1/cameras/{cam}/media",
        params={"start": iso(T0 + 100_000_000), "end": iso(T0 + 110_000_000)},
    )
    assert empty.status_code == 404
    too_long = logged_in.get(
        f"/api/v1/cameras/{cam}/media",
        params={"start": iso(T0), "end": iso(T0 + 3 * 3600 * 1_000_000)},
    )
    assert too_long.status_code == 422 and too_long.json()["detail"][0]["loc"][-1] == "end"


def test_status_endpoint(logged_in: TestClient, ctx: Context) -> None:
    svc.add_camera(ctx, CameraSpec(name="C", url="rtsp://h/x", place="p"))
    (cam,) = logged_in.get("/api/v1/status").json()["cameras"]
    assert cam["name"] == "C" and cam["segments"] == 0 and cam["state"] == "idle"


def test_media_says_its_video_codec_and_leaves_audio_out_when_asked(
    logged_in: TestClient, ctx: Context, tmp_path: Path
) -> None:
    """The recorded player (static/recorded-player.js) makes a Media Source Extensions buffer
    of the video alone: the response names that codec, and `audio=false` sends that alone."""
    cam = svc.add_camera(ctx, CameraSpec(name="C", url="rtsp://h/x", place="p")).id
    _seal_run(ctx, cam, "run1", T0, 3)
    setup = approved_grant(ctx, camera_ids=[cam], start_us=T0, end_us=T0 + 3_600_000_000)
    officer = setup.holders[0]
    logged_in.post("/api/v1/auth/logout")
    res = logged_in.post(
        "/api/v1/auth/login", json={"username": officer.username, "password": officer.password}
    )
    logged_in.headers[CSRF_HEADER] = res.json()["csrf_token"]
    params = {"start": iso(T0 + 1_000_000), "end": iso(T0 + 5_000_000), "audio": "false"}
    res = logged_in.get(f"/api/v1/cameras/{cam}/media", params=params)
    assert res.status_code == 200, res.text
    assert re.fullmatch(r"avc1\.[0-9A-F]{6}", res.headers["X-Custodes-Codecs"])
    out = tmp_path / "clip.mp4"
    out.write_bytes(res.content)
    probe = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type",
            "-of",
            "csv=p=0",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.split() == ["video"]
    assert "0:a?" in clip_command(Path("x.ffconcat"))
    assert "0:a?" not in clip_command(Path("x.ffconcat"), audio=False)


def test_init_segment_is_read_whole_however_the_pipe_cuts_it(tmp_path: Path) -> None:
    listing = make_segments(tmp_path, count=1)
    clip = tmp_path / "clip.mp4"
    flags = "+frag_keyframe+empty_moov+default_base_moof"
    source = str(tmp_path / listing[0][0])
    command = ["ffmpeg", "-v", "error", "-i", source, "-c", "copy", "-movflags", flags, str(clip)]
    subprocess.run(command, check=True)
    data = clip.read_bytes()

    def reader(size: int) -> Callable[[], Awaitable[bytes]]:
        chunks = [data[i : i + size] for i in range(0, len(data), size)]

        async def read() -> bytes:
            return chunks.pop(0) if chunks else b""

        return read

    for size in (1, 7, 65536):
        head, codec = asyncio.run(init_segment(reader(size)))
        assert data.startswith(head) and len(head) >= 8
        assert codec is not None and codec.startswith("avc1.")
    head, codec = asyncio.run(init_segment(lambda: asyncio.sleep(0, b"")))
    assert (head, codec) == (b"", None)
