"""Export jobs: an export asked for now and made in the background (docs/EXPORTS.md, "Export
jobs"). The row in `export_jobs` is the job: it survives the process, so a job asked for is
made even when the server restarts before or while it runs.

    queued ──claim──▶ running ──▶ done (export_id)
       ▲                 │  └───▶ failed (msgid, params)
       └──── recover ────┘  (a process that died, or stopped, with it running)

`submit` refuses up front what the synchronous export refuses before its work (the range, the
grant: a refusal is a ledger entry, as always); `run` checks the grant again, as the account,
when the job starts (create_export checks it once more at commit), and measures its progress.
A job that starts over starts from nothing: the build writes into a `.partial-*` directory
that is removed on failure and at the next export, and only a committed export exists.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, case, func, insert, select, update

from custodes.adapters import bundle
from custodes.adapters.db import schema
from custodes.adapters.db.engine import write_first
from custodes.domain.access_rules import Action
from custodes.services import grants
from custodes.services.context import Context
from custodes.services.exports.build import MAX_EXPORT_US, create_export
from custodes.services.exports.errors import ExportError, NothingRecorded
from custodes.services.exports.records import ExportResult

log = logging.getLogger(__name__)

J = schema.export_jobs

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATES = (QUEUED, RUNNING, DONE, FAILED)

# msgids (entrypoints/web/locale/*.po); create_export says the same of a range
BAD_RANGE = "the end of the range must be after its start"
TOO_LONG = "one export covers at most 24 hours: split the range"
FAILED_ON_SERVER = "the export failed on the server (its log says why): ask for it again"
INTERRUPTED = (
    "the export was cut off %(attempts)s times by the service stopping while it ran "
    "(its log says why): ask for it again"
)
# A job whose runs died this many times is failed, not queued again: an export that kills its
# process (memory, a crashing ffmpeg) would otherwise restart with the service for ever, and
# take recording down with it each time.
MAX_ATTEMPTS = 3

# How many jobs one account may have queued or running at once: the worker makes one export
# at a time, oldest first, so one account's thousand jobs would keep everyone else's waiting
# for days (and fill the exports volume down to the recording reserve).
MAX_OPEN_PER_ACCOUNT = 3
TOO_MANY = "at most %(n)s exports of yours can be queued or running at once: wait for one to finish"

NOT_ENDED = "an export job that is queued or running cannot be dismissed: it has not ended"
NOT_YOURS = "only the account that asked for an export job can dismiss it"

PROGRESS_EVERY_S = 0.5  # at most two progress writes a second: a poll each second sees it move
LIST_LIMIT = 100


class JobNotFound(LookupError):
    pass


class NotYours(PermissionError):
    pass


class Stopped(Exception):
    """The worker stops (the server shuts down): the running job goes back to the queue."""


@dataclass(frozen=True)
class Job:
    id: int
    grant_id: int
    camera_id: int
    start_us: int
    end_us: int
    watermark: bool
    account_id: int
    username: str
    state: str
    progress_done: int
    progress_total: int
    attempts: int
    created_us: int
    started_us: int | None
    finished_us: int | None
    export_id: str | None
    error_msgid: str | None
    error_params: dict[str, str]
    dismissed_us: int | None = None

    @property
    def progress(self) -> float:
        """Work done of the work in all, 0 to 1 (1 once done)."""
        if self.state == DONE:
            return 1.0
        if self.progress_total <= 0:
            return 0.0
        return min(1.0, self.progress_done / self.progress_total)


def _job(r: Any) -> Job:
    params = json.loads(r.error_params) if r.error_params else {}
    return Job(
        id=int(r.id),
        grant_id=int(r.grant_id),
        camera_id=int(r.camera_id),
        start_us=int(r.start_us),
        end_us=int(r.end_us),
        watermark=bool(r.watermark),
        account_id=int(r.account_id),
        username=str(r.username),
        state=str(r.state),
        progress_done=int(r.progress_done),
        progress_total=int(r.progress_total),
        attempts=int(r.attempts),
        created_us=int(r.created_us),
        started_us=None if r.started_us is None else int(r.started_us),
        finished_us=None if r.finished_us is None else int(r.finished_us),
        export_id=r.export_id,
        error_msgid=r.error_msgid,
        error_params={str(k): str(v) for k, v in params.items()},
        dismissed_us=None if r.dismissed_us is None else int(r.dismissed_us),
    )


def check_range(start_us: int, end_us: int) -> None:
    """The limits of one export, as create_export states them."""
    if end_us <= start_us:
        raise ExportError(BAD_RANGE)
    if end_us - start_us > MAX_EXPORT_US:
        raise ExportError(TOO_LONG)


def submit(
    ctx: Context,
    *,
    grant_id: int,
    account_id: int,
    username: str,
    camera_id: int,
    start_us: int,
    end_us: int,
    watermark: bool = False,
) -> Job:
    """Queue an export of [start_us, end_us) of one camera under the account's copy grant
    `grant_id`. Refused at once (ExportError, or grants.NoGrant recorded in the ledger) when
    the synchronous export would refuse it before any work, and when the account has
    MAX_OPEN_PER_ACCOUNT jobs queued or running already."""
    check_range(start_us, end_us)
    grants.require(
        ctx,
        account_id=account_id,
        username=username,
        camera_id=camera_id,
        start_us=start_us,
        end_us=end_us,
        need=Action.COPY,
        grant_id=grant_id,
    )
    with ctx.engine.begin() as conn:
        write_first(conn)  # the count and the insert as one: two submissions cannot both pass
        open_now = conn.execute(
            select(func.count())
            .select_from(J)
            .where(J.c.account_id == account_id, J.c.state.in_((QUEUED, RUNNING)))
        ).scalar_one()
        if open_now >= MAX_OPEN_PER_ACCOUNT:
            raise ExportError(TOO_MANY % {"n": MAX_OPEN_PER_ACCOUNT})
        job_id = conn.execute(
            insert(J)
            .values(
                grant_id=grant_id,
                camera_id=camera_id,
                start_us=start_us,
                end_us=end_us,
                watermark=watermark,
                account_id=account_id,
                username=username,
                state=QUEUED,
                progress_done=0,
                progress_total=0,
                attempts=0,
                created_us=ctx.clock(),
            )
            .returning(J.c.id)
        ).scalar_one()
    return get_job(ctx, int(job_id))


def get_job(ctx: Context, job_id: int) -> Job:
    with ctx.engine.connect() as conn:
        row = conn.execute(select(J).where(J.c.id == job_id)).first()
    if row is None:
        raise JobNotFound(f"no export job {job_id}")
    return _job(row)


def list_jobs(
    ctx: Context,
    *,
    account_id: int | None = None,
    grant_id: int | None = None,
    limit: int = LIST_LIMIT,
    dismissed: bool = False,
) -> list[Job]:
    """Newest first, at most `limit`; one account's (None: everyone's), under one grant
    (None: any); those dismissed by their askers only when `dismissed`."""
    query = select(J).order_by(J.c.created_us.desc(), J.c.id.desc()).limit(limit)
    if not dismissed:
        query = query.where(J.c.dismissed_us.is_(None))
    if account_id is not None:
        query = query.where(J.c.account_id == account_id)
    if grant_id is not None:
        query = query.where(J.c.grant_id == grant_id)
    with ctx.engine.connect() as conn:
        return [_job(r) for r in conn.execute(query)]


def dismiss(ctx: Context, job_id: int, *, account_id: int) -> Job:
    """The ended job (done or failed) out of its asker's list: the row stays, with when.
    Only its asker may (NotYours); a queued or running job cannot be (ExportError: it would
    go on unseen). Dismissing it again changes nothing."""
    job = get_job(ctx, job_id)
    if job.account_id != account_id:
        raise NotYours(NOT_YOURS)
    with ctx.engine.begin() as conn:
        ended = conn.execute(
            update(J)
            .where(J.c.id == job_id, J.c.state.in_((DONE, FAILED)), J.c.dismissed_us.is_(None))
            .values(dismissed_us=ctx.clock())
        )
    if not ended.rowcount:
        found = get_job(ctx, job_id)
        if found.dismissed_us is None:
            raise ExportError(NOT_ENDED)
        return found
    return get_job(ctx, job_id)


def recover(ctx: Context, running_here: Collection[int] = ()) -> int:
    """At start-up: the jobs a process left running (it died, or stopped mid-way) go back to
    the queue, to start over from nothing, and the partial bundles of processes that died are
    removed. Returns how many jobs. Only one process runs jobs (the `serve` that holds the
    data directory), so a running job found at its start is nobody's — but for the jobs of
    `running_here`: a worker of this process still runs them (the web server restarted its
    application while a job ran)."""
    if ctx.data.exports.is_dir():
        bundle.remove_stale_partials(ctx.data.exports)
    left = J.c.state == RUNNING
    if running_here:
        left = left & J.c.id.not_in(list(running_here))
    with ctx.engine.begin() as conn:
        dead = conn.execute(select(J.c.id, J.c.attempts).where(left)).all()
        for row in dead:
            if row.attempts >= MAX_ATTEMPTS:  # its every run died: fail it, say so
                values: dict[str, object] = {
                    "state": FAILED,
                    "finished_us": ctx.clock(),
                    "error_msgid": INTERRUPTED,
                    "error_params": json.dumps({"attempts": str(row.attempts)}),
                }
                log.warning(
                    "export job %s died in all %s of its runs: failed", row.id, row.attempts
                )
            else:
                values = {"state": QUEUED, "progress_done": 0, "progress_total": 0}
                values["started_us"] = None
            conn.execute(update(J).where(J.c.id == row.id, left).values(**values))
    return len(dead)


def claim_next(ctx: Context) -> Job | None:
    """The oldest queued job, now running (its attempt counted), or None. Looked for with a
    read alone: the worker asks every few seconds, and an idle poll takes no write lock."""
    with ctx.engine.connect() as conn:
        row = conn.execute(
            select(J.c.id).where(J.c.state == QUEUED).order_by(J.c.id).limit(1)
        ).first()
    if row is None:
        return None
    with ctx.engine.begin() as conn:  # the update first: it takes SQLite's write lock itself
        claimed = conn.execute(
            update(J)
            .where(J.c.id == row.id, J.c.state == QUEUED)
            .values(
                state=RUNNING,
                started_us=ctx.clock(),
                progress_done=0,
                progress_total=0,
                attempts=J.c.attempts + 1,
            )
        )
        if not claimed.rowcount:
            return None
    return get_job(ctx, int(row.id))


def run(ctx: Context, job: Job, should_stop: Callable[[], bool] | None = None) -> Job:
    """Make the export of a claimed job and record how it ended: done with its export, failed
    with why (a msgid and its parameters), or — `should_stop` true while it runs — back in the
    queue. The grant is checked again now, as the account (a refusal is a ledger entry).

    The job is marked done inside the transaction that puts its export on record, so a job
    has one export at most: a process that dies once the export is committed leaves the job
    done, not running to be made again, and nothing after the commit can fail it. Every other
    ending is written only while the job is still this run's (running, on this attempt)."""
    try:
        grant = grants.require(
            ctx,
            account_id=job.account_id,
            username=job.username,
            camera_id=job.camera_id,
            start_us=job.start_us,
            end_us=job.end_us,
            need=Action.COPY,
            grant_id=job.grant_id,
        )
        create_export(
            ctx,
            grant=grant,
            account_id=job.account_id,
            username=job.username,
            camera_id=job.camera_id,
            start_us=job.start_us,
            end_us=job.end_us,
            watermark=job.watermark,
            progress=_reporter(ctx, job.id, should_stop),
            in_commit=_done_with(ctx, job),
        )
    except Stopped:  # an orderly stop is no attempt that died (MAX_ATTEMPTS)
        _end(
            ctx,
            job,
            state=QUEUED,
            started_us=None,
            progress_done=0,
            progress_total=0,
            attempts=J.c.attempts - 1,
        )
    except _TakenAway:
        log.warning("export job %s was queued again while it ran: its export dropped", job.id)
    except (grants.NoGrant, NothingRecorded) as exc:
        _failed(ctx, job, exc.msgid or str(exc), exc.params)
    except ExportError as exc:
        _failed(ctx, job, str(exc), {})
    except Exception:
        log.exception("export job %s failed", job.id)
        _failed(ctx, job, FAILED_ON_SERVER, {})
    return get_job(ctx, job.id)


