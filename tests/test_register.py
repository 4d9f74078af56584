"""The access register: a view of the ledger joined with requests, grants, staff, documents.

The rows are made the way the product makes them: requests filed, signed, submitted, approved,
rejected and revoked through services/access/ (tests/grant_setup.py), a refused playback
through services/grants.py; the playback and export entries, whose producers are elsewhere,
are written with the details those producers record (services/ledger.py: request, grant,
camera, start_us, end_us, export).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from custodes.adapters.db import schema
from custodes.domain.access_rules import Action, Basis
from custodes.domain.camera import CameraSpec
from custodes.domain.roles import Role
from custodes.entrypoints import register_files as register_pdf
from custodes.entrypoints.web.app import create_app
from custodes.entrypoints.web.deps import CSRF_HEADER
from custodes.services import access, documents, grants, ledger, register
from custodes.services import cameras as camera_service
from custodes.services.context import Context

from .grant_setup import PASSWORD, PDF, GrantSetup, Person, approved_grant, organisation, person

HOUR = 3_600_000_000
COURT = "区人民法院 District People's Court"


@dataclass
class World:
    cam1: int
    cam2: int
    start_us: int
    end_us: int
    psb: GrantSetup  # copy of cam1+cam2, approved
    court_id: int
    court_officers: list[Person]
    court_request: int
    court_grant: int  # view of cam2, approved then revoked
    rejected_request: int  # a second PSB request, rejected
    second_manager: Person
    auditor: Person
    operator: Person
    seqs: dict[str, int]  # the ledger seq of each entry written by hand


def _ledger_seq(ctx: Context) -> int:
    return ledger.current_head(ctx)[0]


def _court_request(
    ctx: Context, officers: list[Person], cam: int, start_us: int, end_us: int
) -> int:
    doc = documents.upload(ctx, officers[0].actor, "法院调取函.pdf", PDF)
    request_id = access.create_request(
        ctx,
        officers[0].actor,
        access.NewRequest(
            camera_ids=(cam,),
            start_us=start_us,
            end_us=end_us,
            action=Action.VIEW,
            basis=Basis.JUDICIAL,
            purpose="民事案件审理 civil trial",
            document_id=doc.id,
        ),
    )
    for officer in officers:
        access.sign(ctx, officer.actor, request_id, _work_id(ctx, officer.account_id))
    access.submit(ctx, officers[0].actor, request_id)
    return request_id


@pytest.fixture
def world(ctx: Context) -> World:
    cam1 = camera_service.add_camera(
        ctx, CameraSpec(name="大门 Gate", url="rtsp://h/1", place="gate")
    ).id
    cam2 = camera_service.add_camera(
        ctx, CameraSpec(name="停车场 Car park", url="rtsp://h/2", place="car park")
    ).id
    now = ctx.clock()
    start, end = now - 3 * HOUR, now - 2 * HOUR
    psb = approved_grant(ctx, camera_ids=[cam1, cam2], start_us=start, end_us=end)
    seqs: dict[str, int] = {}
    a, b = psb.holders

    # playback and a copy under the PSB grant, as the media and export routes record them
    seqs["viewed"] = ledger.record_now(
        ctx,
        actor=ledger.account_actor(a.username),
        action=ledger.MEDIA_VIEWED,
        object=f"camera:{cam1}",
        details={
            "request": psb.request_id,
            "grant": psb.grant.id,
            "camera": cam1,
            "start_us": start + 60_000_000,
            "end_us": start + 120_000_000,
        },
    )
    for action, key in ((ledger.EXPORT_CREATED, "exported"), (ledger.EXPORT_DOWNLOADED, "dl")):
        seqs[key] = ledger.record_now(
            ctx,
            actor=ledger.account_actor(b.username),
            action=action,
            object=f"camera:{cam1}",
            details={
                "request": psb.request_id,
                "grant": psb.grant.id,
                "export": "e0123456789abcdef",
                "camera": cam1,
                "start_us": start,
                "end_us": start + 600_000_000,
                "manifest": "0" * 64,
            },
        )

    # a court: view of cam2, approved by a second manager, then revoked
    court_id = organisation(ctx, COURT, "judicial")
    court_officers = [
        person(ctx, Role.EXTERNAL_OFFICER, court_id, work_id=f"法{i:04d}") for i in (1, 2)
    ]
    court_request = _court_request(ctx, court_officers, cam2, start, end)
    second_manager = person(ctx, Role.SECURITY_MANAGER, username="manager-two")
    court_grant = access.approve(ctx, second_manager.actor, court_request)
    access.revoke(ctx, psb.manager.actor, court_grant, reason="案件已撤诉 case withdrawn")

    # the court officer then asks for cam1, which no grant of theirs covers: refused, recorded
    with pytest.raises(grants.NoGrant):
        grants.require(
            ctx,
            account_id=court_officers[0].account_id,
            username=court_officers[0].username,
            camera_id=cam1,
            start_us=start,
            end_us=end,
            need=Action.VIEW,
        )
    seqs["denied"] = _ledger_seq(ctx)

    # a second PSB request, rejected
    doc = documents.upload(ctx, a.actor, "second.pdf", PDF + b"2")
    rejected = access.create_request(
        ctx,
        a.actor,
        access.NewRequest(
            camera_ids=(cam2,),
            start_us=start,
            end_us=end,
            action=Action.VIEW,
            basis=Basis.LAW_ENFORCEMENT,
            purpose="巡查 patrol",
            document_id=doc.id,
        ),
    )
    for officer in psb.holders:
        with ctx.engine.connect() as conn:
            work_id = conn.execute(
                select(schema.accounts.c.work_id).where(schema.accounts.c.id == officer.account_id)
            ).scalar_one()
        access.sign(ctx, officer.actor, rejected, work_id)
    access.submit(ctx, a.actor, rejected)
    access.reject(ctx, psb.manager.actor, rejected, note="理由不足 insufficient reason")

    # a playback from before grants existed: no request, no grant
    seqs["old"] = ledger.record_now(
        ctx,
        actor=ledger.account_actor("admin"),
        action=ledger.MEDIA_VIEWED,
        object=f"camera:{cam2}",
        details={"start_us": start, "end_us": start + HOUR // 2, "segments": 3},
    )
    return World(
        cam1=cam1,
        cam2=cam2,
        start_us=start,
        end_us=end,
        psb=psb,
        court_id=court_id,
        court_officers=court_officers,
        court_request=court_request,
        court_grant=court_grant,
        rejected_request=rejected,
        second_manager=second_manager,
        auditor=person(ctx, Role.AUDITOR),
        operator=person(ctx, Role.DUTY_OPERATOR),
        seqs=seqs,
    )


def _all(ctx: Context, **filters: Any) -> list[register.RegisterRow]:
    return register.rows(ctx, limit=1000, **filters)


def _one(rows: list[register.RegisterRow], kind: str, **where: Any) -> register.RegisterRow:
    found = [
        r for r in rows if r.kind == kind and all(getattr(r, k) == v for k, v in where.items())
    ]
    assert len(found) == 1, (kind, where, [(r.seq, r.kind, r.request_id) for r in rows])
    return found[0]


def _work_id(ctx: Context, account_id: int) -> str:
    with ctx.engine.connect() as conn:
        return str(
            conn.execute(
                select(schema.accounts.c.work_id).where(schema.accounts.c.id == account_id)
            ).scalar_one()
        )


# --- the service -----------------------------------------------------------------------------


def test_register_rows_carry_every_column(ctx: Context, world: World) -> None:
    rows = _all(ctx)
    assert {r.kind for r in rows} == set(register.KINDS)
    assert [r.seq for r in rows] == sorted(r.seq for r in rows)
    psb, (a, b) = world.psb, world.psb.holders
    doc_sha = hashlib.sha256(PDF).hexdigest()

    approved = _one(rows, ledger.REQUEST_APPROVED, request_id=psb.request_id)
    assert approved.approved_by is not None and approved.acted_by is not None
    assert approved.approved_by.username == psb.manager.username
    assert approved.approved_by.name == psb.manager.username.title()
    assert approved.recorded_by is None  # an approval records or copies nothing
    assert [(p.username, p.work_id) for p in approved.retrieved_by] == [
        (a.username, _work_id(ctx, a.account_id)),
        (b.username, _work_id(ctx, b.account_id)),
    ]
    assert all(p.work_id and p.work_id.startswith("警") for p in approved.retrieved_by)
    assert approved.organisation == "市公安局 City Public Security Bureau"
    assert approved.organisation_kind == "public-security"
    assert [(c.id, c.name) for c in approved.cameras] == [
        (world.cam1, "大门 Gate"),
        (world.cam2, "停车场 Car park"),
    ]
    assert (approved.footage_start_us, approved.footage_end_us) == (world.start_us, world.end_us)
    assert approved.purpose == "案件侦查 case investigation"
    assert approved.basis == "law-enforcement"
    assert approved.destination == "市公安局刑侦支队 City PSB criminal investigation"
    assert approved.document == register.DocumentRef("调取证据通知书.pdf", doc_sha)
    assert approved.grant is not None
    assert (approved.grant.id, approved.grant.action) == (psb.grant.id, "copy")
    assert approved.grant.expires_us == psb.grant.expires_us
    assert approved.grant.revoked_us is None
    with ctx.engine.connect() as conn:
        stored = conn.execute(
            select(schema.ledger.c.hash).where(schema.ledger.c.seq == approved.seq)
        ).scalar_one()
    assert approved.hash == stored

    viewed = _one(rows, ledger.MEDIA_VIEWED, seq=world.seqs["viewed"])
    assert viewed.acted_by is not None and viewed.acted_by.username == a.username
    assert viewed.approved_by == approved.approved_by  # the manager who granted it
    assert viewed.recorded_by is None  # a playback copies nothing
    assert viewed.retrieved_by == approved.retrieved_by
    assert [c.id for c in viewed.cameras] == [world.cam1]
    assert viewed.footage_start_us == world.start_us + 60_000_000
    assert viewed.grant == approved.grant and viewed.purpose == approved.purpose

    exported = _one(rows, ledger.EXPORT_CREATED)
    assert exported.export_id == "e0123456789abcdef"
    assert exported.acted_by is not None and exported.acted_by.username == b.username
    assert exported.recorded_by is not None and exported.recorded_by.username == b.username
    assert exported.document == approved.document
    downloaded = _one(rows, ledger.EXPORT_DOWNLOADED)
    assert downloaded.export_id == exported.export_id

    court_approved = _one(rows, ledger.REQUEST_APPROVED, request_id=world.court_request)
    assert court_approved.approved_by is not None
    assert court_approved.approved_by.username == "manager-two"
    assert court_approved.organisation == COURT and court_approved.basis == "judicial"
    assert court_approved.destination is None  # a view goes nowhere
    revoked = _one(rows, ledger.GRANT_REVOKED)
    assert revoked.request_id == world.court_request
    assert revoked.approved_by is not None
    assert revoked.approved_by.username == psb.manager.username
    assert revoked.note == "案件已撤诉 case withdrawn"
    assert revoked.grant is not None and revoked.grant.revoked_us is not None
    assert [c.id for c in revoked.cameras] == [world.cam2]

    denied = _one(rows, ledger.ACCESS_DENIED)
    assert denied.seq == world.seqs["denied"]
    assert denied.recorded_by is None and denied.approved_by is None
    assert denied.grant is None and denied.request_id is None
    assert [p.username for p in denied.retrieved_by] == [world.court_officers[0].username]
    assert denied.organisation == COURT
    assert [c.id for c in denied.cameras] == [world.cam1]
    assert denied.note is not None and "no live grant" in denied.note

    rejected = _one(rows, ledger.REQUEST_REJECTED)
    assert rejected.request_id == world.rejected_request
    assert rejected.note == "理由不足 insufficient reason"
    assert rejected.grant is None and rejected.purpose == "巡查 patrol"
    assert len(rejected.retrieved_by) == 2

    old = _one(rows, ledger.MEDIA_VIEWED, seq=world.seqs["old"])
    assert old.grant is None and old.request_id is None and old.purpose is None
    assert [p.username for p in old.retrieved_by] == ["admin"]
    assert [c.id for c in old.cameras] == [world.cam2]


def test_register_filters(ctx: Context, world: World) -> None:
    everything = _all(ctx)
    by_seq = {r.seq: r for r in everything}

    def seqs(rows: list[register.RegisterRow]) -> set[int]:
        return {r.seq for r in rows}

    # a camera: entries naming it, and entries naming none whose request covers it
    cam1 = _all(ctx, camera_id=world.cam1)
    assert {(r.kind, r.request_id) for r in cam1} == {
        (ledger.REQUEST_APPROVED, world.psb.request_id),
        (ledger.MEDIA_VIEWED, world.psb.request_id),
        (ledger.EXPORT_CREATED, world.psb.request_id),
        (ledger.EXPORT_DOWNLOADED, world.psb.request_id),
        (ledger.ACCESS_DENIED, None),
    }
    cam2 = _all(ctx, camera_id=world.cam2)
    assert world.seqs["viewed"] not in seqs(cam2)  # a view of cam1 under a cam1+cam2 grant
    assert world.seqs["old"] in seqs(cam2)
    assert {r.request_id for r in cam2} == {
        world.psb.request_id,
        world.court_request,
        world.rejected_request,
        None,
    }

    court = _all(ctx, organisation_id=world.court_id)
    assert {r.kind for r in court} == {
        ledger.REQUEST_APPROVED,
        ledger.GRANT_REVOKED,
        ledger.ACCESS_DENIED,
    }
    assert all(r.organisation == COURT for r in court)

    refusals = _all(ctx, kinds=["refusals"])
    assert {r.kind for r in refusals} == set(register.REFUSAL_KINDS)
    assert seqs(_all(ctx, kinds=["access", "grant-revoked"])) == {
        r.seq for r in everything if r.kind in (*register.ACCESS_KINDS, ledger.GRANT_REVOKED)
    }
    with pytest.raises(register.BadFilter):
        _all(ctx, kinds=["request-created"])

    officer = world.psb.holders[0].username
    mine = _all(ctx, account=officer)
    assert {r.seq for r in mine} == {
        r.seq
        for r in everything
        if r.request_id in (world.psb.request_id, world.rejected_request)
        or r.actor == ledger.account_actor(officer)
    }

    # time: [from, to) on the ledger's time
    t = by_seq[world.seqs["viewed"]].time_us
    assert all(r.time_us >= t for r in _all(ctx, start_us=t))
    assert all(r.time_us < t for r in _all(ctx, end_us=t))
    assert len(_all(ctx, start_us=t)) + len(_all(ctx, end_us=t)) == len(everything)
    with pytest.raises(register.BadFilter):
        _all(ctx, start_us=t, end_us=t)

    # pages
    first = register.rows(ctx, limit=3)
    second = register.rows(ctx, limit=3, offset=3)
    assert [r.seq for r in first + second] == [r.seq for r in everything[:6]]
    newest = register.rows(ctx, limit=2, newest_first=True)
    assert [r.seq for r in newest] == [r.seq for r in everything[::-1][:2]]
    with pytest.raises(register.BadFilter):
        register.rows(ctx, limit=1001)


def test_a_page_costs_a_fixed_number_of_queries(ctx: Context, world: World) -> None:
    # more rows of every kind: the number of statements must not grow with them
    for _ in range(20):
        ledger.record_now(
            ctx,
            actor=ledger.account_actor(world.psb.holders[0].username),
            action=ledger.MEDIA_VIEWED,
            object=f"camera:{world.cam1}",
            details={
                "request": world.psb.request_id,
                "grant": world.psb.grant.id,
                "camera": world.cam1,
                "start_us": world.start_us,
                "end_us": world.end_us,
            },
        )
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(ctx.engine, "before_cursor_execute", count)
    try:
        rows = _all(ctx)
    finally:
        event.remove(ctx.engine, "before_cursor_execute", count)
    assert len(rows) > 25
    assert len(statements) <= 8, statements  # ledger, requests, staff, cameras of requests,
    # grants, exports (who made a downloaded copy), accounts, camera names


def test_the_ledger_is_read_through_its_action_time_index(ctx: Context) -> None:
    filters = register.make_filters(start_us=1, end_us=2, camera_id=1, organisation_id=1)
    with ctx.engine.connect() as conn:
        query = register.entries_query(conn, filters).order_by(schema.ledger.c.seq).limit(5)
        if conn.dialect.name != "sqlite":
            assert conn.execute(query).all() == []  # PostgreSQL's planner chooses on its own
            return
        compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
        plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
    assert "INDEX ix_ledger_action_time (action=? AND time_us>? AND time_us<?)" in plan, plan


# --- CSV and PDF -----------------------------------------------------------------------------


def _pdf_text(data: bytes) -> str:
    """The text of an fpdf2 PDF: its content streams' strings, through the ToUnicode CMap."""
    cmap: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            cmap[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for lo, hi, dst in re.findall(
            rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
        ):
            base = int(dst, 16)
            for i, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                cmap[code] = chr(base + i)
    lines: list[str] = []
    for number in re.findall(rb"/Contents\s+(\d+) 0 R", data):  # the pages' content streams
        found = re.search(rb"(?:^|\n)" + number + rb" 0 obj\s*<<(.*?)>>\s*stream\r?\n", data, re.S)
        assert found is not None
        length = int(re.findall(rb"/Length\s+(\d+)", found.group(1))[0])
        raw = data[found.end() : found.end() + length]
        content = zlib.decompress(raw) if b"FlateDecode" in found.group(1) else raw
        for block in re.findall(rb"\bBT\b(.*?)\bET\b", content, re.S):
            codes = b"".join(_literal_strings(block))
            lines.append(
                "".join(
                    cmap.get(int.from_bytes(codes[i : i + 2], "big"), "")
                    for i in range(0, len(codes) - 1, 2)
                )
            )
    return "\n".join(lines)


_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}


