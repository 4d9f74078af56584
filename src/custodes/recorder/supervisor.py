"""The recorder supervisor: reconcile the spool, then one stream worker per active camera."""

from __future__ import annotations

import logging
import threading
from typing import IO

from custodes.adapters import recorder_lock
from custodes.adapters.diskspace import DiskGuard, reserve_warning
from custodes.adapters.log_limit import LogLimiter
from custodes.clock import now_us
from custodes.recorder.sealer_pool import SealerPool
from custodes.recorder.worker import NOT_RUNNING, StreamWorker, WorkerConfig
from custodes.services import index
from custodes.services.camera_health import check_offline
from custodes.services.cameras import active_targets, registry_mark
from custodes.services.context import Context
from custodes.services.reconcile import ReconcileReport, reconcile
from custodes.services.settings import checkpoint_cadence
from custodes.services.sweep import finish_pending

log = logging.getLogger(__name__)

# Why a gap opened when a camera's worker was restarted (entrypoints/web/said.py words it).
ADDRESS_CHANGED = "the camera's address was changed: reconnecting to it"
THREAD_RESTARTED = "the camera's recording thread ended and was restarted"


class AlreadyRecording(RuntimeError):
    pass


class Supervisor:
    def __init__(
        self,
        ctx: Context,
        *,
        segment_seconds: float = 6.0,
        backoff_cap_s: float = 30.0,
    ) -> None:
        self.ctx = ctx
        # a fault that repeats every rescan (a database on a full disk) is one line a minute
        self._quiet = LogLimiter(log)
        self.segment_seconds = segment_seconds
        self.backoff_cap_s = backoff_cap_s
        self.sealer = SealerPool(ctx.engine, ctx.data, cadence=checkpoint_cadence(ctx))
        self.workers: dict[int, StreamWorker] = {}
        self.disk = DiskGuard(ctx.data.archive)  # ReserveTooSmall: refused before anything
        self.reserve_warning = reserve_warning(self.disk.reserve)
        self._lock_file: IO[str] | None = None
        self._registry_mark: tuple[int, int] | None = None
        self.reconciled: ReconcileReport | None = None
        # when this recorder began to record each camera: the offline check counts from it
        self.watching: dict[int, int] = {}

    def start(self) -> ReconcileReport:
        self._take_lock()
        finish_pending(self.ctx)  # a sweep batch a crash interrupted
        if self.reserve_warning:
            log.warning("%s", self.reserve_warning)
        self.reconciled = reconcile(self.ctx.engine, self.ctx.data)
        if self.reconciled.sealed or self.reconciled.quarantined:
            # each salvage and quarantine is also in the ledger and the footage-cut alarm
            log.warning(
                "reconciled the spool: %d segment(s) sealed, %d quarantined",
                self.reconciled.sealed,
                len(self.reconciled.quarantined),
            )
        self.sealer.start()
        self._registry_mark = registry_mark(self.ctx)
        self.sync_cameras()
        return self.reconciled

    def sync_cameras(self) -> None:
        """Start workers for new cameras, stop retired ones, restart changed URLs."""
        targets = {t.camera_id: t for t in active_targets(self.ctx)}
        why: dict[int, str] = {}
        for camera_id, worker in list(self.workers.items()):
            target = targets.get(camera_id)
            if target is None or target.url != worker.cfg.url or not worker.is_alive():
                worker.stop()
                worker.join(15)
                del self.workers[camera_id]
                if target is None:
                    self.watching.pop(camera_id, None)
                if target is not None and target.url != worker.cfg.url:
                    why[camera_id] = ADDRESS_CHANGED
                elif target is not None:
                    why[camera_id] = THREAD_RESTARTED
        for camera_id, target in targets.items():
            if camera_id in self.workers:
                continue
            with self.ctx.engine.connect() as conn:
                until = index.last_end_us(conn, camera_id)
                dropped = index.audio_dropped(conn, camera_id)
            spool = self.ctx.data.camera_spool(camera_id)
            spool.mkdir(parents=True, exist_ok=True)
            cfg = WorkerConfig(
                camera_id=camera_id,
                name=target.name,
                url=target.url,
                spool_dir=spool,
                log_path=self.ctx.data.logs / f"{spool.name}.log",
                segment_seconds=self.segment_seconds,
                backoff_cap_s=self.backoff_cap_s,
                audio_dropped=dropped,
                first_gap_reason=why.get(camera_id, NOT_RUNNING),
            )
            worker = StreamWorker(cfg, self.sealer.submit, recorded_until_us=until, disk=self.disk)
            self.workers[camera_id] = worker
            # a restarted worker (a new address, a thread that ended) keeps the time its
            # camera began to be watched: a thread that keeps ending is not forever "too soon"
            self.watching.setdefault(camera_id, now_us())
            worker.start()

    def run(self, stop: threading.Event, rescan_s: float = 5.0) -> None:
        while not stop.wait(rescan_s):
            try:
                mark = registry_mark(self.ctx)
                dead = any(not w.is_alive() for w in self.workers.values())
                if mark != self._registry_mark or dead:
                    self._registry_mark = mark
                    self.sync_cameras()
            except Exception as exc:
                self._quiet.log(
                    logging.ERROR,
                    "rescan",
                    "camera rescan failed (%s); recording continues",
                    _first_line(exc),
                )
            self.check_health()

    def check_health(self) -> None:
        """Raise a camera's offline alarm when it has recorded nothing for two segment
        lengths, clear it once it records again (services/camera_health.py)."""
        try:
            for camera_id, change in check_offline(
                self.ctx, segment_s=self.segment_seconds, watching=dict(self.watching)
            ):
                log.warning("camera %s: offline alarm %s", camera_id, change)
        except Exception as exc:
            self._quiet.log(
                logging.ERROR,
                "offline-check",
                "camera offline check failed (%s); recording continues",
                _first_line(exc),
            )

    def stop(self) -> None:
        """Each ffmpeg closes its open segment, which is sealed before we return."""
        for worker in self.workers.values():
            worker.stop()
        for worker in self.workers.values():
            worker.join(20)
        self.sealer.stop()
        self._release_lock()

    def _take_lock(self) -> None:
        f = recorder_lock.acquire(self.ctx.data.root)
        if f is None:
            raise AlreadyRecording(f"another Custodes recorder is running on {self.ctx.data.root}")
        self._lock_file = f

    def _release_lock(self) -> None:
        if self._lock_file is not None:
            recorder_lock.release(self._lock_file)
            self._lock_file = None


def _first_line(exc: BaseException) -> str:
    """An exception as one short line: its kind and the first line of its text (a database
    error's text goes on with the statement and its values, which a log does not need)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__
