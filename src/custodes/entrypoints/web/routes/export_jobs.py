"""Export jobs over HTTP: an export made in the background, its progress watched.

POST /exports/jobs (202, the job queued) · GET /exports/jobs (mine, newest first) ·
GET /exports/jobs/{id} · POST /exports/jobs/{id}/dismiss (an ended job out of my list)

The grant page uses these: the export of a day of footage takes minutes, longer than a request
should wait. `POST /exports` still makes the export within the request, for API clients that
would rather wait for the bundle than poll. A job is refused up front as the synchronous
export is (the range; the grant, a refusal recorded in the ledger), its grant checked again
when it runs and at commit; once done, its `export_id` names the export (GET /exports/{id},
/download). Another account's job is a 404, as for an id that does not exist, unless the
caller's role reads the access register — the metadata only, as for exports.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field

from custodes.clock import iso
from custodes.domain.roles import Permission, allows
from custodes.entrypoints.web import invalid, wording
from custodes.entrypoints.web.deps import CtxDep, PathId, QueryId, SessionDep
from custodes.entrypoints.web.routes.exports import ExportIn
from custodes.entrypoints.web.times import LangDep, window
from custodes.services import auth
from custodes.services.context import Context
from custodes.services.exports import ExportError, jobs
from custodes.services.settings import site_timezone

router = APIRouter(prefix="/exports/jobs", tags=["exports"])


class ExportJobOut(BaseModel):
    id: int
    grant_id: int
    camera_id: int
    start: str
    end: str
    start_us: int
    end_us: int
    watermark: bool
    requested_by: str
    state: str = Field(description="queued, running, done or failed")
    progress: float = Field(description="work done of the work in all, 0 to 1, as measured")
    progress_done: int
    progress_total: int
    attempts: int = Field(description="runs begun: a restart of the server begins another")
    created: str
    created_us: int
    started_us: int | None
    finished_us: int | None
    export_id: str | None = Field(description="the export made, once done")
    error: str | None = Field(description="why it failed, in the request's language")
    error_msgid: str | None = Field(description="why it failed: the English msgid")
    error_params: dict[str, str]
    dismissed_us: int | None = Field(
        description="when its asker put it out of the list (GET /exports/jobs leaves it out)"
    )


def _out(job: jobs.Job, lang: str, zone: str) -> ExportJobOut:
    return ExportJobOut(
        id=job.id,
        grant_id=job.grant_id,
        camera_id=job.camera_id,
        start=iso(job.start_us),
        end=iso(job.end_us),
        start_us=job.start_us,
        end_us=job.end_us,
        watermark=job.watermark,
        requested_by=job.username,
        state=job.state,
        progress=job.progress,
        progress_done=job.progress_done,
        progress_total=job.progress_total,
        attempts=job.attempts,
        created=iso(job.created_us),
        created_us=job.created_us,
        started_us=job.started_us,
        finished_us=job.finished_us,
        export_id=job.export_id,
        error=failure(job, lang, zone),
        error_msgid=job.error_msgid,
        error_params=job.error_params,
        dismissed_us=job.dismissed_us,
    )


def failure(job: jobs.Job, lang: str, zone: str) -> str | None:
    """Why the job failed, in `lang`: a msgid with parameters as the refusals of footage are
    said (times in the site's zone), one without as any refusal's text (invalid.sentence)."""
    if job.error_msgid is None:
        return None
    if job.error_params:
        return wording.stated(job.error_msgid, job.error_params, lang, zone)
    return invalid.sentence(job.error_msgid, lang)


def _visible(ctx: Context, session: auth.Session, job_id: int) -> jobs.Job:
    """The job if the caller asked for it or reads the register; else 404 (as for no job)."""
    try:
        found = jobs.get_job(ctx, job_id)
    except jobs.JobNotFound:
        found = None
    if found is None or (
        found.account_id != session.account_id
        and not allows(session.role, Permission.REGISTER_READ)
    ):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no export job {job_id}")
    return found


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=ExportJobOut)
def submit(
    body: ExportIn, request: Request, session: SessionDep, ctx: CtxDep, lang: LangDep
) -> ExportJobOut:
    """Queue the export of [start, end) of one camera under a copy grant (202): the server's
    worker makes it, oldest job first; poll GET /exports/jobs/{id} for its progress. Refused
    at once (403, 409, 422) when `POST /exports` would refuse it before any work; a refusal
    found when it runs (the grant revoked meanwhile, nothing recorded) fails the job, its
    `error` saying why."""
    start_us, end_us = window(
        body.start, body.end, location="body", names=("start", "end"), lang=lang
    )
    try:
        job = jobs.submit(
            ctx,
            grant_id=body.grant_id,
            account_id=session.account_id,
            username=session.username,
            camera_id=body.camera_id,
            start_us=start_us,
            end_us=end_us,
            watermark=body.watermark,
        )
    except ExportError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    worker = getattr(request.app.state, "export_worker", None)
    if worker is not None:
        worker.wake()
    return _out(job, lang, site_timezone(ctx))


@router.get("", response_model=list[ExportJobOut])
def list_jobs(
    session: SessionDep, ctx: CtxDep, lang: LangDep, grant_id: QueryId | None = None
) -> list[ExportJobOut]:
    """My export jobs, newest first (the newest 100), under one grant if `grant_id` is given;
    everyone's for the roles that read the access register (as GET /exports). A job its
    asker dismissed is left out (GET /exports/jobs/{id} still answers it)."""
    everyone = allows(session.role, Permission.REGISTER_READ)
    found = jobs.list_jobs(
        ctx, account_id=None if everyone else session.account_id, grant_id=grant_id
    )
    zone = site_timezone(ctx)
    return [_out(j, lang, zone) for j in found]


@router.get("/{job_id}", response_model=ExportJobOut)
def get(job_id: PathId, session: SessionDep, ctx: CtxDep, lang: LangDep) -> ExportJobOut:
    """One job: its state and measured progress; once done its `export_id`, once failed its
    `error` in the request's language. Another account's is a 404 unless the role reads the
    access register."""
    return _out(_visible(ctx, session, job_id), lang, site_timezone(ctx))


@router.post("/{job_id}/dismiss", response_model=ExportJobOut)
def dismiss(job_id: PathId, session: SessionDep, ctx: CtxDep, lang: LangDep) -> ExportJobOut:
    """Put an ended job (done or failed) of mine out of my list, as a failed one's line on the
    grant page: the job itself is kept (GET /exports/jobs/{id}). A queued or running job is
    refused (409: it would go on unseen); another account's is a 404, or a 403 for the roles
    that read it."""
    _visible(ctx, session, job_id)
    try:
        job = jobs.dismiss(ctx, job_id, account_id=session.account_id)
    except jobs.NotYours as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    except ExportError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return _out(job, lang, site_timezone(ctx))