def _literal_strings(content: bytes) -> Iterator[bytes]:
    i = 0
    while (i := content.find(b"(", i)) != -1:
        out = bytearray()
        depth, i = 1, i + 1
        while depth:
            c = content[i]
            if c == ord("\\"):
                nxt = content[i + 1]
                if nxt in _ESCAPES:
                    out.append(_ESCAPES[nxt])
                    i += 2
                elif ord("0") <= nxt <= ord("7"):
                    digits = re.match(rb"[0-7]{1,3}", content[i + 1 : i + 4])
                    assert digits is not None
                    out.append(int(digits.group(), 8) & 0xFF)
                    i += 1 + len(digits.group())
                else:
                    out.append(nxt)
                    i += 2
                continue
            depth += (c == ord("(")) - (c == ord(")"))
            if depth:
                out.append(c)
            i += 1
        yield bytes(out)


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as c:
        yield c


def _login(client: TestClient, who: Person | str) -> TestClient:
    username = who if isinstance(who, str) else who.username
    res = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert res.status_code == 200, res.text
    client.headers[CSRF_HEADER] = res.json()["csrf_token"]
    return client


def _exports(ctx: Context) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(schema.ledger.c.actor, schema.ledger.c.details)
            .where(schema.ledger.c.action == ledger.LEDGER_EXPORTED)
            .order_by(schema.ledger.c.seq)
        ).all()
    return [{"actor": r.actor, **json.loads(r.details)} for r in rows]


