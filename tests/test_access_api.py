"""The access workflow over HTTP: upload, request, signatures, refusal with its article,
approval by a manager who is not a requester, the grant check, revocation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from custodes.adapters.db import schema
from custodes.clock import iso
from custodes.domain.camera import CameraSpec
from custodes.domain.roles import Role
from custodes.entrypoints.web.app import create_app
from custodes.services import cameras as camera_service
from custodes.services.context import Context

from .grant_setup import PDF, organisation, person
from .web_client import log_in as _as

HOUR = 3_600_000_000


@pytest.fixture
def app_client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as c:
        yield c


def test_request_to_grant_over_http(ctx: Context, app_client: TestClient) -> None:
    cam = camera_service.add_camera(
        ctx, CameraSpec(name="lobby", url="rtsp://127.0.0.1:9/x", place="lobby")
    ).id
    psb = organisation(ctx, "派出所 Police station", "public-security")
    a = person(ctx, Role.EXTERNAL_OFFICER, psb, work_id="P-1")
    b = person(ctx, Role.EXTERNAL_OFFICER, psb, work_id="P-2")
    manager = person(ctx, Role.SECURITY_MANAGER)
    c = _as(app_client, a)
    up = c.post(
        "/api/v1/documents", files={"file": ("通知书.pdf", PDF, "application/octet-stream")}
    )
    assert up.status_code == 201, up.text
    doc = up.json()
    assert doc["media_type"] == "application/pdf" and len(doc["sha256"]) == 64
    bad = c.post("/api/v1/documents", files={"file": ("x.pdf", b"<html>", "application/pdf")})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "document"]
    now = ctx.clock()
    body = {
        "camera_ids": [cam],
        "start": iso(now - 2 * HOUR),
        "end": iso(now - HOUR),
        "action": "copy",
        "basis": "law-enforcement",
        "purpose": "robbery",
        "destination": "station evidence room",
        "document_id": doc["id"],
    }
    naive = c.post("/api/v1/requests", json={**body, "start": "2026-11-29T08:00:00"})
    assert naive.status_code == 422 and naive.json()["detail"][0]["loc"] == ["body", "start"]
    created = c.post("/api/v1/requests", json=body)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    assert c.post(f"/api/v1/requests/{rid}/sign", json={"work_id": "P-1"}).status_code == 204
    refused = c.post(f"/api/v1/requests/{rid}/submit", headers={"Accept-Language": "en"})
    assert refused.status_code == 422
    assert refused.json()["detail"] == [
        {
            "loc": ["body", "staff"],
            "msg": "at least two staff, each signing with their own account",
            "type": "refused",
            "article": "Jilin Art. 28",
            "citation": "Jilin Art. 28",
        }
    ]
    # the reason in the user's language, the article as it is cited
    chinese = c.post(f"/api/v1/requests/{rid}/submit", headers={"Accept-Language": "zh-CN"})
    assert chinese.status_code == 422
    assert chinese.json()["detail"] == [
        {
            "loc": ["body", "staff"],
            "msg": "须至少两名工作人员，各自以本人账户签名",
            "type": "refused",
            "article": "Jilin Art. 28",
            "citation": "《吉林省公共安全视频图像信息系统管理办法》第28条",
        }
    ]
    shown = c.get(f"/api/v1/requests/{rid}").json()
    assert shown["state"] == "draft" and shown["refusals"][0]["article"] == "Jilin Art. 28"
    c = _as(app_client, b)
    assert c.post(f"/api/v1/requests/{rid}/sign", json={"work_id": "P-2"}).status_code == 204
    assert c.post(f"/api/v1/requests/{rid}/submit").status_code == 204
    assert c.post(f"/api/v1/requests/{rid}/approve", json={}).status_code == 403  # officer
    c = _as(app_client, manager)
    queue = c.get("/api/v1/requests", params={"state": "submitted"}).json()
    assert [r["id"] for r in queue] == [rid]
    granted = c.post(f"/api/v1/requests/{rid}/approve", json={"validity_days": 3})
    assert granted.status_code == 200, granted.text
    grant = granted.json()
    assert grant["action"] == "copy" and grant["camera_ids"] == [cam] and grant["live"]
    assert grant["expires_us"] - ctx.clock() <= 3 * 24 * HOUR
    c = _as(app_client, a)
    mine = c.get("/api/v1/grants").json()
    assert [g["id"] for g in mine] == [grant["id"]]
    params = {"camera_id": cam, "start": iso(now - 2 * HOUR), "end": iso(now - HOUR)}
    assert c.get("/api/v1/grants/check", params=params).json()["grant_id"] == grant["id"]
    wider = {**params, "start": iso(now - 3 * HOUR)}
    assert c.get("/api/v1/grants/check", params=wider).status_code == 403
    c = _as(app_client, manager)
    revoke = c.post(f"/api/v1/grants/{grant['id']}/revoke", json={"reason": "case closed"})
    assert revoke.status_code == 204
    c = _as(app_client, a)
    denied = c.get("/api/v1/grants/check", params=params)
    assert denied.status_code == 403 and "请提交调取申请" in denied.json()["detail"]  # zh: default


def test_requests_pages_render_for_each_role(ctx: Context, app_client: TestClient) -> None:
    camera_service.add_camera(
        ctx, CameraSpec(name="lobby", url="rtsp://127.0.0.1:9/x", place="lobby")
    )
    psb = organisation(ctx, "派出所 Police station", "public-security")
    officer = person(ctx, Role.EXTERNAL_OFFICER, psb, work_id="P-1")
    auditor = person(ctx, Role.AUDITOR)
    c = _as(app_client, officer)
    assert c.get("/requests").status_code == 200
    assert 'id="new-request"' in c.get("/requests").text
    assert c.get("/requests/new").status_code == 200
    assert c.get("/grants").status_code == 200
    assert c.get("/requests/999").status_code == 404
    assert c.get("/grants/999").status_code == 404
    live = c.get("/live", follow_redirects=False)  # officers have no live view
    assert live.status_code == 303 and live.headers["location"] == "/requests"
    c = _as(app_client, auditor)
    page = c.get("/requests").text
    assert 'id="new-request"' not in page and 'id="nav-register"' in page
    assert c.get("/requests/new").status_code == 403
    upload = c.post("/api/v1/documents", files={"file": ("n.pdf", PDF, "application/pdf")})
    assert upload.status_code == 403  # auditors file nothing
    assert c.get("/accounts").status_code == 403  # the administrator's page
    assert c.get("/me").status_code == 200


def test_a_missing_jurisdiction_is_a_clear_503_not_a_500(
    ctx: Context, app_client: TestClient
) -> None:
    """Without the jurisdiction setting (a database edited by hand) the rules that decide a
    request are unknown: the answer says so, as 503, on this route as on every other."""
    cam = camera_service.add_camera(
        ctx, CameraSpec(name="lobby", url="rtsp://127.0.0.1:9/x", place="lobby")
    ).id
    psb = organisation(ctx, "派出所 Police station", "public-security")
    c = _as(app_client, person(ctx, Role.EXTERNAL_OFFICER, psb, work_id="P-1"))
    with ctx.engine.begin() as conn:
        conn.execute(delete(schema.settings).where(schema.settings.c.key == "jurisdiction"))
    now = ctx.clock()
    body = {
        "camera_ids": [cam],
        "start": iso(now - 2 * HOUR),
        "end": iso(now - HOUR),
        "action": "view",
        "basis": "law-enforcement",
        "purpose": "robbery",
    }
    res = c.post("/api/v1/requests", json=body)
    assert res.status_code == 503, res.text
    assert "jurisdiction" in res.json()["detail"]
