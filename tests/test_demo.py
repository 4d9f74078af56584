"""`custodes demo` end to end: init, simulated cameras, registration, recording, clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from rich.cells import cell_len

from custodes.paths import DataDir
from custodes.services.context import Context

from .conftest import free_port
from .recording import wait_for

pytestmark = pytest.mark.slow


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "custodes.entrypoints.cli", *args]


def _status(data: DataDir) -> list[dict[str, object]]:
    res = subprocess.run(
        _cli("status", "--json", "--data", str(data.root)), capture_output=True, check=True
    )
    cameras: list[dict[str, object]] = json.loads(res.stdout)["cameras"]
    return cameras


def _descendants_alive(data: DataDir) -> list[str]:
    res = subprocess.run(["pgrep", "-af", str(data.root)], capture_output=True, text=True)
    return [ln for ln in res.stdout.splitlines() if "pgrep" not in ln]


def test_demo_records_serves_the_api_and_stops_every_child(
    data_dir: DataDir, tmp_path: Path
) -> None:
    log = tmp_path / "demo.log"
    http = free_port()
    args = ["--cameras", "2", "--rtsp-port", str(free_port()), "--http-port", str(http)]
    proc = subprocess.Popen(
        _cli("demo", *args, "--data", str(data_dir.root)),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=dict(os.environ),
    )
    try:
        wait_for(
            "both simulated cameras to record",
            lambda: (
                data_dir.secret_key.exists()
                and len(cams := _status(data_dir)) == 2
                and all(int(str(c["segments"])) >= 1 for c in cams)
            ),
            90,
            every=2,
        )
        base = f"http://127.0.0.1:{http}/api/v1"
        assert httpx.get(f"{base}/health").json()["status"] == "ok"
        password = (data_dir.keys / "demo-admin-password").read_text().strip()
        with httpx.Client(base_url=base) as web:
            assert web.get("/status").status_code == 401
            login = web.post("/auth/login", json={"username": "admin", "password": password})
            assert login.status_code == 200
            names = {c["name"] for c in web.get("/status").json()["cameras"]}
            assert names == {"Simulated cam1", "Simulated cam2"}
        # the cast of the access workflow: the operator watches its assigned cameras
        cast_password = (data_dir.keys / "demo-password").read_text().strip()
        with httpx.Client(base_url=base) as web:
            login = web.post(
                "/auth/login", json={"username": "operator", "password": cast_password}
            )
            assert login.status_code == 200 and login.json()["role"] == "duty_operator"
        with httpx.Client(base_url=base) as web:
            login = web.post(
                "/auth/login", json={"username": "officer1", "password": cast_password}
            )
            assert login.json()["role"] == "external_officer"
            assert login.json()["work_id"] == "J-100001"
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(60)
    output = log.read_text()
    assert code == 0, output[-3000:]
    assert password in output and cast_password in output and str(data_dir.root) in output
    assert f"http://127.0.0.1:{http}/" in output
    assert "custodes status" in output
    wait_for("no child process left", lambda: not _descendants_alive(data_dir), 10)
    assert all(c["state"] == "stopped" for c in _status(data_dir))


def test_the_demo_banner_keeps_each_password_beside_its_user_in_80_columns(
    ctx: Context,
) -> None:
    """The cast used to be one long line: an 80-column terminal wrapped the password onto a
    line of its own, away from every name."""
    from custodes.entrypoints.cli_common import console
    from custodes.entrypoints.demo_cast import CAST, ensure_demo_cast, login_line

    lines = [login_line("admin", "系统管理员 Administrator", "Abc-123_xyz456")]
    lines += ensure_demo_cast(ctx, ctx.data, [])
    password = (ctx.data.keys / "demo-password").read_text().strip()
    shown_on = console(width=80, record=True, color_system=None)
    for line in lines:
        shown_on.print(line, soft_wrap=True, highlight=False)
    shown = shown_on.export_text().splitlines()
    assert len(shown) == 1 + len(CAST)
    assert max(cell_len(s) for s in shown) <= 80
    for (username, *_), text in zip(CAST, shown[1:], strict=True):
        assert text.split()[0] == username and text.endswith(f"password {password}")
    assert shown[0].endswith("password Abc-123_xyz456")
    # the names' column lines up although Chinese characters take two cells
    assert len({cell_len(s.split("password")[0]) for s in shown}) == 1