def test_csv_has_a_bom_bilingual_headers_and_every_row(
    ctx: Context, world: World, client: TestClient
) -> None:
    _login(client, world.auditor)
    listed = client.get("/api/v1/register", params={"limit": 1000}).json()
    res = client.get("/api/v1/register.csv")
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("text/csv")
    assert "attachment" in res.headers["content-disposition"]
    assert res.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))
    header, body = table[0], table[1:]
    for heading in (
        "登记时间 Time (Asia/Shanghai)",
        "录制人 Recorded or copied by",
        "审批人 Approved by",
        "调取人 Retrieved by",
        "工作证号 Work ID",
        "单位 Organisation",
        "事由 Purpose",
        "去向 Destination",
        "审批文件 Approval document",
        "授权编号 Grant",
        "条目哈希 Entry hash",
    ):
        assert heading in header
    assert len(body) == len(listed)
    col = {name: header.index(name) for name in header}
    approved = next(
        line
        for line in body
        if line[col["申请编号 Request"]] == str(world.psb.request_id)
        and line[col["类别 Event"]].startswith("审批登记")
    )
    a, b = world.psb.holders
    assert approved[col["调取人 Retrieved by"]] == f"{a.username.title()}; {b.username.title()}"
    assert approved[col["工作证号 Work ID"]] == (
        f"{_work_id(ctx, a.account_id)}; {_work_id(ctx, b.account_id)}"
    )
    assert approved[col["审批文件 Approval document"]] == "调取证据通知书.pdf"
    assert approved[col["条目哈希 Entry hash"]] == next(
        r["hash"] for r in listed if r["seq"] == int(approved[0])
    )
    (recorded,) = _exports(ctx)
    assert recorded["register"] is True and recorded["format"] == "csv"
    assert recorded["rows"] == len(body)
    assert (recorded["first_seq"], recorded["last_seq"]) == (int(body[0][0]), int(body[-1][0]))
    assert recorded["up_to_seq"] >= recorded["last_seq"]
    assert recorded["actor"] == ledger.account_actor(world.auditor.username)


