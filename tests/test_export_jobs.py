"""Export jobs (services/exports/jobs.py, routes/export_jobs.py): submitted, run by the web
server's worker with measured progress, recovered after a process dies mid-way — never
leaving half a bundle — failed with a ledger-recorded refusal when the grant is revoked
while queued, and hidden from other accounts. Real sealed footage, real ffmpeg, SQLite and
PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from custodes.adapters.bundle import PARTIAL_PREFIX
from custodes.adapters.db import schema
from custodes.clock import iso
from custodes.domain.roles import Role
from custodes.entrypoints.web.app import create_app
from custodes.services import access, exports, grants, ledger
from custodes.services.context import Context
from custodes.services.exports import jobs
from custodes.services.verify_export import verify_bundle

from .grant_setup import GrantSetup, Person, approved_grant, person
from .sealed import T0, Archive, seal_archive
from .web_client import log_in

SEC = 1_000_000
START, END = T0 + 2_500_000, T0 + 7_500_000  # segments 2..7 of seal_archive's 12


class World:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.archive: Archive = seal_archive(ctx)
        self.setup: GrantSetup = approved_grant(
            ctx, camera_ids=[self.archive.cam], start_us=T0 - 60 * SEC, end_us=T0 + 60 * SEC
        )

    @property
    def officer(self) -> Person:
        return self.setup.holders[0]

    def submit(self, start: int = START, end: int = END, watermark: bool = False) -> jobs.Job:
        o = self.officer
        return jobs.submit(
            self.ctx,
            grant_id=self.setup.grant.id,
            account_id=o.account_id,
            username=o.username,
            camera_id=self.archive.cam,
            start_us=start,
            end_us=end,
            watermark=watermark,
        )


@pytest.fixture
def world(ctx: Context) -> World:
    return World(ctx)


def _count(ctx: Context, table: Any, *where: Any) -> int:
    with ctx.engine.connect() as conn:
        query = select(func.count()).select_from(table)
        return int(conn.execute(query.where(*where) if where else query).scalar_one())


def _partials(ctx: Context) -> list[Path]:
    root = ctx.data.exports
    return [p for p in root.iterdir() if p.name.startswith(PARTIAL_PREFIX)] if root.exists() else []


def _verifies(ctx: Context, export_id: str) -> None:
    found = exports.get_export(ctx, export_id)
    failures = [str(f) for f in verify_bundle(found.path).findings if f.failure]
    assert failures == []


def _wait(what: str, ready: Callable[[], bool], timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s} s"
        time.sleep(0.1)


# Measured progress ------------------------------------------------------------------------------


@pytest.mark.parametrize("watermark", [False, True])
def test_create_exports_progress_is_measured_rises_and_reaches_the_total(
    world: World, watermark: bool
) -> None:
    """The reports come from the work itself (segments checked, ffmpeg's out_time of the clip
    and of the watermarked copy): more than one, never going back, the last the total, sent
    once the export is on record."""
    o = world.officer
    reports: list[tuple[int, int]] = []
    on_record: list[int] = []

    def report(done: int, total: int) -> None:
        reports.append((done, total))
        on_record.append(_count(world.ctx, schema.exports))

    result = exports.create_export(
        world.ctx,
        grant=world.setup.grant,
        account_id=o.account_id,
        username=o.username,
        camera_id=world.archive.cam,
        start_us=START,
        end_us=END,
        watermark=watermark,
        progress=report,
    )
    assert len(reports) >= 3, reports
    totals = {t for _, t in reports}
    assert len(totals) == 1
    dones = [d for d, _ in reports]
    assert dones == sorted(dones) and len(set(dones)) == len(dones), dones
    assert 0 < dones[0] < dones[-1] == reports[-1][1]
    assert on_record[-1] == 1 and on_record[:-1] == [0] * (len(on_record) - 1)
    _verifies(world.ctx, result.id)


# The lifecycle --------------------------------------------------------------------------------


def test_a_job_is_queued_run_and_its_export_is_on_record(world: World) -> None:
    job = world.submit()
    assert (job.state, job.progress, job.export_id, job.attempts) == (jobs.QUEUED, 0.0, None, 0)
    claimed = jobs.claim_next(world.ctx)
    assert claimed is not None and claimed.id == job.id and claimed.state == jobs.RUNNING
    assert claimed.attempts == 1 and claimed.started_us is not None
    assert jobs.claim_next(world.ctx) is None  # one job, taken

    asked: list[int] = []

    def go_on() -> bool:
        asked.append(1)
        return False

    done = jobs.run(world.ctx, claimed, should_stop=go_on)
    assert done.state == jobs.DONE and done.progress == 1.0 and done.export_id is not None
    assert done.progress_done == done.progress_total > 0 and done.finished_us is not None
    assert asked  # the stop was asked about at each report
    _verifies(world.ctx, done.export_id)
    assert exports.list_exports(world.ctx, grant_id=world.setup.grant.id)[0].id == done.export_id
    assert _partials(world.ctx) == []


def test_submit_refuses_up_front_what_the_export_would(world: World) -> None:
    with pytest.raises(exports.ExportError, match="at most 24 hours"):
        world.submit(START, START + 25 * 3600 * SEC)
    with pytest.raises(exports.ExportError, match="after its start"):
        world.submit(END, START)
    with pytest.raises(grants.NoGrant):
        world.submit(T0 - 120 * SEC, T0)  # outside the grant: refused, in the ledger
    stranger = person(world.ctx, Role.EXTERNAL_OFFICER)
    denied = _count(world.ctx, schema.ledger, schema.ledger.c.action == ledger.ACCESS_DENIED)
    with pytest.raises(grants.NoGrant):
        jobs.submit(
            world.ctx,
            grant_id=world.setup.grant.id,
            account_id=stranger.account_id,
            username=stranger.username,
            camera_id=world.archive.cam,
            start_us=START,
            end_us=END,
        )
    after = _count(world.ctx, schema.ledger, schema.ledger.c.action == ledger.ACCESS_DENIED)
    assert after == denied + 1
    assert _count(world.ctx, schema.export_jobs) == 0


def test_a_grant_revoked_while_queued_fails_the_job_with_a_recorded_refusal(
    world: World,
) -> None:
    job = world.submit()
    manager = world.setup.manager
    access.revoke(world.ctx, manager.actor, world.setup.grant.id, reason="case closed")
    denied = ledger.ACCESS_DENIED
    before = _count(world.ctx, schema.ledger, schema.ledger.c.action == denied)
    claimed = jobs.claim_next(world.ctx)
    assert claimed is not None
    failed = jobs.run(world.ctx, claimed)
    assert failed.state == jobs.FAILED and failed.export_id is None
    assert failed.error_msgid == grants.NO_GRANT
    assert failed.error_params["camera"] == str(world.archive.cam)
    assert _count(world.ctx, schema.ledger, schema.ledger.c.action == denied) == before + 1
    with world.ctx.engine.connect() as conn:
        entry = conn.execute(
            select(schema.ledger.c.actor, schema.ledger.c.object)
            .where(schema.ledger.c.action == denied)
            .order_by(schema.ledger.c.seq.desc())
            .limit(1)
        ).one()
    assert entry.actor == ledger.account_actor(world.officer.username)
    assert entry.object == f"camera:{world.archive.cam}"
    assert _count(world.ctx, schema.exports) == 0 and _partials(world.ctx) == []
    assert jobs.get_job(world.ctx, job.id).state == jobs.FAILED


def test_one_account_cannot_queue_more_than_its_share(world: World) -> None:
    """The worker makes one export at a time, oldest first: a thousand jobs of one account
    would keep everyone else's waiting for days. Three queued or running at once; a fourth
    is refused (in the reader's language: the route's 409 says it) until one ends."""
    from custodes.entrypoints.web import invalid

    made = [world.submit() for _ in range(jobs.MAX_OPEN_PER_ACCOUNT)]
    with pytest.raises(exports.ExportError, match="at most 3 exports") as refused:
        world.submit()
    assert "最多 3 个" in invalid.sentence(str(refused.value), "zh")
    assert _count(world.ctx, schema.export_jobs) == jobs.MAX_OPEN_PER_ACCOUNT
    claimed = jobs.claim_next(world.ctx)
    assert claimed is not None and claimed.id == made[0].id
    assert jobs.run(world.ctx, claimed).state == jobs.DONE
    assert world.submit().state == jobs.QUEUED  # one ended: room again


def test_a_grant_revoked_while_the_export_is_made_fails_it_with_a_recorded_refusal(
    world: World,
) -> None:
    """Revoked after the job started, while ffmpeg runs (minutes for a watermarked day): the
    commit finds the grant lapsed, makes nothing, and the refusal is in the ledger — it was
    not, the refusal being raised inside the transaction that rolled back."""
    job = world.submit()
    denied = ledger.ACCESS_DENIED
    before = _count(world.ctx, schema.ledger, schema.ledger.c.action == denied)
    revoked: list[bool] = []

    def revoke_once() -> bool:  # at the build's first progress report
        if not revoked:
            manager = world.setup.manager
            access.revoke(world.ctx, manager.actor, world.setup.grant.id, reason="case closed")
            revoked.append(True)
        return False

    claimed = jobs.claim_next(world.ctx)
    assert claimed is not None
    failed = jobs.run(world.ctx, claimed, should_stop=revoke_once)
    assert revoked and failed.state == jobs.FAILED and failed.export_id is None
    assert failed.error_msgid == (
        f"grant {world.setup.grant.id} was revoked or expired while the export was made"
    )
    assert _count(world.ctx, schema.ledger, schema.ledger.c.action == denied) == before + 1
    assert _count(world.ctx, schema.exports) == 0 and _partials(world.ctx) == []
    assert jobs.get_job(world.ctx, job.id).state == jobs.FAILED


def test_a_stop_mid_way_queues_the_job_again_and_leaves_nothing(world: World) -> None:
    """The worker stopping (the server shutting down) at a progress report: ffmpeg is
    stopped, the partial bundle removed, the job queued; the next run makes it whole."""
    world.submit(watermark=True)
    claimed = jobs.claim_next(world.ctx)
    assert claimed is not None
    asked: list[int] = []

    def stop_at_the_second_report() -> bool:
        asked.append(1)
        return len(asked) >= 2

    back = jobs.run(world.ctx, claimed, should_stop=stop_at_the_second_report)
    assert back.state == jobs.QUEUED and back.progress == 0.0 and back.started_us is None
    assert _count(world.ctx, schema.exports) == 0 and _partials(world.ctx) == []
    again = jobs.claim_next(world.ctx)
    assert again is not None and again.attempts == 1  # an orderly stop is not counted
    done = jobs.run(world.ctx, again)
    assert done.state == jobs.DONE and done.export_id is not None
    _verifies(world.ctx, done.export_id)


_HALTED_RUNNER = """
import sys, time
from pathlib import Path
from custodes.paths import DataDir
from custodes.services.context import open_context
from custodes.services.exports import jobs

