"""The sealer thread: every camera's events, in order, sealed in groups.

ffmpeg never waits on this: stream workers only enqueue. What arrives within LINGER_S of the
first event waiting is handled together: the segments of such a group are made durable by
one sync and indexed in one transaction (services/sealing.py `seal_many`), which is most of
what sealing costs per segment when many cameras record; a group that fails is sealed again
one event at a time, with the retries below. A failing event (full disk, read-only
archive, database unavailable) is retried with back-off and never dropped; its spool file stays
where it is until it is sealed, so nothing is lost. Repeated failures are logged once a minute
with a count, not once per try. When the recorder stops, what is queued is tried once more;
what still fails stays in the spool for reconciliation at the next start, so a stop never
waits for a full disk to empty.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from sqlalchemy import Engine

from custodes.adapters.log_limit import LogLimiter
from custodes.clock import now_us
from custodes.domain.alarm_wording import Wording
from custodes.domain.backoff import Backoff
from custodes.domain.chain import Cadence
from custodes.paths import DataDir
from custodes.recorder.events import (
    AudioDropped,
    Event,
    GapOpened,
    RunEnded,
    SegmentClosed,
    StateChanged,
)
from custodes.recorder.worker import DISK_FULL
from custodes.services import alarms, index
from custodes.services.reconcile import ReconcileReport, reconcile_run
from custodes.services.salvage import NoFootage
from custodes.services.sealing import Sealer

log = logging.getLogger(__name__)
_STOP = object()
RECORDING = "recording"
LINGER_S = 1.0  # how long the first waiting event waits for others to seal with


class SealerPool:
    def __init__(
        self,
        engine: Engine,
        data: DataDir,
        cadence: Cadence | None = None,
        linger_s: float = LINGER_S,
    ) -> None:
        self._engine = engine
        self._data = data
        self._sealer = Sealer(engine, data, cadence=cadence)
        self._linger = linger_s
        # one thread for all cameras: a camera's events stay in order, groups get big
        self._queues: list[queue.Queue[object]] = [queue.Queue()]
        self._threads = [
            threading.Thread(target=self._run, args=(q,), name="sealer", daemon=True)
            for q in self._queues
        ]
        self._abort = threading.Event()
        self._stopping = threading.Event()
        self.sealed = 0
        self.recovered = ReconcileReport()  # what runs that ended left behind, this process
        # Last state written per camera: a segment writes "recording" only when it changes.
        self._states: dict[int, str] = {}
        self._disk_full: set[int] = set()  # cameras with an open disk-full alarm
        self._sealed_any: set[int] = set()  # cameras that sealed a segment in this process
        self._quiet = LogLimiter(log)

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def submit(self, event: Event) -> None:
        self._queues[0].put(event)

    def pending(self) -> int:
        return sum(q.qsize() for q in self._queues)

    def stop(self, timeout: float = 30.0) -> None:
        """Seal what is queued, then stop: an event that fails now is left in the spool (for
        reconciliation at the next start) instead of being retried; give up after
        `timeout` in any case."""
        self._stopping.set()
        for q in self._queues:
            q.put(_STOP)
        for t in self._threads:
            t.join(timeout)
        self._abort.set()
        for t in self._threads:
            t.join(5)
        for camera_id in list(self._states):
            try:  # leave no unsigned tail behind a clean stop
                self._sealer.checkpoint_now(camera_id)
            except Exception as exc:
                log.error("camera %s: closing checkpoint failed: %s", camera_id, exc)

    def _run(self, q: queue.Queue[object]) -> None:
        while True:
            first = q.get()
            if first is _STOP:
                return
            group = [first]
            stop = False
            deadline = time.monotonic() + self._linger
            while not stop:
                left = deadline - time.monotonic()
                try:
                    item = q.get(timeout=left) if left > 0 else q.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                else:
                    group.append(item)
            self._handle_group(group)
            if stop:
                return

    def _handle_group(self, group: list[object]) -> None:
        """In order; runs of segments sealed together, other events one by one."""
        segments: list[SegmentClosed] = []
        for item in group:
            assert isinstance(
                item, SegmentClosed | GapOpened | StateChanged | RunEnded | AudioDropped
            )
            if isinstance(item, SegmentClosed):
                segments.append(item)
                continue
            self._seal_group(segments)
            segments = []
            self._handle_with_retry(item)
        self._seal_group(segments)

    def _seal_group(self, segments: list[SegmentClosed]) -> None:
        if len(segments) <= 1:
            for event in segments:
                self._handle_with_retry(event)
            return
        states: list[tuple[SegmentClosed, str | None]] = []
        seen: set[int] = set()
        for event in segments:
            first = event.camera_id not in seen
            seen.add(event.camera_id)
            changed = first and self._states.get(event.camera_id) != RECORDING
            states.append((event, RECORDING if changed else None))
        try:
            results = self._sealer.seal_many(states)
        except Exception as exc:  # one at a time then, each with its retries
            self._quiet.log(
                logging.WARNING,
                f"group {type(exc).__name__}",
                "sealing %d segments together failed (%s); sealing them one by one",
                len(segments),
                exc,
            )
            for event in segments:
                self._handle_with_retry(event)
            return
        for event, seq in results:
            if seq is None:
                log.warning("camera %s: nothing sealed from %s", event.camera_id, event.spool_file)
                continue
            self._sealed_ok(event.camera_id)

    def _handle_with_retry(self, event: Event) -> None:
        backoff = Backoff(initial_s=0.5, cap_s=15.0)
        while True:
            try:
                self._handle(event)
                return
            except NoFootage as exc:  # recorded and set aside by the sealer: nothing to retry
                log.warning("camera %s: nothing sealed: %s", event.camera_id, exc)
                return
            except Exception as exc:  # any failure: keep the event, report, retry
                message = f"sealing failed, will retry: {exc}"
                self._quiet.log(
                    logging.ERROR,
                    f"seal {event.camera_id} {type(exc).__name__}",
                    "camera %s: %s",
                    event.camera_id,
                    message,
                )
                self._report(event.camera_id, message)
                if self._stopping.is_set() or self._abort.wait(backoff.next_delay()):
                    self._quiet.log(
                        logging.ERROR,
                        f"left {event.camera_id}",
                        "camera %s: stopping; left in the spool for the next start: %s",
                        event.camera_id,
                        type(event).__name__,
                    )
                    return

    def _handle(self, event: Event) -> None:
        if isinstance(event, SegmentClosed):
            changed = self._states.get(event.camera_id) != RECORDING
            self._sealer.seal(event, state=RECORDING if changed else None)
            self._sealed_ok(event.camera_id)
            return
        if isinstance(event, RunEnded):
            report = ReconcileReport()
            reconcile_run(self._sealer, self._data, event.camera_id, event.run_dir, report)
            self.sealed += report.sealed
            self.recovered.add(report)
            if report.quarantined:
                log.error(
                    "camera %s: %d file(s) of the run quarantined",
                    event.camera_id,
                    len(report.quarantined),
                )
            return
        with self._engine.begin() as conn:
            if isinstance(event, GapOpened):
                index.open_gap(conn, event.camera_id, event.start_us, event.reason)
                self._sealer.gap_opened(event.camera_id)
            elif isinstance(event, AudioDropped):
                index.set_audio_dropped(conn, event.camera_id, event.codec)
            else:
                index.set_state(conn, event.camera_id, event.state, event.detail, event.error)
                self._states[event.camera_id] = event.state
                if event.state == DISK_FULL:
                    alarms.raise_alarm(
                        conn,
                        alarms.DISK_FULL,
                        event.said or event.error or Wording("disk-full"),
                        now_us(),
                        event.camera_id,
                    )
                    self._disk_full.add(event.camera_id)

    def _sealed_ok(self, camera_id: int) -> None:
        # recording again: space came back (also after a restart, once per camera)
        if camera_id in self._disk_full or camera_id not in self._sealed_any:
            self._sealed_any.add(camera_id)
            self._disk_full.discard(camera_id)
            with self._engine.begin() as conn:
                alarms.clear_alarm(conn, alarms.DISK_FULL, now_us(), camera_id)
        self._states[camera_id] = RECORDING
        self.sealed += 1

    def _report(self, camera_id: int, message: str) -> None:
        try:
            with self._engine.begin() as conn:
                index.set_state(conn, camera_id, "error", error=message)
            self._states[camera_id] = "error"
        except Exception as exc:
            self._quiet.log(
                logging.ERROR,
                f"report {camera_id}",
                "camera %s: cannot record the error in the database either: %s",
                camera_id,
                exc,
            )
