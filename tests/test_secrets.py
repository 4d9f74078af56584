"""Issue 11 §2, secrets stay secret: no camera credential in a log, an answer, a page, the
ledger or an error; credentials bound to their host; query-string credentials recognised; the
data directory its owner's alone; and `status` says what keeps ffmpeg's command line from
other local users (docs/SECURITY.md).

Everything runs for real: the HTTP service through its test client, real ffmpeg against a real
(refusing) camera port, SQLite and PostgreSQL, real file modes and /proc.
"""

from __future__ import annotations

import logging
import os
import socket
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from starlette.websockets import WebSocketDisconnect
from typer.testing import CliRunner

from custodes.adapters import process
from custodes.adapters.db import schema
from custodes.adapters.ffmpeg.command import record_command
from custodes.adapters.ffmpeg.stderr import redact
from custodes.domain.access_rules import Action
from custodes.domain.camera import (
    CameraFieldError,
    CameraSpec,
    Redactor,
    endpoint,
    redact_text,
    split_credentials,
    validate,
    with_credentials,
)
from custodes.domain.roles import Role
from custodes.entrypoints.cli import app
from custodes.entrypoints.web.app import API, create_app
from custodes.entrypoints.web.deps import CSRF_HEADER
from custodes.paths import DataDir
from custodes.recorder.supervisor import Supervisor
from custodes.services import cameras as svc
from custodes.services import exports
from custodes.services.context import Context
from custodes.services.setup import initialise

from .grant_setup import approved_grant, organisation, person
from .recording import wait_for
from .sealed import T0, seal_archive
from .test_api import PASSWORD, _set_password

SECRET = "Pw@9-zq!Secret"  # an @ and a ! : percent-encoded in a URL
QSECRET = "Qs-77-token-x"
UNREACHABLE_PORT = 9  # discard: nothing listens, the connection is refused at once
SEC = 1_000_000


def _forms(*secrets: str) -> list[str]:
    """Each secret as given and percent-encoded (how it stands in a URL)."""
    return sorted({f for s in secrets for f in (s, quote(s, safe=""))})


def _leaks(text: str, *secrets: str) -> list[str]:
    return [f for f in _forms(*secrets) if f in text]


def _flat(text: str) -> str:
    """Console output with its line wrapping undone."""
    return " ".join(text.split())


def _ledger_text(ctx: Context) -> str:
    with ctx.engine.connect() as conn:
        return "\n".join(repr(tuple(r)) for r in conn.execute(select(schema.ledger)))


def _logged_in(ctx: Context, username: str = "admin", password: str = PASSWORD) -> TestClient:
    client = TestClient(create_app(ctx, live_linger_s=5.0))  # longer than ffmpeg takes to fail
    res = client.post(f"{API}/auth/login", json={"username": username, "password": password})
    assert res.status_code == 200, res.text
    client.headers[CSRF_HEADER] = res.json()["csrf_token"]
    return client


@pytest.fixture
def admin(ctx: Context) -> Iterator[TestClient]:
    _set_password(ctx, PASSWORD)
    with _logged_in(ctx) as client:
        yield client


# --- the patterns (pure) ---------------------------------------------------------------------


def test_redaction_knows_userinfo_and_the_query_spellings_of_camera_vendors() -> None:
    assert (
        redact_text("rtsp://admin:p%40ss@10.0.0.1:554/x: 401") == "rtsp://***@10.0.0.1:554/x: 401"
    )
    for key in ("user", "username", "usr", "password", "pwd", "passwd", "pass", "token", "auth"):
        line = f"rtsp://cam/x?channel=1&{key}=v4lue-x&subtype=0: Connection refused"
        assert redact_text(line) == (
            f"rtsp://cam/x?channel=1&{key}=***&subtype=0: Connection refused"
        ), key
    assert redact_text("rtsp://cam/x?PWD=v4lue-x") == "rtsp://cam/x?PWD=***"  # any case
    # what is not a credential stays: a mail address, a channel number, a host
    plain = "rtsp://cam.local/x?channel=1&subtype=0: ok, mail ops@example.com"
    assert redact_text(plain) == plain
    # a form no pattern knows is still caught by the URL's own secret
    redactor = Redactor(f"rtsp://admin:{quote(SECRET, safe='')}@h/x?token={QSECRET}")
    said = f"auth failed for {SECRET} / {quote(SECRET, safe='')} ({QSECRET})"
    assert _leaks(redactor(said), SECRET, QSECRET) == []
    assert redact(f"rtsp://h/x?pwd={QSECRET}") == "rtsp://h/x?pwd=***"  # ffmpeg's lines


