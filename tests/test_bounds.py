"""Hostile input, the data half (issue 11 §3): times from outside in one range, refused in the
user's language with nothing stored or recorded; every renderer of stored data total; path
ids bounded on pages; approval documents served under a name and type found in their bytes.
Through the real HTTP service and the CLI, on SQLite and PostgreSQL (the `ctx` fixture)."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select
from typer.testing import CliRunner

from custodes.adapters.db import schema
from custodes.clock import iso
from custodes.domain.camera import CameraSpec
from custodes.domain.roles import Role
from custodes.entrypoints.cli import app as cli
from custodes.entrypoints.web.app import create_app
from custodes.entrypoints.web.deps import CSRF_HEADER
from custodes.entrypoints.web.pages import TEMPLATES
from custodes.services import access, documents, ledger
from custodes.services import cameras as camera_service
from custodes.services.context import Context

from .grant_setup import PDF, Person, organisation, person
from .test_cli_language import run as run_cli

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
    said = detail[0]["msg"]
    # the message names the field by its label first (invalid.py): "开始时间：…", "Start time: …"
    assert detail[0]["loc"] == loc and said.endswith(msg) and said != msg, detail
    label = detail[0]["field"]
    assert said.removesuffix(msg) in (f"{label}：", f"{label}: "), detail


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
    _refusal(res, ["body", "end"], "须晚于 开始时间")
    # without Accept-Language the UI's default language, Chinese
    res = c.post(f"{API}/holds", json={**body, **good, "start": YEAR_ONE})
    _refusal(res, ["body", "start"], RANGE_ZH)
    assert _count(world.ctx, schema.holds) == holds
    assert _count(world.ctx, schema.ledger) == entries
    assert c.get(f"{API}/holds").status_code == 200
    assert c.post(f"{API}/holds", json={**body, **good}).status_code == 201


def test_register_filters_out_of_range_are_refused_unrecorded(world: World) -> None:
    """The register's from/to are times from outside like any other: the one range, a 422 in
    the user's language, and no register export recorded for a refused CSV or PDF."""
    c = world.login(world.manager)
    entries = _count(world.ctx, schema.ledger)
    for path in ("/register", "/register.csv", "/register.pdf"):
        for params, bad, headers, text in (
            ({"from": YEAR_ONE}, "from", EN, RANGE_EN),
            ({"to": FAR}, "to", ZH, RANGE_ZH),
        ):
            res = c.get(f"{API}{path}", params=params, headers=headers)
            _refusal(res, ["query", bad], text)
    assert _count(world.ctx, schema.ledger) == entries


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
    # the language is chosen once per process (entrypoints/cli_i18n.py): Chinese in its own
    zh = run_cli("zh_CN.UTF-8", *hold, "--from", "2025-11-24T08:00:00Z", "--to", FAR)
    assert zh.returncode == 2, zh.stderr
    assert "须在 1970-01-01 至 2200-01-01" in zh.stderr.replace("\n", "")
    res = runner.invoke(
        cli, ["recordings", "delete", "gate", "--from", FAR, "--to", FAR_END, *data]
    )
    assert res.exit_code == 2, res.output
    res = runner.invoke(cli, ["ledger", "export", "--since", YEAR_ONE, *data])
    assert res.exit_code == 2 and "--since" in res.output, res.output
    res = runner.invoke(
        cli, [*hold, "--from", "2025-11-24T08:00:00", "--to", FAR_END], env=EN_LOCALE
    )
    # a time without a zone is the site's (read, not refused): the absurd end is refused
    assert res.exit_code == 2 and "--to" in res.output and "2200" in res.output, res.output
    assert _count(ctx, schema.holds) == holds
    # a login is a ledger entry (the CLI checks the password); nothing else is
    with ctx.engine.connect() as conn:
        actions = conn.execute(
            select(schema.ledger.c.action).where(schema.ledger.c.seq > entries)
        ).scalars()
        assert not {ledger.HOLD_PLACED, ledger.DELETION_REFUSED} & set(actions)


# --- 2. every renderer of stored data is total ----------------------------------------------