class _TakenAway(Exception):
    """The job is no longer this run's (recovery queued it again while it ran): the export
    it made must not go on record beside the one the next run makes."""


def _this_run(job: Job) -> Any:
    """The job's row while this run still holds it."""
    return (J.c.id == job.id) & (J.c.state == RUNNING) & (J.c.attempts == job.attempts)


def _done_with(ctx: Context, job: Job) -> Callable[[Connection, ExportResult], None]:
    """create_export's `in_commit`: the job done with its export, in the export's own
    transaction; _TakenAway (the export rolled back) when the run no longer holds it."""

    def mark(conn: Connection, result: ExportResult) -> None:
        total = case((J.c.progress_total > 0, J.c.progress_total), else_=1)
        marked = conn.execute(
            update(J)
            .where(_this_run(job), J.c.export_id.is_(None))
            .values(
                state=DONE,
                export_id=result.id,
                finished_us=ctx.clock(),
                progress_done=total,
                progress_total=total,
            )
        )
        if not marked.rowcount:
            raise _TakenAway

    return mark


def _reporter(
    ctx: Context, job_id: int, should_stop: Callable[[], bool] | None
) -> Callable[[int, int], None]:
    """The progress report of create_export written to the job's row, at most every
    PROGRESS_EVERY_S (and the last, the total, always); raises Stopped when asked to stop."""
    last = [0.0]

    def report(done: int, total: int) -> None:
        if done < total and should_stop is not None and should_stop():
            raise Stopped  # never once all is done: the export may be on record already
        now = time.monotonic()
        if done < total and now - last[0] < PROGRESS_EVERY_S:
            return
        last[0] = now
        _set(ctx, job_id, progress_done=done, progress_total=total)

    return report


def _failed(ctx: Context, job: Job, msgid: str, params: dict[str, str]) -> None:
    _end(
        ctx,
        job,
        state=FAILED,
        finished_us=ctx.clock(),
        error_msgid=msgid,
        error_params=json.dumps(params, sort_keys=True),
    )


def _end(ctx: Context, job: Job, **values: object) -> None:
    """How this run ended, written only while it still holds the job: never over a job that
    is done (its export on record) or that another run took."""
    with ctx.engine.begin() as conn:
        conn.execute(update(J).where(_this_run(job)).values(**values))


def _set(ctx: Context, job_id: int, **values: object) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(update(J).where(J.c.id == job_id).values(**values))