def test_query_credentials_are_taken_out_and_put_back_where_the_camera_expects_them() -> None:
    given = f"rtsp://Cam:554/live?channel=1&usr=viewer&pwd={quote(QSECRET)}&subtype=0"
    url, user, password = split_credentials("url", given)
    assert url == "rtsp://cam:554/live?channel=1&usr=***&pwd=***&subtype=0"
    assert (user, password) == ("viewer", QSECRET)
    assert with_credentials(url, user, password) == given.replace("Cam", "cam")
    # userinfo credentials are percent-decoded once (ffmpeg decodes them once again)
    url, user, password = split_credentials("url", f"rtsp://admin:{quote(SECRET)}@h/x")
    assert (url, user, password) == ("rtsp://h/x", "admin", SECRET)
    assert with_credentials(url, user, password) == f"rtsp://admin:{quote(SECRET, safe='')}@h/x"
    # `***` stands for stored credentials: none stored, a clear error (not an empty password)
    with pytest.raises(CameraFieldError) as info:
        validate(CameraSpec(name="c", url="rtsp://h/x?pwd=***", place="p"))
    assert info.value.field == "url" and "give the username and password" in info.value.message
    with pytest.raises(CameraFieldError) as two:
        validate(CameraSpec(name="c", url="rtsp://a:b@h/x?password=c", place="p"))
    assert "two different passwords" in two.value.message


def test_query_credentials_are_found_however_the_query_is_written() -> None:
    """Percent-encoded names and `;` separators (both seen in camera URLs) hide nothing."""
    url, user, password = split_credentials("url", f"rtsp://h/x?pass%77ord={QSECRET}&ch=1")
    assert (url, user, password) == ("rtsp://h/x?pass%77ord=***&ch=1", None, QSECRET)
    url, user, password = split_credentials("url", f"rtsp://h/x?user=a;password={QSECRET};ch=2")
    assert (url, user, password) == ("rtsp://h/x?user=***;password=***;ch=2", "a", QSECRET)
    assert with_credentials(url, user, password) == f"rtsp://h/x?user=a;password={QSECRET};ch=2"
    line = f"rtsp://h/x?pass%77ord={QSECRET}&ch=1 and ?user=a;password={QSECRET};ch=2"
    assert _leaks(redact_text(line), QSECRET) == []


def test_credentials_are_bound_to_the_scheme_too() -> None:
    """rtsps to rtsp on the same host and port would send the credentials in clear."""
    assert endpoint("rtsps://h/x") != endpoint("rtsp://h:322/x")
    assert endpoint("rtsp://H/x") == endpoint("RTSP://h:554/y")


# --- finding 4: query-string credentials ------------------------------------------------------


def test_query_string_credentials_are_stored_as_secrets_and_shown_to_nobody(
    ctx: Context, admin: TestClient
) -> None:
    url = f"rtsp://10.1.1.1:554/live?channel=1&user=admin&password={QSECRET}"
    res = admin.post(f"{API}/cameras", json={"name": "Gate", "url": url, "place": "gate"})
    assert res.status_code == 201, res.text
    cam = res.json()
    assert cam["url"] == "rtsp://10.1.1.1:554/live?channel=1&user=***&password=***"
    assert cam["has_credentials"] is True
    with ctx.engine.connect() as conn:
        row = conn.execute(select(schema.cameras)).one()
    assert _leaks(repr(tuple(row)), QSECRET) == []  # the row: URL masked, credentials sealed
    assert _leaks(_ledger_text(ctx), QSECRET) == []
    (target,) = svc.active_targets(ctx)
    assert target.url == url  # only ffmpeg gets the real URL
    assert QSECRET not in repr(target)
    # every role that reads cameras, an external officer included, sees it masked
    psb = organisation(ctx, "市公安局 City PSB", "public-security")
    for who in (person(ctx, Role.EXTERNAL_OFFICER, psb), person(ctx, Role.AUDITOR)):
        with _logged_in(ctx, who.username, who.password) as client:
            for path in (f"{API}/cameras", f"{API}/cameras/{cam['id']}", "/cameras"):
                res = client.get(path)
                assert res.status_code == 200, (path, res.text)
                assert _leaks(res.text, QSECRET) == [], (who.username, path)
    runner = CliRunner()
    data = ["--data", str(ctx.data.root)]
    for args in (["camera", "list"], ["camera", "show", "Gate", "--json"]):
        out = runner.invoke(app, [*args, *data])
        assert out.exit_code == 0, out.output
        assert _leaks(out.output, QSECRET) == []


