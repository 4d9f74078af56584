from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from custodes.adapters.db import schema
from custodes.domain.camera import CameraFieldError, CameraSpec
from custodes.entrypoints.cli import app
from custodes.services import cameras as svc
from custodes.services.context import Context

SECRET = "Zx9-very-secret"


def test_registry_roundtrip(ctx: Context) -> None:
    view = svc.add_camera(
        ctx,
        CameraSpec(
            name="Gate 1",
            url=f"rtsp://admin:{SECRET}@10.1.1.1/main",
            sub_url="rtsp://10.1.1.1/sub",
            place="school-gate",
            site="No. 3 Middle School",
            latitude=43.8,
            longitude=125.3,
            direction_deg=270,
            signage_posted=True,
        ),
    )
    assert view.url == "rtsp://10.1.1.1/main"
    assert view.has_credentials
    assert SECRET not in json.dumps(view.to_json())
    with ctx.engine.connect() as conn:
        raw = conn.execute(select(schema.cameras.c.credentials)).scalar_one()
    assert SECRET.encode() not in raw  # encrypted at rest
    (target,) = svc.active_targets(ctx)
    assert target.url == f"rtsp://admin:{SECRET}@10.1.1.1/main"

    updated = svc.update_camera(ctx, "Gate 1", {"site": "Campus B"})
    assert updated.site == "Campus B" and updated.has_credentials
    assert svc.find_camera(ctx, str(view.id)).site == "Campus B"

    retired = svc.retire_camera(ctx, "Gate 1")
    assert retired.retired
    assert svc.list_cameras(ctx) == []
    assert len(svc.list_cameras(ctx, include_retired=True)) == 1
    assert svc.active_targets(ctx) == []
    with pytest.raises(CameraFieldError):
        svc.update_camera(ctx, "Gate 1", {"site": "x"})


def test_duplicate_name_is_refused(ctx: Context) -> None:
    svc.add_camera(ctx, CameraSpec(name="A", url="rtsp://h/a", place="p"))
    with pytest.raises(CameraFieldError) as info:
        svc.add_camera(ctx, CameraSpec(name="A", url="rtsp://h/b", place="p"))
    assert info.value.field == "name"


def test_cli_camera_commands(ctx: Context) -> None:
    runner = CliRunner()
    data = ["--data", str(ctx.data.root)]
    res = runner.invoke(
        app,
        [
            "camera",
            "add",
            "Door",
            "--url",
            f"rtsp://u:{SECRET}@127.0.0.1:8554/cam1",
            "--place",
            "bank-vault",
            "--site",
            "Branch 7",
            "--json",
            *data,
        ],
    )
    assert res.exit_code == 0, res.output
    assert SECRET not in res.output
    assert json.loads(res.output)["has_credentials"] is True

    res = runner.invoke(app, ["camera", "add", "Bad", "--url", "http://x", "--place", "p", *data])
    assert res.exit_code == 2
    assert "url:" in res.output

    res = runner.invoke(
        app, ["camera", "update", "Door", "--latitude", "95", "--longitude", "1", *data]
    )
    assert res.exit_code == 2 and "latitude" in res.output

    res = runner.invoke(app, ["camera", "list", "--json", *data])
    assert [c["name"] for c in json.loads(res.output)] == ["Door"]
    res = runner.invoke(app, ["camera", "show", "Door", *data])
    assert "set (hidden)" in res.output and SECRET not in res.output
    assert "nothing recorded yet" in res.output  # the stream, once recorded, shows here
    res = runner.invoke(app, ["camera", "show", "Nope", *data])
    assert res.exit_code == 2 and "no camera" in res.output
    res = runner.invoke(app, ["camera", "retire", "Door", *data])
    assert res.exit_code == 0
    res = runner.invoke(app, ["status", "--json", *data])
    status = json.loads(res.output)
    assert (status["cameras"], status["protection"], status["alarms"]) == ([], "read-only", [])
    assert status["recorder_running"] is False  # what the database cannot say, asked of the host
    assert status["disk"]["free_bytes"] > 0 and status["disk"]["full"] is False
