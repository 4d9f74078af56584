"""The web server's export worker: one thread that makes the queued export jobs, oldest
first (services/exports/jobs.py), started and stopped with the application (app.py's
lifespan).

At its start the jobs a previous process left running go back to the queue; it then takes a
job whenever one is queued — woken by a submission, or finding it within POLL_S — and on
stop asks the running job to stop at its next progress report (ffmpeg is killed, the partial
bundle removed, the job queued again for the next start).
"""

from __future__ import annotations

import logging
import threading

from custodes.services.context import Context
from custodes.services.exports import jobs

log = logging.getLogger(__name__)

POLL_S = 2.0  # a job queued by another process (none today) is found within this

# The jobs this process's workers are running: a worker of an application made anew (the
# web server restarts a failed one) must not queue again what an older one still runs.
_running: set[tuple[str, int]] = set()  # (the database, the job's id)
_running_lock = threading.Lock()


def _running_here(ctx: Context) -> frozenset[int]:
    url = str(ctx.engine.url)
    with _running_lock:
        return frozenset(job_id for db, job_id in _running if db == url)


class ExportWorker:
    def __init__(self, ctx: Context, *, poll_s: float = POLL_S) -> None:
        self.ctx = ctx
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="export-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """A job was queued: look now."""
        self._wake.set()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        try:
            again = jobs.recover(self.ctx, _running_here(self.ctx))
            if again:
                log.warning("%s export job(s) left running by a stopped process: queued", again)
        except Exception:
            log.exception("export jobs: recovery at start failed")
        while not self._stop.is_set():
            try:
                job = jobs.claim_next(self.ctx)
                if job is not None:
                    self._run_one(job)
                    continue
            except Exception:
                log.exception("export jobs: the worker's round failed; trying again")
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def _run_one(self, job: jobs.Job) -> None:
        key = (str(self.ctx.engine.url), job.id)
        with _running_lock:
            _running.add(key)
        try:
            jobs.run(self.ctx, job, should_stop=self._stop.is_set)
        finally:
            with _running_lock:
                _running.discard(key)