def test_only_those_who_configure_cameras_see_where_a_camera_is_on_the_network(
    ctx: Context, admin: TestClient
) -> None:
    host = "10.20.30.40"
    res = admin.post(
        f"{API}/cameras",
        json={
            "name": "Vault",
            "url": f"rtsp://{host}:554/main",
            "sub_url": f"rtsp://{host}:554/sub",
            "place": "vault",
        },
    )
    assert res.status_code == 201, res.text
    cam_id = res.json()["id"]
    assert admin.get(f"{API}/cameras/{cam_id}").json()["url"] == f"rtsp://{host}:554/main"
    psb = organisation(ctx, "市公安局 City PSB", "public-security")
    readers = (
        person(ctx, Role.EXTERNAL_OFFICER, psb),
        person(ctx, Role.AUDITOR),
        person(ctx, Role.DUTY_OPERATOR),
        person(ctx, Role.SECURITY_MANAGER),
    )
    for who in readers:
        with _logged_in(ctx, who.username, who.password) as client:
            listed = client.get(f"{API}/cameras").json()
            one = client.get(f"{API}/cameras/{cam_id}").json()
            for view in (*listed, one):
                assert view["url"] is None and view["sub_url"] is None, (who.username, view)
                assert view["has_sub_stream"] is True  # the live grid still asks for the sub
            for path in ("/cameras", f"/cameras/{cam_id}", "/live"):
                page = client.get(path)
                assert host not in page.text, (who.username, path)


def test_rows_stored_before_query_credentials_were_recognised_read_redacted(
    ctx: Context, admin: TestClient
) -> None:
    """No migration: the old clear row reads masked everywhere, and the next change of the
    camera stores it split."""
    clear = f"rtsp://10.1.1.2/live?user=admin&pwd={QSECRET}"
    with ctx.engine.begin() as conn:
        cam = conn.execute(
            insert(schema.cameras)
            .values(name="Old", url=clear, place="p", created_us=1, updated_us=1)
            .returning(schema.cameras.c.id)
        ).scalar_one()
        conn.execute(
            insert(schema.camera_state).values(
                camera_id=cam,
                state="reconnecting",
                last_error=f"{clear}: Connection refused",
                last_error_us=1,
                updated_us=1,
            )
        )
    res = admin.get(f"{API}/cameras/{cam}")
    assert res.json()["url"] == "rtsp://10.1.1.2/live?user=***&pwd=***", res.text
    assert res.json()["has_credentials"] is True
    status = admin.get(f"{API}/status")
    assert status.status_code == 200 and _leaks(status.text, QSECRET) == [], status.text
    assert svc.stream_url(ctx, cam, "main") == clear  # still recorded as before
    changed = admin.patch(f"{API}/cameras/{cam}", json={"site": "North"})
    assert changed.status_code == 200, changed.text
    with ctx.engine.connect() as conn:
        row = conn.execute(select(schema.cameras).where(schema.cameras.c.id == cam)).one()
    assert row.url == "rtsp://10.1.1.2/live?user=***&pwd=***" and row.credentials
    assert svc.stream_url(ctx, cam, "main") == clear
    assert _leaks(_ledger_text(ctx), QSECRET) == []


# --- finding 3: credentials bound to their host ----------------------------------------------


def _target_url(ctx: Context, cam: int) -> str:
    return next(t.url for t in svc.active_targets(ctx) if t.camera_id == cam)


def test_an_invalid_request_does_not_echo_its_secrets(admin: TestClient) -> None:
    """FastAPI's 422 echoes the input: for a missing field the whole body, camera URL and
    password included. Ours names the field and the problem, never the values sent."""
    url = f"rtsp://admin:{quote(SECRET)}@10.2.0.9/main"
    res = admin.post(f"{API}/cameras", json={"name": "Lobby", "url": url, "password": SECRET})
    assert res.status_code == 422, res.text
    assert any(e["loc"] == ["body", "place"] for e in res.json()["detail"]), res.text
    assert _leaks(res.text, SECRET) == [], res.text
    res = admin.post(f"{API}/auth/login", json={"username": "admin", "password": SECRET * 500})
    assert res.status_code in (413, 422), res.text
    assert _leaks(res.text, SECRET) == [], res.text[:300]