ctx = open_context(DataDir(Path(sys.argv[1])), migrate=False)
real = jobs._reporter


def held(ctx_, job_id, should_stop):
    report = real(ctx_, job_id, should_stop)

    def and_hold(done, total):
        report(done, total)
        time.sleep(600)  # mid-way, until the test kills this process

    return and_hold


jobs._reporter = held
job = jobs.claim_next(ctx)
jobs.run(ctx, job)
"""


def test_a_process_killed_mid_job_leaves_no_half_bundle_and_the_restart_finishes_it(
    world: World, tmp_path: Path
) -> None:
    """Another process runs the job and is killed (SIGKILL, with its ffmpeg) once the job's
    row shows progress: the job is left running, a partial directory on disk and no export.
    Recovery at start queues it again, and its run makes the one export, whole; the partial
    directory is gone."""
    world.submit()
    script = tmp_path / "runner.py"
    script.write_text(_HALTED_RUNNER, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(script), str(world.ctx.data.root)],
        start_new_session=True,  # its own group: ffmpeg dies with it, as at a power cut
        env=dict(os.environ),
    )
    try:

        def mid_way() -> bool:
            assert proc.poll() is None, "the runner ended by itself"
            found = jobs.list_jobs(world.ctx)
            return bool(found) and found[0].state == jobs.RUNNING and found[0].progress_done > 0

        _wait("the job's first progress", mid_way)
    finally:
        with contextlib.suppress(ProcessLookupError):  # it ended by itself: the assertion says
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    left = jobs.list_jobs(world.ctx)[0]
    assert left.state == jobs.RUNNING and 0 < left.progress < 1
    assert _partials(world.ctx) != []  # half a bundle, never committed
    assert _count(world.ctx, schema.exports) == 0

    assert jobs.recover(world.ctx) == 1
    assert _partials(world.ctx) == []  # the dead process's half bundle, removed
    queued = jobs.get_job(world.ctx, left.id)
    assert queued.state == jobs.QUEUED and queued.progress == 0.0
    claimed = jobs.claim_next(world.ctx)
    assert claimed is not None and claimed.attempts == 2
    done = jobs.run(world.ctx, claimed)
    assert done.state == jobs.DONE and done.export_id is not None
    assert _count(world.ctx, schema.exports) == 1 and _partials(world.ctx) == []
    _verifies(world.ctx, done.export_id)


class _Crash(BaseException):
    """The process dying where it is (no handler of the run's sees it)."""


def _bundles(ctx: Context) -> list[Path]:
    return [p for p in ctx.data.exports.iterdir() if not p.name.startswith(PARTIAL_PREFIX)]


def _reporting(monkeypatch: pytest.MonkeyPatch, then: Callable[[int, int], None]) -> None:
    """The job's progress reports, each passed on and then given to `then`."""
    real = jobs._reporter

    def reporter(
        ctx: Context, job_id: int, should_stop: Callable[[], bool] | None
    ) -> Callable[[int, int], None]:
        report = real(ctx, job_id, should_stop)

        def and_then(done: int, total: int) -> None:
            report(done, total)
            then(done, total)

        return and_then

    monkeypatch.setattr(jobs, "_reporter", reporter)


def test_a_process_that_dies_once_the_export_is_on_record_never_makes_it_twice(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies just after the export's commit (its last progress report): the job
    is done with that export, so recovery at the next start finds nothing to run again; one
    request, one export, one bundle."""

    def die_at_the_end(done: int, total: int) -> None:
        if done >= total:
            raise _Crash

    _reporting(monkeypatch, die_at_the_end)
    job = world.submit()
    claimed = jobs.claim_next(world.ctx)
    assert claimed is not None
    with pytest.raises(_Crash):
        jobs.run(world.ctx, claimed)
    monkeypatch.undo()
    assert jobs.recover(world.ctx) == 0
    left = jobs.get_job(world.ctx, job.id)
    assert left.state == jobs.DONE and left.export_id is not None
    assert jobs.claim_next(world.ctx) is None
    assert _count(world.ctx, schema.exports) == 1
    assert [p.name for p in _bundles(world.ctx)] == [left.export_id]
    _verifies(world.ctx, left.export_id)


def test_a_failure_after_the_commit_does_not_fail_a_job_whose_export_is_on_record(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error once the export is committed (here its last progress write) is no failure of
    the job: a job shown failed while its export exists would be asked for again."""

    def fail_at_the_end(done: int, total: int) -> None:
        if done >= total:
            raise RuntimeError("after the commit")

    _reporting(monkeypatch, fail_at_the_end)
    world.submit()
    claimed = jobs.claim_next(world.ctx)
    assert claimed is not None
    ended = jobs.run(world.ctx, claimed)
    assert ended.state == jobs.DONE and ended.export_id is not None, ended
    assert ended.error_msgid is None and ended.progress == 1.0
    assert _count(world.ctx, schema.exports) == 1


def test_a_run_whose_job_was_queued_again_puts_no_export_on_record(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recovery queues the job again while a run still makes it (the run is taken for dead):
    that run's export is rolled back, its bundle removed, and the job left to the next run,
    which makes the one export."""
    recovered: list[int] = []

    def recovery_meanwhile(done: int, total: int) -> None:
        if not recovered:
            recovered.append(jobs.recover(world.ctx))

    _reporting(monkeypatch, recovery_meanwhile)
    job = world.submit()
    claimed = jobs.claim_next(world.ctx)
    assert claimed is not None
    ended = jobs.run(world.ctx, claimed)
    assert recovered == [1]
    assert ended.state == jobs.QUEUED and ended.export_id is None, ended
    assert _count(world.ctx, schema.exports) == 0 and _bundles(world.ctx) == []
    monkeypatch.undo()
    again = jobs.claim_next(world.ctx)
    assert again is not None and again.id == job.id
    done = jobs.run(world.ctx, again)
    assert done.state == jobs.DONE and _count(world.ctx, schema.exports) == 1


def test_recovery_leaves_the_jobs_this_process_still_runs(world: World) -> None:
    """The web server restarts a failed application in the same process: its new worker
    must not queue again the job an older worker of the process still runs."""
    job = world.submit()
    assert jobs.claim_next(world.ctx) is not None
    assert jobs.recover(world.ctx, running_here={job.id}) == 0
    assert jobs.get_job(world.ctx, job.id).state == jobs.RUNNING
    assert jobs.recover(world.ctx) == 1
    assert jobs.get_job(world.ctx, job.id).state == jobs.QUEUED


def test_a_job_whose_every_run_dies_is_failed_not_queued_for_ever(world: World) -> None:
    """An export that kills its process (memory, a crashing ffmpeg) must not start again with
    every start of the service, taking recording down each time: after MAX_ATTEMPTS runs that
    died it is failed, and says why. A stop in order is not counted."""
    job = world.submit()
    claimed = jobs.claim_next(world.ctx)
    assert claimed is not None
    stopped = jobs.run(world.ctx, claimed, should_stop=lambda: True)
    assert stopped.state == jobs.QUEUED and stopped.attempts == 0  # an orderly stop
    for died in range(1, jobs.MAX_ATTEMPTS):
        assert jobs.claim_next(world.ctx) is not None  # … and the process dies in the run
        assert jobs.recover(world.ctx) == 1
        again = jobs.get_job(world.ctx, job.id)
        assert (again.state, again.attempts) == (jobs.QUEUED, died)
    assert jobs.claim_next(world.ctx) is not None
    assert jobs.recover(world.ctx) == 1
    failed = jobs.get_job(world.ctx, job.id)
    assert failed.state == jobs.FAILED and failed.error_msgid == jobs.INTERRUPTED
    assert failed.error_params == {"attempts": str(jobs.MAX_ATTEMPTS)}
    assert jobs.claim_next(world.ctx) is None


def test_a_failure_is_recorded_by_its_msgid_and_parameters(world: World) -> None:
    world.submit(T0 + 30 * SEC, T0 + 40 * SEC)  # inside the grant, nothing recorded
    claimed = jobs.claim_next(world.ctx)
    assert claimed is not None
    failed = jobs.run(world.ctx, claimed)
    assert failed.state == jobs.FAILED
    assert failed.error_msgid is not None and "nothing recorded" in failed.error_msgid
    assert failed.error_params["start_us"] == str(T0 + 30 * SEC)
    assert _partials(world.ctx) == []


# HTTP and the worker ----------------------------------------------------------------------------


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.ctx)) as c:  # the lifespan runs the export worker
        yield c


def _body(world: World, **kw: object) -> dict[str, object]:
    return {
        "grant_id": world.setup.grant.id,
        "camera_id": world.archive.cam,
        "start": iso(START),
        "end": iso(END),
        "watermark": False,
        **kw,
    }


def _ended(client: TestClient, job_id: int) -> dict[str, Any]:
    last: dict[str, Any] = {}

    def ended() -> bool:
        res = client.get(f"/api/v1/exports/jobs/{job_id}")
        assert res.status_code == 200, res.text
        last.update(res.json())
        return last["state"] in ("done", "failed")

    _wait(f"export job {job_id}", ended)
    return last


def test_http_a_job_is_accepted_made_by_the_worker_and_listed(
    world: World, client: TestClient
) -> None:
    log_in(client, world.officer)
    res = client.post("/api/v1/exports/jobs", json=_body(world))
    assert res.status_code == 202, res.text
    job = res.json()
    assert job["state"] in ("queued", "running", "done") and job["grant_id"] == world.setup.grant.id
    assert job["requested_by"] == world.officer.username
    ended = _ended(client, job["id"])
    assert ended["state"] == "done" and ended["progress"] == 1.0 and ended["error"] is None
    listed = client.get("/api/v1/exports/jobs", params={"grant_id": world.setup.grant.id})
    assert [j["id"] for j in listed.json()] == [job["id"]]
    made = client.get(f"/api/v1/exports/{ended['export_id']}")
    assert made.status_code == 200 and made.json()["grant_id"] == world.setup.grant.id
    exported = client.get("/api/v1/exports", params={"grant_id": world.setup.grant.id}).json()
    assert [e["id"] for e in exported] == [ended["export_id"]]

    other = person(world.ctx, Role.EXTERNAL_OFFICER)
    log_in(client, other)
    assert client.get(f"/api/v1/exports/jobs/{job['id']}").status_code == 404
    assert client.get("/api/v1/exports/jobs/999999").status_code == 404
    assert client.get("/api/v1/exports/jobs").json() == []
    log_in(client, world.setup.manager)  # a security manager reads the register
    assert client.get(f"/api/v1/exports/jobs/{job['id']}").status_code == 200


def test_http_refusals_up_front_and_a_failure_in_the_readers_language(
    world: World, client: TestClient
) -> None:
    log_in(client, world.officer)
    outside = client.post("/api/v1/exports/jobs", json=_body(world, end=iso(T0 + 120 * SEC)))
    assert outside.status_code == 403 and "请提交调取申请" in outside.json()["detail"]
    long = client.post(
        "/api/v1/exports/jobs",
        json=_body(world, start=iso(T0 - 60 * SEC), end=iso(T0 + 25 * 3600 * SEC)),
    )
    assert long.status_code == 409 and "24" in long.json()["detail"]
    backwards = client.post(
        "/api/v1/exports/jobs", json=_body(world, start=iso(END), end=iso(START))
    )
    assert backwards.status_code == 422

    empty = client.post(
        "/api/v1/exports/jobs", json=_body(world, start=iso(T0 + 30 * SEC), end=iso(T0 + 40 * SEC))
    )
    assert empty.status_code == 202
    ended = _ended(client, empty.json()["id"])
    assert ended["state"] == "failed" and "没有录像" in ended["error"], ended
    assert "Z" not in ended["error"]  # the times in the site's zone
    english = client.get(
        f"/api/v1/exports/jobs/{ended['id']}", headers={"Accept-Language": "en"}
    ).json()
    assert english["error"].startswith("nothing recorded by camera"), english
    assert english["error_msgid"] == ended["error_msgid"]


def test_http_an_altered_archive_fails_the_job_said_in_either_language(
    world: World, client: TestClient
) -> None:
    """A failure the export states in English alone (services/exports/files.py) reaches the
    Chinese page in Chinese, its numbers kept; nothing is left behind."""
    target = world.archive.path(4)
    target.chmod(0o644)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    log_in(client, world.officer)
    res = client.post("/api/v1/exports/jobs", json=_body(world))
    assert res.status_code == 202, res.text
    ended = _ended(client, res.json()["id"])
    assert (
        ended["state"] == "failed"
        and "片段 4" in ended["error"]
        and "归档已被改动" in ended["error"]
    ), ended
    english = client.get(
        f"/api/v1/exports/jobs/{ended['id']}", headers={"Accept-Language": "en"}
    ).json()
    assert english["error"].startswith("segment 4 (") and "was altered" in english["error"]
    assert _count(world.ctx, schema.exports) == 0 and _partials(world.ctx) == []


def test_a_job_that_has_not_ended_cannot_be_dismissed_and_only_by_its_asker(
    world: World,
) -> None:
    job = world.submit()
    with pytest.raises(exports.ExportError, match="not ended"):
        jobs.dismiss(world.ctx, job.id, account_id=world.officer.account_id)
    claimed = jobs.claim_next(world.ctx)
    assert claimed is not None
    with pytest.raises(exports.ExportError, match="not ended"):
        jobs.dismiss(world.ctx, job.id, account_id=world.officer.account_id)
    done = jobs.run(world.ctx, claimed)
    with pytest.raises(jobs.NotYours):
        jobs.dismiss(world.ctx, job.id, account_id=world.setup.manager.account_id)
    assert jobs.list_jobs(world.ctx) == [done]
    gone = jobs.dismiss(world.ctx, job.id, account_id=world.officer.account_id)
    assert gone.dismissed_us is not None and gone.state == jobs.DONE
    assert jobs.list_jobs(world.ctx) == []
    assert jobs.list_jobs(world.ctx, dismissed=True) == [gone]
    again = jobs.dismiss(world.ctx, job.id, account_id=world.officer.account_id)
    assert again == gone  # once is enough: the time stays the first


def test_http_a_failed_job_is_dismissed_by_its_asker_and_kept(
    world: World, client: TestClient
) -> None:
    """A failed job's line stays on the grant page until its asker dismisses it: then the
    list leaves it out, the job itself is kept and still read by id. A job still running
    cannot be (409, in the reader's language); another account cannot (404, or 403 to a
    role that reads the jobs)."""
    log_in(client, world.officer)
    empty = client.post(
        "/api/v1/exports/jobs", json=_body(world, start=iso(T0 + 30 * SEC), end=iso(T0 + 40 * SEC))
    )
    assert empty.status_code == 202, empty.text
    failed = _ended(client, empty.json()["id"])
    assert failed["state"] == "failed" and failed["dismissed_us"] is None
    listed = client.get("/api/v1/exports/jobs", params={"grant_id": world.setup.grant.id})
    assert [j["id"] for j in listed.json()] == [failed["id"]]

    other = person(world.ctx, Role.EXTERNAL_OFFICER)
    log_in(client, other)
    assert client.post(f"/api/v1/exports/jobs/{failed['id']}/dismiss").status_code == 404
    log_in(client, world.setup.manager)  # reads every job, dismisses none but its own
    theirs = client.post(f"/api/v1/exports/jobs/{failed['id']}/dismiss")
    assert theirs.status_code == 403 and "只有提出该导出任务的账户" in theirs.json()["detail"]

    log_in(client, world.officer)
    res = client.post(f"/api/v1/exports/jobs/{failed['id']}/dismiss")
    assert res.status_code == 200, res.text
    assert res.json()["dismissed_us"] is not None and res.json()["state"] == "failed"
    assert client.get("/api/v1/exports/jobs").json() == []
    kept = client.get(f"/api/v1/exports/jobs/{failed['id']}")
    assert kept.status_code == 200 and kept.json()["error_msgid"] == failed["error_msgid"]

    with world.ctx.engine.begin() as conn:  # a job the worker runs (it takes queued ones only)
        running = conn.execute(
            insert(schema.export_jobs)
            .values(
                grant_id=world.setup.grant.id,
                camera_id=world.archive.cam,
                start_us=START,
                end_us=END,
                watermark=False,
                account_id=world.officer.account_id,
                username=world.officer.username,
                state=jobs.RUNNING,
                progress_done=1,
                progress_total=2,
                attempts=1,
                created_us=T0,
            )
            .returning(schema.export_jobs.c.id)
        ).scalar_one()
    refused = client.post(f"/api/v1/exports/jobs/{running}/dismiss")
    assert refused.status_code == 409 and "尚未结束" in refused.json()["detail"], refused.text
    english = client.post(
        f"/api/v1/exports/jobs/{running}/dismiss", headers={"Accept-Language": "en"}
    )
    assert english.json()["detail"].startswith("an export job that is queued or running")
    assert jobs.get_job(world.ctx, running).dismissed_us is None


def test_http_job_routes_need_a_session(client: TestClient) -> None:
    for method, path in [
        ("POST", "/api/v1/exports/jobs"),
        ("GET", "/api/v1/exports/jobs"),
        ("GET", "/api/v1/exports/jobs/1"),
        ("POST", "/api/v1/exports/jobs/1/dismiss"),
    ]:
        assert client.request(method, path).status_code == 401, (method, path)


def test_the_worker_recovers_at_start_and_makes_a_job_left_running(world: World) -> None:
    """A job a dead process left running is made by the next app's worker, at its start."""
    world.submit()
    assert jobs.claim_next(world.ctx) is not None  # running, and its process gone
    with TestClient(create_app(world.ctx)) as c:
        log_in(c, world.officer)
        ended = _ended(c, jobs.list_jobs(world.ctx)[0].id)
    assert ended["state"] == "done" and ended["attempts"] == 2
    assert _partials(world.ctx) == []