def _store_hostile_rows(w: World) -> tuple[int, int]:
    """Rows as an earlier version (or a hand in the database) could have stored them: a hold
    at year 1 with a +23:59 offset, times at both ends of BIGINT, NULLs where allowed; a
    request, a grant, an export and an open alarm at the int64 edge. (request, grant) ids."""
    doc = documents.upload(w.ctx, w.officer.actor, "notice.pdf", PDF)
    with w.ctx.engine.begin() as conn:
        for kind, start, end, until in (
            ("case", YEAR_ONE_US, NOW, None),
            ("important", INT64_MIN, INT64_MAX, INT64_MIN),
            ("important", YEAR_ONE_US, YEAR_ONE_US + HOUR, None),
            ("case", INT64_MAX - 1, INT64_MAX, INT64_MAX),
        ):
            conn.execute(
                insert(schema.holds).values(
                    kind=kind,
                    camera_id=w.cam,
                    start_us=start,
                    end_us=end,
                    reason="stored before times were bounded",
                    created_by="account:earlier",
                    created_us=INT64_MIN,
                    until_us=until,
                )
            )
        rid = conn.execute(
            insert(schema.access_requests)
            .values(
                organisation_id=w.officer.actor.organisation_id,
                created_by=w.officer.account_id,
                created_us=INT64_MIN,
                jurisdiction="jilin",
                action="copy",
                basis="law-enforcement",
                purpose="stored",
                destination="evidence room",
                start_us=YEAR_ONE_US,
                end_us=INT64_MAX,
                document_id=doc.id,
                state="approved",
                submitted_us=INT64_MAX,
                decided_by=w.manager.account_id,
                decided_us=INT64_MAX,
            )
            .returning(schema.access_requests.c.id)
        ).scalar_one()
        conn.execute(insert(schema.request_cameras).values(request_id=rid, camera_id=w.cam))
        for who, at in ((w.officer, INT64_MIN), (w.officer2, INT64_MAX)):
            conn.execute(
                insert(schema.request_staff).values(
                    request_id=rid, account_id=who.account_id, work_id="B", signed_us=at
                )
            )
        gid = conn.execute(
            insert(schema.grants)
            .values(
                request_id=rid,
                action="copy",
                start_us=YEAR_ONE_US,
                end_us=INT64_MAX,
                granted_by=w.manager.account_id,
                granted_us=INT64_MIN,
                expires_us=INT64_MAX,
                revoked_by=w.manager.account_id,
                revoked_us=INT64_MAX,
                revoke_reason="stored",
            )
            .returning(schema.grants.c.id)
        ).scalar_one()
        for who in (w.officer, w.officer2):
            conn.execute(
                insert(schema.grant_scope).values(
                    grant_id=gid, account_id=who.account_id, camera_id=w.cam
                )
            )
        conn.execute(
            insert(schema.exports).values(
                id="20251124T160000Z-edge",
                grant_id=gid,
                camera_id=w.cam,
                start_us=INT64_MIN,
                end_us=INT64_MAX,
                covered_start_us=YEAR_ONE_US,
                covered_end_us=INT64_MAX,
                segments=0,
                bytes=0,
                manifest_sha256="0" * 64,
                created_by=w.officer.account_id,
                created_us=INT64_MAX,
            )
        )
        conn.execute(
            insert(schema.alarms).values(
                kind="integrity", camera_id=w.cam, message="stored", raised_us=INT64_MAX
            )
        )
    return int(rid), int(gid)


def test_stored_hostile_rows_render_everywhere(world: World) -> None:
    rid, gid = _store_hostile_rows(world)
    marked = f"{YEAR_ONE_US} µs since 1970 UTC"
    c = world.login(world.manager)
    res = c.get(f"{API}/holds")
    assert res.status_code == 200, res.text
    shown = res.json()
    assert len(shown) == 4 and shown[0]["start"] == marked and shown[0]["end"] == iso(NOW)
    assert shown[1]["start"] == f"{INT64_MIN} µs since 1970 UTC"
    assert shown[1]["until"] == "never"  # an important hold over the int64 edge: kept for good
    for path in (
        "/requests",
        f"/requests/{rid}",
        "/status",
        "/exports",
        "/exports/20251124T160000Z-edge",
        f"/cameras/{world.cam}/retention",
    ):
        res = c.get(f"{API}{path}")
        assert res.status_code == 200, (path, res.text)
    view = c.get(f"{API}/requests/{rid}").json()
    assert view["start"] == marked and view["grant"]["expires"] == f"{INT64_MAX} µs since 1970 UTC"
    for page in ("/live", "/cameras", f"/cameras/{world.cam}", "/requests", f"/requests/{rid}"):
        res = c.get(page)
        assert res.status_code == 200, (page, res.text)
        assert f'data-us="{INT64_MAX}"' in res.text  # the alarm's banner, on every page
    c = world.login(world.officer)
    for path in ("/grants", "/requests", f"/requests/{rid}", "/exports"):
        res = c.get(f"{API}{path}")
        assert res.status_code == 200, (path, res.text)
    for page in ("/grants", f"/grants/{gid}", "/requests", f"/requests/{rid}"):
        res = c.get(page)
        assert res.status_code == 200, (page, res.text)
    runner = CliRunner()
    data = ["--data", str(world.ctx.data.root)]
    listed = runner.invoke(cli, ["hold", "list", *data])
    assert listed.exit_code == 0 and "µs" in listed.output, listed.output
    listed = runner.invoke(cli, ["hold", "list", "--json", *data])
    assert listed.exit_code == 0, listed.output
    assert {h["start_us"] for h in json.loads(listed.output)} >= {YEAR_ONE_US, INT64_MIN}
    for command in (["status"], ["alarm", "list"], ["account", "list"]):
        res = runner.invoke(cli, [*command, *data])
        assert res.exit_code in (0, 1), (command, res.output)
        assert res.exception is None or isinstance(res.exception, SystemExit), (command, res)