def test_a_new_host_does_not_get_the_stored_credentials(ctx: Context, admin: TestClient) -> None:
    res = admin.post(
        f"{API}/cameras",
        json={"name": "Lobby", "url": f"rtsp://admin:{quote(SECRET)}@10.2.0.1/main", "place": "p"},
    )
    cam = res.json()["id"]
    # the same host, another path: the credentials stay
    same = admin.patch(f"{API}/cameras/{cam}", json={"url": "rtsp://10.2.0.1:554/main2"})
    assert same.status_code == 200, same.text
    assert same.json()["has_credentials"] and not same.json()["credentials_dropped"]
    assert SECRET in _target_url(ctx, cam).replace(quote(SECRET, safe=""), SECRET)
    # another host: dropped, said in the answer and the ledger, never sent there
    moved = admin.patch(f"{API}/cameras/{cam}", json={"url": "rtsp://203.0.113.9/main"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["credentials_dropped"] is True
    assert moved.json()["has_credentials"] is False
    assert _target_url(ctx, cam) == "rtsp://203.0.113.9/main"
    text = _ledger_text(ctx)
    assert "credentials_dropped" in text and _leaks(text, SECRET) == []
    # another port of the same host is another endpoint
    admin.patch(f"{API}/cameras/{cam}", json={"username": "admin", "password": SECRET})
    port = admin.patch(f"{API}/cameras/{cam}", json={"url": "rtsp://203.0.113.9:8554/main"})
    assert port.json()["credentials_dropped"] is True
    # new credentials in the same request go to the new host, and nothing is "dropped"
    both = admin.patch(
        f"{API}/cameras/{cam}",
        json={"url": "rtsp://198.51.100.7/main", "username": "u2", "password": "n3w-pass"},
    )
    assert both.status_code == 200, both.text
    assert both.json()["has_credentials"] and not both.json()["credentials_dropped"]
    assert _target_url(ctx, cam) == "rtsp://u2:n3w-pass@198.51.100.7/main"
    # a sub stream on another host is another host too (its URL gets the same credentials)
    sub = admin.patch(f"{API}/cameras/{cam}", json={"sub_url": "rtsp://192.0.2.66/sub"})
    assert sub.json()["credentials_dropped"] is True
    assert svc.stream_url(ctx, cam, "sub") == "rtsp://192.0.2.66/sub"
    # a masked URL sent back for another host: the stored secret does not follow it
    admin.patch(
        f"{API}/cameras/{cam}",
        json={"url": "rtsp://198.51.100.7/live?user=u&pwd=q", "sub_url": None},
    )
    masked = admin.get(f"{API}/cameras/{cam}").json()["url"]
    assert masked == "rtsp://198.51.100.7/live?user=***&pwd=***"
    moved = {"url": masked.replace("198.51", "10.9")}
    refused = admin.patch(f"{API}/cameras/{cam}", json=moved, headers={"Accept-Language": "en"})
    assert refused.status_code == 422, refused.text
    assert "a new host needs them again" in refused.text
    refused = admin.patch(f"{API}/cameras/{cam}", json=moved, headers={"Accept-Language": "zh"})
    assert "新主机需要重新提供" in refused.text, refused.text
    kept = admin.patch(f"{API}/cameras/{cam}", json={"url": masked + "&channel=2"})
    assert kept.status_code == 200 and not kept.json()["credentials_dropped"], kept.text
    assert _target_url(ctx, cam) == "rtsp://198.51.100.7/live?user=u&pwd=q&channel=2"


def test_the_cli_says_when_credentials_were_dropped(ctx: Context) -> None:
    svc.add_camera(
        ctx, CameraSpec(name="Yard", url=f"rtsp://admin:x-{QSECRET}@10.3.0.1/m", place="p")
    )
    res = CliRunner().invoke(
        app,
        ["camera", "update", "Yard", "--url", "rtsp://10.3.0.99/m", "--data", str(ctx.data.root)],
    )
    assert res.exit_code == 0, res.output
    assert "credentials were dropped" in _flat(res.output)
    assert "credentials: none" in _flat(res.output)
    assert _leaks(res.output + _ledger_text(ctx), QSECRET) == []


# --- finding 1: a failing camera, everything it can reach ------------------------------------


def _unreachable(query: bool) -> str:
    base = f"rtsp://127.0.0.1:{UNREACHABLE_PORT}/cam"
    if query:
        return f"{base}?channel=1&user=admin&pwd={QSECRET}"
    return f"rtsp://admin:{quote(SECRET, safe='')}@127.0.0.1:{UNREACHABLE_PORT}/cam"


@pytest.mark.parametrize("query", [False, True], ids=["userinfo", "query"])
def test_a_failing_camera_leaks_its_credentials_nowhere(
    ctx: Context,
    admin: TestClient,
    query: bool,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    res = admin.post(
        f"{API}/cameras", json={"name": "Refusing", "url": _unreachable(query), "place": "p"}
    )
    assert res.status_code == 201, res.text
    cam = res.json()["id"]
    sup = Supervisor(ctx, segment_seconds=2, backoff_cap_s=1)
    sup.start()
    try:
        log = ctx.data.logs / "cam00001.log"
        wait_for(
            "the refused connection in the camera's log",
            lambda: log.exists() and "refused" in log.read_text(),
            timeout=30,
        )
        wait_for(
            "the error in the camera's state",
            lambda: bool(admin.get(f"{API}/status").json()["cameras"][0]["last_error"]),
            timeout=30,
        )
    finally:
        sup.stop()
    answers = [
        admin.get(f"{API}/cameras").text,
        admin.get(f"{API}/cameras/{cam}").text,
        admin.get(f"{API}/status").text,
        admin.get(f"/cameras/{cam}").text,
    ]
    playlist = admin.get(f"{API}/cameras/{cam}/hls/main/index.m3u8")
    assert playlist.status_code == 503, playlist.text
    assert "refused" in playlist.text.lower()  # the reason is still said, redacted
    answers.append(playlist.text)
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        admin.websocket_connect(f"{API}/cameras/{cam}/live") as ws,
    ):
        ws.receive_json()
    assert closed.value.code == 4503
    answers.append(str(closed.value.reason))
    logs = [p.read_text(errors="replace") for p in ctx.data.logs.rglob("*") if p.is_file()]
    assert any("***" in text for text in logs)  # ffmpeg named the URL, and it was redacted
    with ctx.engine.connect() as conn:
        rows = [
            repr(tuple(r))
            for t in (schema.camera_state, schema.gaps, schema.alarms, schema.cameras)
            for r in conn.execute(select(t))
        ]
    captured = capfd.readouterr()
    said = [captured.out, captured.err, caplog.text]
    everything = "\n".join([*answers, *logs, *rows, _ledger_text(ctx), *said])
    assert _leaks(everything, SECRET, QSECRET) == []


def test_a_camera_log_is_private_even_without_the_umask(ctx: Context) -> None:
    """ffmpeg's log names the camera's address: 0600 whatever the process's umask."""
    old = os.umask(0o022)
    try:
        svc.add_camera(ctx, CameraSpec(name="c", url=_unreachable(False), place="p"))
        sup = Supervisor(ctx, segment_seconds=2, backoff_cap_s=1)
        sup.start()
        try:
            log = ctx.data.logs / "cam00001.log"
            wait_for("the camera's log", log.exists, timeout=20, every=0.2)
        finally:
            sup.stop()
    finally:
        os.umask(old)
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


# --- finding 5: the data directory is the owner's alone ---------------------------------------


def _open_to_others(root: Path) -> list[str]:
    found = []
    for path in [root, *root.rglob("*")]:
        st = path.lstat()
        if not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o077:
            found.append(f"{path.relative_to(root.parent)} {stat.S_IMODE(st.st_mode):04o}")
    return found


def test_nothing_in_the_data_directory_is_open_to_other_users(ctx: Context) -> None:
    root = ctx.data.root
    assert _open_to_others(root) == []  # after init: database, keys, directories
    archive = seal_archive(ctx)  # real segments recorded, sealed, checkpointed
    setup = approved_grant(  # an approval document uploaded
        ctx,
        camera_ids=[archive.cam],
        start_us=T0 - 60 * SEC,
        end_us=T0 + 60 * SEC,
        action=Action.COPY,
    )
    officer = setup.holders[0]
    kw: dict[str, Any] = {
        "account_id": officer.account_id,
        "username": officer.username,
        "camera_id": archive.cam,
        "start_us": T0 + 2 * SEC,
        "end_us": T0 + 6 * SEC,
    }
    grant = exports.require_grant(ctx, grant_id=setup.grant.id, **kw)
    bundle = exports.create_export(ctx, grant=grant, **kw)  # an export bundle
    assert bundle.path.is_dir() and any(ctx.data.archive.rglob("*.mp4"))
    assert any(p.is_file() for p in root.rglob("documents/**/*"))
    assert _open_to_others(root) == []
    database = ctx.engine.url.database  # SQLite: the database file too, wherever it is
    if ctx.engine.url.get_backend_name() == "sqlite" and database:
        files = [p for p in Path(database).parent.glob(Path(database).name + "*")]
        assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files), files


def test_init_and_serve_tighten_a_data_directory_left_open(
    data_dir: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = initialise(data_dir, "jilin").context
    context.engine.dispose()
    os.chmod(data_dir.root, 0o755)
    os.chmod(data_dir.logs, 0o775)
    opened = data_dir.logs / "custodes.log"
    opened.write_text("old\n")
    opened.chmod(0o644)
    runner = CliRunner()
    res = runner.invoke(app, ["init", "--data", str(data_dir.root)])
    assert res.exit_code == 0, res.output
    assert "open to other local users" in _flat(res.output)
    assert "0755 → 0700" in res.output and "0644 → 0600" in res.output
    assert _open_to_others(data_dir.root) == []
    again = runner.invoke(app, ["init", "--data", str(data_dir.root)])
    assert "open to other local users" not in _flat(again.output)  # nothing left to tighten
    # serve tightens too, before it records (the recording itself is not this test's)
    os.chmod(data_dir.root, 0o711)
    monkeypatch.setattr("custodes.entrypoints.cli._serve", lambda *a, **k: None)
    monkeypatch.setattr("custodes.entrypoints.cli._setup_logging", lambda *a, **k: None)
    served = runner.invoke(app, ["serve", "--data", str(data_dir.root), "--http-port", "0"])
    assert served.exit_code == 0, served.output
    assert "0711 → 0700" in served.output
    assert stat.S_IMODE(data_dir.root.stat().st_mode) == 0o700


# --- finding 2: ffmpeg's command line ---------------------------------------------------------


def test_argv_protection_is_read_from_the_proc_mount() -> None:
    assert process.argv_protection("proc /proc proc rw,relatime 0 0\n") == "none"
    hidden = "proc /proc proc rw,nosuid,relatime,hidepid=invisible,gid=4 0 0\n"
    assert process.argv_protection(hidden) == "hidepid=invisible"
    assert process.argv_protection("proc /proc proc rw,hidepid=2 0 0\n") == "hidepid=2"
    assert process.argv_protection("proc /proc proc rw,hidepid=0 0 0\n") == "none"
    # the last mount on /proc is the one in force; other proc mounts do not count
    remounted = hidden + "proc /proc proc rw,relatime 0 0\n"
    assert process.argv_protection(remounted) == "none"
    assert process.argv_protection("proc /x/proc proc rw,hidepid=2 0 0\n") == "none"


def _silent_camera() -> tuple[socket.socket, int]:
    """A port that accepts and says nothing: ffmpeg waits on it (its I/O timeout)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    return server, int(server.getsockname()[1])


def _read_cmdline_as(uid: int, pid: int) -> str:
    """/proc/<pid>/cmdline as another local user reads it (`ps`)."""
    code = (
        f"import os; os.setgroups([]); os.setgid({uid}); os.setuid({uid}); "
        f"print(open('/proc/{pid}/cmdline').read())"
    )
    res = subprocess.run(
        ["python3", "-c", code], capture_output=True, text=True, timeout=10, check=False
    )
    return res.stdout + res.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="reading as another user needs root to switch")
def test_status_says_truly_whether_another_user_sees_ffmpegs_arguments(
    ctx: Context, admin: TestClient, tmp_path: Path
) -> None:
    server, port = _silent_camera()
    url = f"rtsp://admin:{quote(SECRET, safe='')}@127.0.0.1:{port}/cam"
    proc = process.spawn(record_command(url, tmp_path, segment_seconds=2))
    try:
        wait_for(
            "ffmpeg to start",
            lambda: "ffmpeg" in Path(f"/proc/{proc.pid}/cmdline").read_text(),
            timeout=10,
            every=0.1,
        )
        seen = _read_cmdline_as(65534, proc.pid)  # nobody
    finally:
        process.terminate(proc, 2)
        server.close()
    in_force = admin.get(f"{API}/status").json()["process_arguments"]
    assert in_force == process.argv_protection()
    visible = bool(_leaks(seen, SECRET))
    assert visible == (in_force == "none"), (in_force, seen[:200])
    text = _flat(CliRunner().invoke(app, ["status", "--data", str(ctx.data.root)]).output)
    if in_force == "none":
        assert "readable by every local user" in text and "hidepid" in text
    else:
        assert f"hidden from other users ({in_force})" in text