def test_an_export_holds_the_ledger_as_it_stood(ctx: Context, world: World) -> None:
    pinned = register.extent(ctx, register.make_filters(), max_rows=1000)
    later = ledger.record_now(
        ctx,
        actor=ledger.account_actor(world.psb.holders[0].username),
        action=ledger.MEDIA_VIEWED,
        object=f"camera:{world.cam1}",
        details={"request": world.psb.request_id, "grant": world.psb.grant.id},
    )
    held = [r.seq for r in register.stream(ctx, pinned.filters)]
    assert later not in held and len(held) == pinned.rows
    assert (held[0], held[-1]) == (pinned.first_seq, pinned.last_seq)
    with pytest.raises(register.TooManyRows):
        register.extent(ctx, register.make_filters(), max_rows=pinned.rows)


def test_too_big_an_export_is_refused_unrecorded(
    ctx: Context, world: World, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custodes.entrypoints.web.routes import register as route

    monkeypatch.setattr(route, "MAX_PDF_ROWS", 2)
    _login(client, world.auditor)
    res = client.get("/api/v1/register.pdf", headers={"Accept-Language": "en"})
    assert res.status_code == 422 and "narrow the filters" in res.text
    res = client.get("/api/v1/register.pdf", headers={"Accept-Language": "zh"})
    assert res.status_code == 422 and "请缩小筛选范围" in res.text, res.text
    assert _exports(ctx) == []
    narrow = client.get("/api/v1/register.pdf", params=[("kind", "grant-revoked")])
    assert narrow.status_code == 200


def test_csv_cells_never_run_as_formulas() -> None:
    assert register_pdf._safe("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert register_pdf._safe("-1") == "'-1"
    assert register_pdf._safe("事由 = x") == "事由 = x"


def test_pdf_is_a_bilingual_register_tied_to_the_ledger(
    ctx: Context, world: World, client: TestClient
) -> None:
    manager = world.psb.manager
    _login(client, manager)
    res = client.get("/api/v1/register.pdf", params={"camera_id": world.cam1})
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == "application/pdf"
    data = res.content
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert b"/FontFile2" in data and b"WenQuanYi" in data  # the CJK font, embedded
    text = _pdf_text(data)
    (recorded,) = _exports(ctx)
    assert recorded["format"] == "pdf" and recorded["filters"]["camera_id"] == world.cam1
    head_seq, head_hash = ledger.current_head(ctx)
    for expected in (
        "公共安全视频图像信息调取登记表",
        "登记时间",
        "登记人",
        "录制人",
        "审批人",
        "调取人",
        "工作证号",
        "事由",
        "去向",
        "审批文件",
        "Approval document",
        "第 1 页 / 共 1 页",
        "Page 1 of 1",
        "Jilin Art. 21(3)",
        "本单位 Operating unit",
        "大门 Gate",
        "调取证据通知书.pdf",
        _work_id(ctx, world.psb.holders[0].account_id),
        f"This printout is ledger entry #{head_seq}",
        head_hash,
        "Security manager (signature)",
    ):
        assert expected in text, expected
    rows = _all(ctx, camera_id=world.cam1)
    assert f"#{rows[0].seq}–#{rows[-1].seq}" in text
    assert "巡查 patrol" not in text  # the rejected request was for cam2 only
    if shutil.which("pdftotext"):  # poppler, where installed: the same text by another reader
        out = subprocess.run(
            ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
        ).stdout.decode()
        assert "调取人" in out and head_hash in out


def test_pdf_of_many_rows_wraps_and_numbers_its_pages(ctx: Context, world: World) -> None:
    long_purpose = "因刑事案件侦查需要调取该时段录像以确认嫌疑人行踪 " * 6
    rows = _all(ctx) * 12
    rows = [replace(r, purpose=long_purpose, seq=i + 1) for i, r in enumerate(rows)]
    record = register.ExportRecord(999, "ab" * 32, ctx.clock())
    data = register_pdf.to_pdf(
        register_pdf.Printout(
            unit="测试单位 Test unit",
            article="Shenzhen Art. 24(3)",
            filters=[("摄像机 Camera", "1 大门 Gate")],
            printed_by="tester",
            timezone="Asia/Shanghai",
            rows=rows,
            record=record,
            checkpoint=(5, ctx.clock(), "k1"),
        )
    )
    text = _pdf_text(data)
    pages = int(re.findall(r"共 (\d+) 页", text)[0])
    assert pages > 2
    assert f"第 {pages} 页 / 共 {pages} 页" in text
    assert text.count("ab" * 32) == pages  # the ledger tie on every page
    assert text.count("Security manager (signature)") == 1


def test_empty_register_prints(ctx: Context) -> None:
    data = register_pdf.to_pdf(
        register_pdf.Printout(
            unit="本单位",
            article=None,
            filters=[],
            printed_by="a",
            timezone="Nowhere/Invalid",
            rows=[],
            record=register.ExportRecord(1, "0" * 64, ctx.clock()),
            checkpoint=None,
        )
    )
    assert "无记录 No entries" in _pdf_text(data)


# --- who may read it -------------------------------------------------------------------------


def test_security_manager_and_auditor_read_everything(
    ctx: Context, world: World, client: TestClient
) -> None:
    everything = [r.seq for r in _all(ctx)]
    for who in (world.auditor, world.psb.manager):
        _login(client, who)
        res = client.get("/api/v1/register", params={"limit": 1000})
        assert res.status_code == 200, res.text
        assert [r["seq"] for r in res.json()] == everything
    court = client.get("/api/v1/register", params={"organisation_id": world.court_id}).json()
    assert {r["organisation"] for r in court} == {COURT}
    refusals = client.get("/api/v1/register", params=[("kind", "refusals")]).json()
    assert {r["kind"] for r in refusals} == set(register.REFUSAL_KINDS)
    bad = client.get("/api/v1/register", params={"kind": "login"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "kind"]
    assert client.get("/api/v1/register", params={"limit": 1001}).status_code == 422
    assert _exports(ctx) == []  # reading is not recorded, exporting is


def test_json_row_shape(ctx: Context, world: World, client: TestClient) -> None:
    _login(client, world.auditor)
    rows = client.get(
        "/api/v1/register", params={"kind": "request-approved", "camera_id": world.cam1}
    ).json()
    (row,) = rows
    assert row["approved_by"]["username"] == world.psb.manager.username
    assert row["recorded_by"] is None
    assert [p["work_id"] for p in row["retrieved_by"]] == [
        _work_id(ctx, h.account_id) for h in world.psb.holders
    ]
    assert row["document"]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert row["grant"]["id"] == world.psb.grant.id and row["grant"]["action"] == "copy"
    assert row["footage_start"].endswith("Z") and row["time"].endswith("Z")
    assert [c["name"] for c in row["cameras"]] == ["大门 Gate", "停车场 Car park"]


def test_external_officer_sees_only_its_own_organisation(
    ctx: Context, world: World, client: TestClient
) -> None:
    officer = world.court_officers[0]
    _login(client, officer)
    res = client.get("/api/v1/register", params={"limit": 1000})
    assert res.status_code == 200, res.text
    rows = res.json()
    assert rows and {r["organisation_id"] for r in rows} == {world.court_id}
    assert {r["kind"] for r in rows} == {
        ledger.REQUEST_APPROVED,
        ledger.GRANT_REVOKED,
        ledger.ACCESS_DENIED,
    }
    own = client.get("/api/v1/register", params={"organisation_id": world.court_id})
    assert own.status_code == 200
    psb_org = world.psb.holders[0].actor.organisation_id
    other = client.get("/api/v1/register", params={"organisation_id": psb_org})
    assert other.status_code == 403
    csv_res = client.get("/api/v1/register.csv")
    assert csv_res.status_code == 200
    assert COURT in csv_res.content.decode("utf-8-sig")
    assert "市公安局" not in csv_res.content.decode("utf-8-sig")
    (recorded,) = _exports(ctx)
    assert recorded["filters"]["organisation_id"] == world.court_id


def test_other_roles_are_refused_and_strangers_must_log_in(
    ctx: Context, world: World, client: TestClient
) -> None:
    for path in ("/api/v1/register", "/api/v1/register.csv", "/api/v1/register.pdf"):
        assert client.get(path).status_code == 401
    _login(client, world.operator)
    for path in ("/api/v1/register", "/api/v1/register.csv", "/api/v1/register.pdf"):
        res = client.get(path)
        assert res.status_code == 403, (path, res.text)
        assert "register-read" in res.json()["detail"]
    assert _exports(ctx) == []


# --- 录制人员: who recorded or copied (Jilin Art. 21(3)) -----------------------------------------


def test_recorded_by_is_who_copied_and_approved_by_the_manager(
    ctx: Context, world: World, client: TestClient
) -> None:
    """Jilin Art. 21(3) registers "信息资料的录制人员、调取人员" — the staff who recorded or copied
    the footage and the staff who retrieved it (Liaoning Art. 14(4): "image information
    recording personnel"). The approving manager is neither: it is the approver (审批人), a
    column of its own. A copy's 录制人 is its exporter; its download's, whoever made that copy."""
    a, b = world.psb.holders
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        conn.execute(
            schema.exports.insert().values(
                id="e-made-by-a",
                grant_id=world.psb.grant.id,
                camera_id=world.cam1,
                start_us=world.start_us,
                end_us=world.start_us + 60_000_000,
                covered_start_us=world.start_us,
                covered_end_us=world.start_us + 60_000_000,
                segments=1,
                bytes=1,
                manifest_sha256="0" * 64,
                created_by=a.account_id,
                created_us=now,
            )
        )
    taken = ledger.record_now(
        ctx,
        actor=ledger.account_actor(b.username),
        action=ledger.EXPORT_DOWNLOADED,
        object=f"camera:{world.cam1}",
        details={
            "request": world.psb.request_id,
            "grant": world.psb.grant.id,
            "export": "e-made-by-a",
        },
    )
    rows = {r.seq: r for r in _all(ctx)}
    download = rows[taken]
    assert download.acted_by is not None and download.acted_by.username == b.username
    assert download.recorded_by is not None and download.recorded_by.username == a.username
    assert download.approved_by is not None
    assert download.approved_by.username == world.psb.manager.username
    _login(client, world.auditor)
    table = list(
        csv.reader(io.StringIO(client.get("/api/v1/register.csv").content.decode("utf-8-sig")))
    )
    col = {name: i for i, name in enumerate(table[0])}
    line = next(x for x in table[1:] if x[0] == str(taken))
    assert line[col["录制人账号 Recorded or copied by (account)"]] == a.username
    assert line[col["审批人账号 Approved by (account)"]] == world.psb.manager.username
    (json_row,) = [
        r
        for r in client.get("/api/v1/register", params={"limit": 1000}).json()
        if r["seq"] == taken
    ]
    assert json_row["recorded_by"]["username"] == a.username
    assert json_row["approved_by"]["username"] == world.psb.manager.username


# --- total over what is stored (issue 11, section 3) -----------------------------------------


def _hostile_entries(ctx: Context, world: World) -> dict[str, int]:
    """Entries whose details no producer writes today, stored the way every entry is: the
    register must show each of them, whatever the ledger holds."""
    far = int(datetime(9999, 12, 31, 22, tzinfo=UTC).timestamp()) * 1_000_000
    officer = ledger.account_actor(world.court_officers[0].username)
    long_text = "=cmd|' /C calc'!A0\x00\x1b[31m" + "长" * 20_000 + "\n" * 3_000 + "x" * 5_000
    seqs = {}
    # what /media?start=9999-12-31T22:00:00Z recorded: a refusal at the calendar's edge
    seqs["edge"] = ledger.record_now(
        ctx,
        actor=officer,
        action=ledger.ACCESS_DENIED,
        object=f"camera:{world.cam1}",
        details={
            "need": "view",
            "start_us": far,
            "end_us": far + HOUR,
            "reason": "no live grant of yours allows view of camera 1 from 9999-12-31T22:00Z",
        },
    )
    seqs["extremes"] = ledger.record_now(
        ctx,
        actor=officer,
        action=ledger.MEDIA_VIEWED,
        object="camera:99999999999999999999",
        details={
            "start_us": 2**63 - 1,
            "end_us": -(2**63),
            "request": 2**63 + 5,
            "grant": "7",
            "camera": 2**40,
            "export": ["x"],
            "note": {"a": 1},
        },
    )
    seqs["beyond"] = ledger.record_now(
        ctx,
        actor=ledger.account_actor(world.psb.holders[0].username),
        action=ledger.EXPORT_CREATED,
        object="export:x",
        details={
            "start_us": 10**30,
            "end_us": 10**30 + 1,
            "cameras": [2**31, -1, True, "1", world.cam1],
            "grant": 2**31,
            "request": world.psb.request_id,
            "export": "e" * 200,
            "note": long_text,
        },
    )
    seqs["odd"] = ledger.record_now(
        ctx,
        actor="system:recorder",
        action=ledger.EXPORT_DOWNLOADED,
        object="camera:x",
        details={"request": True, "export": "", "reason": "\r\n\t\x7f" * 2_000},
    )
    seqs["lines"] = ledger.record_now(
        ctx,
        actor=ledger.account_actor(world.psb.manager.username),
        action=ledger.GRANT_REVOKED,
        object="grant:1",
        details={"grant": -5, "reason": "line\n" * 5_000},
    )
    return seqs


def test_every_register_renderer_is_total_over_what_is_stored(
    ctx: Context, world: World, client: TestClient
) -> None:
    """Issue 11 §3: a refusal stored with /media?start=9999-12-31T22:00:00Z made register.csv
    break mid-stream and register.pdf answer 500 for good (the ledger cannot forget it).
    Entries with such values, stored directly, are rendered by the service, the JSON, the
    CSV (whole, every row), the PDF and the page."""
    seqs = _hostile_entries(ctx, world)
    rows = {r.seq: r for r in _all(ctx)}
    assert set(seqs.values()) <= set(rows)
    extremes = rows[seqs["extremes"]]
    assert extremes.cameras == () and extremes.request_id is None and extremes.grant is None
    assert rows[seqs["beyond"]].footage_start_us == 10**30  # kept as stored
    assert [c.id for c in rows[seqs["beyond"]].cameras] == [world.cam1]

    for who in (world.auditor, world.court_officers[0]):
        _login(client, who)
        listed = client.get("/api/v1/register", params={"limit": 1000})
        assert listed.status_code == 200, listed.text
        by_seq = {r["seq"]: r for r in listed.json()}
        edge = by_seq[seqs["edge"]]
        assert edge["footage_start"] == "9999-12-31T22:00:00.000Z"
        assert edge["footage_end"] == "9999-12-31T23:00:00.000Z"
        if who is world.auditor:  # the officer sees its own organisation's rows only
            far = by_seq[seqs["extremes"]]
            assert far["footage_start"] is None and far["footage_start_us"] == 2**63 - 1
            assert far["footage_end"] is None and far["footage_end_us"] == -(2**63)
            assert by_seq[seqs["beyond"]]["footage_start"] is None
        res = client.get("/api/v1/register.csv")
        assert res.status_code == 200
        table = list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))
        assert len(table) - 1 == len(listed.json())  # every row, none cut off
        line = next(x for x in table[1:] if x[0] == str(seqs["edge"]))
        assert "超出范围 out of range" in ",".join(line)  # 10000-01-01 in Asia/Shanghai
        pdf = client.get("/api/v1/register.pdf")
        assert pdf.status_code == 200, pdf.text
        assert pdf.content.startswith(b"%PDF-") and pdf.content.rstrip().endswith(b"%%EOF")
        assert client.get("/register").status_code == 200

    _login(client, world.auditor)
    text = _pdf_text(client.get("/api/v1/register.pdf").content)
    assert "超出范围 out of range" in text and "余见 CSV" in text
    csv_text = client.get("/api/v1/register.csv").content.decode("utf-8-sig")
    assert "\x00" not in csv_text and "\x1b" not in csv_text
    assert "'=cmd" in csv_text  # still no formula
    assert "长" * 20_000 in csv_text  # the CSV keeps every printable character


def test_filter_times_at_the_calendars_edge_are_refused_at_the_boundary(
    ctx: Context, world: World, client: TestClient
) -> None:
    """A filter at the calendar's edge (a valid ISO time whose local date is year 10000) is
    a time from outside like any other: refused with the one range (domain/instants.py), a
    422 naming the field, never a 500 and no register export recorded. (What is already
    stored at such times still prints: the test above.)"""
    _login(client, world.auditor)
    before = _ledger_seq(ctx)
    for path in ("/api/v1/register", "/api/v1/register.csv", "/api/v1/register.pdf"):
        res = client.get(path, params={"from": "9999-12-31T22:00:00Z"})
        assert res.status_code == 422, res.text
        assert res.json()["detail"][0]["loc"] == ["query", "from"]
    assert _ledger_seq(ctx) == before  # nothing recorded