def test_iso_is_total_and_exact() -> None:
    assert iso(0) == "1970-01-01T00:00:00.000Z"
    assert iso(-1) == "1969-12-31T23:59:59.999Z"
    assert iso(NOW + 999_999) == "2025-11-24T16:00:00.999Z"
    assert iso(-62_135_596_800_000_000) == "0001-01-01T00:00:00.000Z"  # four digits, ISO 8601
    for value in (YEAR_ONE_US, INT64_MIN, INT64_MAX, 10**30):
        assert iso(value) == f"{value} µs since 1970 UTC"


def test_the_page_script_renders_any_stored_time(tmp_path: Path) -> None:
    """static/app.js formats every <time data-us>; one beyond what a JS Date holds (the int64
    edge) used to throw and leave the rest of the page unrendered. Node comes from
    debian-packages.txt (`nodejs`): without it this fails, it is never skipped."""
    node = shutil.which("node")
    assert node is not None, "node is missing: `make setup` installs Debian's nodejs"
    script = TEMPLATES.parent / "static" / "app.js"
    runner = tmp_path / "run.mjs"
    runner.write_text(
        textwrap.dedent(
            f"""
            const times = ["{INT64_MAX}", "{INT64_MIN}", "{NOW}"].map((us) => ({{
              dataset: {{ us }}, textContent: "" }}));
            globalThis.document = {{
              getElementById: (id) => (id === "strings" ? {{ textContent: "{{}}" }} : null),
              body: {{ dataset: {{ timezone: "Asia/Shanghai" }} }},
              documentElement: {{ lang: "en" }},
              querySelectorAll: (q) => (q === "time[data-us]" ? times : []),
              cookie: "",
            }};
            await import({json.dumps(script.as_uri())});
            console.log(JSON.stringify(times.map((t) => t.textContent)));
            """
        )
    )
    out = subprocess.run([node, str(runner)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)
    assert shown[0] == f"({INT64_MAX} µs since 1970 UTC)"
    assert shown[1] == f"({INT64_MIN} µs since 1970 UTC)"
    assert "2025" in shown[2] and "µs" not in shown[2]


# --- 3. ids beyond 32 and 64 bits on pages and in the CLI -----------------------------------


@pytest.mark.parametrize("big", [str(2**31), str(2**63), str(10**30), "9" * 5000])
def test_page_ids_beyond_the_columns_are_404(world: World, big: str) -> None:
    c = world.login(world.manager)
    for page in (f"/cameras/{big}", f"/cameras/{big}/edit", f"/requests/{big}", f"/grants/{big}"):
        res = c.get(page)
        # beyond 4300 digits the path is no integer at all: FastAPI's own 422
        assert res.status_code == (404 if len(big) < 4300 else 422), (page, res.text[:200])
    for path in (f"/cameras/{big}", f"/requests/{big}", f"/documents/{big}", f"/holds/{big}"):
        res = c.get(f"{API}{path}")
        assert res.status_code in (404, 405, 422), (path, res.text[:200])
    res = CliRunner().invoke(cli, ["hold", "list", "--data", str(world.ctx.data.root)])
    assert res.exit_code == 0
    res = CliRunner().invoke(
        cli,
        [
            "recordings",
            "delete",
            big,
            "--from",
            "2025-11-24T08:00:00Z",
            "--to",
            "2025-11-24T09:00:00Z",
            "--data",
            str(world.ctx.data.root),
        ],
    )
    assert res.exit_code == 2 and "no camera" in res.output, res.output


def test_camera_refs_that_are_not_ascii_digits_are_names(world: World) -> None:
    for ref in ("²", "١", str(2**64), "9" * 5000):
        with pytest.raises(camera_service.CameraNotFound):
            camera_service.find_camera(world.ctx, ref)
    assert camera_service.find_camera(world.ctx, str(world.cam)).name == "gate"


# --- 4. approval documents: served under our name, as the type in their bytes ---------------

POLYGLOT = b"%PDF-1.4\n<html><script>alert(document.cookie)</script></html>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_a_document_is_served_as_the_type_in_its_bytes_under_our_name(world: World) -> None:
    c = world.login(world.officer)
    up = c.post(f"{API}/documents", files={"file": ("notice.html", POLYGLOT, "text/html")})
    assert up.status_code == 201, up.text
    doc = up.json()
    assert doc["media_type"] == "application/pdf" and doc["filename"] == "notice.html"
    res = c.get(f"{API}/documents/{doc['id']}")
    assert res.status_code == 200 and res.content == POLYGLOT
    assert res.headers["content-type"] == "application/pdf"
    assert res.headers["content-disposition"] == f'attachment; filename="document-{doc["id"]}.pdf"'
    assert res.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in res.headers["content-security-policy"]
    png = c.post(f"{API}/documents", files={"file": ("scan.pdf", PNG, "application/pdf")}).json()
    res = c.get(f"{API}/documents/{png['id']}")
    assert res.headers["content-type"] == "image/png"
    assert res.headers["content-disposition"].endswith(f'filename="document-{png["id"]}.png"')
    for refused in (b"<html><script>alert(1)</script>", b"GIF89a\x01\x00", b"\x00%PDF-1.4"):
        res = c.post(f"{API}/documents", files={"file": ("a.pdf", refused, "application/pdf")})
        assert res.status_code == 422, res.text
        assert res.json()["detail"][0]["loc"] == ["body", "document"]


def test_a_documents_recorded_name_is_cleaned(world: World) -> None:
    c = world.login(world.officer)
    for given, kept in (
        ("evil\u202efdp.html", "evilfdp.html"),
        ("C:\\Users\\x\\通知书.pdf", "通知书.pdf"),
        ("../../etc/pass\x1bwd\x7f.pdf", "passwd.pdf"),
        ("\x1b\x7f\u200b", "document"),
        ("a" * 500 + ".pdf", "a" * 200),
    ):
        up = c.post(f"{API}/documents", files={"file": (given, PDF, "application/pdf")})
        assert up.status_code == 201, up.text
        assert up.json()["filename"] == kept, given
    # the test client percent-encodes C0 controls but ESC in a multipart name; raw ones go too
    assert documents.clean_name("a\r\n\x00\tb\u2028.pdf") == "ab.pdf"


def test_a_stored_document_whose_file_is_gone_or_altered_is_404(world: World) -> None:
    ctx = world.ctx
    doc = documents.upload(ctx, world.officer.actor, "n.pdf", PDF)
    other = documents.upload(ctx, world.officer.actor, "p.png", PNG)
    with ctx.engine.begin() as conn:
        bad = conn.execute(
            insert(schema.documents)
            .values(
                sha256="../../../etc/passwd",
                filename="x.html",
                media_type="text/html",
                bytes=1,
                organisation_id=world.officer.actor.organisation_id,
                uploaded_by=world.officer.account_id,
                uploaded_us=NOW,
            )
            .returning(schema.documents.c.id)
        ).scalar_one()
    # the PNG's file replaced by one that is no image (as root could): served nowhere
    other.path.chmod(0o644)
    other.path.write_bytes(b"<html>")
    c = world.login(world.officer)
    for doc_id in (bad, other.id):
        res = c.get(f"{API}/documents/{doc_id}")
        assert res.status_code == 404, res.text
    assert c.get(f"{API}/documents/{doc.id}").status_code == 200
    doc.path.chmod(0o644)
    doc.path.unlink()
    assert c.get(f"{API}/documents/{doc.id}").status_code == 404
    with pytest.raises(access.NotFound):
        documents.get(ctx, world.officer.actor, doc.id, read_all=False)
