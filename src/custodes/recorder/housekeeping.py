"""Housekeeping beside the recorder: sign the ledger's head, check capacity, sweep expired
footage, and verify the whole archive in the background at a throttled read rate.

One thread; each job on its own interval; a failing job is logged and tried again at its next
turn — it never stops recording. Verification problems raise the integrity alarm (status,
`/api/v1/status`, the UI banner) and are written to the ledger.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from custodes.adapters.db import schema
from custodes.services import ledger
from custodes.services.capacity import check_and_alarm
from custodes.services.context import Context
from custodes.services.sweep import sweep
from custodes.services.verify import raise_or_clear_alarm, verify

log = logging.getLogger(__name__)
HOUSEKEEPER = "system:housekeeping"
ARCHIVE = "archive"  # the ledger object of a verification of the whole archive


@dataclass(frozen=True)
class Schedule:
    ledger_checkpoint_s: float = 60.0
    capacity_s: float = 600.0
    sweep_s: float = 3600.0
    verify_s: float = 86_400.0
    verify_rate_bytes_s: float = 40e6  # background verification reads at most this much


class Housekeeper(threading.Thread):
    def __init__(self, ctx: Context, schedule: Schedule | None = None) -> None:
        super().__init__(name="housekeeping", daemon=True)
        self.ctx = ctx
        self.schedule = schedule or Schedule()
        self._halt = threading.Event()
        s = self.schedule
        self._jobs: list[tuple[str, float, Callable[[], None]]] = [
            ("ledger checkpoint", s.ledger_checkpoint_s, self._ledger_checkpoint),
            ("capacity", s.capacity_s, self._capacity),
            ("sweep", s.sweep_s, self._sweep),
            ("verify", s.verify_s, self._verify),
        ]
        self._due = {name: time.monotonic() for name, _, _ in self._jobs}
        # A restart does not re-read the whole archive: the next verification is due one
        # interval after the last one the ledger records.
        last = self._last_verification_us()
        if last is not None:
            wait_s = (last - ctx.clock()) / 1e6 + s.verify_s
            self._due["verify"] = time.monotonic() + max(wait_s, 0.0)

    def stop(self) -> None:
        self._halt.set()

    def run(self) -> None:
        while not self._halt.is_set():
            for name, every, job in self._jobs:
                if self._halt.is_set() or time.monotonic() < self._due[name]:
                    continue
                try:
                    job()
                except Exception:
                    log.exception("housekeeping: %s failed; tried again in %.0f s", name, every)
                self._due[name] = time.monotonic() + every
            wake = min(self._due.values()) - time.monotonic()
            self._halt.wait(max(wake, 0.5))
        try:
            ledger.checkpoint(self.ctx)  # leave no unsigned ledger tail behind a clean stop
        except Exception:
            log.exception("housekeeping: closing ledger checkpoint failed")

    def _last_verification_us(self) -> int | None:
        L = schema.ledger
        with self.ctx.engine.connect() as conn:
            last = conn.execute(
                select(func.max(L.c.time_us)).where(
                    L.c.action == ledger.VERIFY_RAN, L.c.object == ARCHIVE
                )
            ).scalar()
        return None if last is None else int(last)

    def _ledger_checkpoint(self) -> None:
        ledger.checkpoint(self.ctx)

    def _capacity(self) -> None:
        result = check_and_alarm(self.ctx)
        if not result.volume.ok:
            log.error("capacity: %s", result.volume.message)

    def _sweep(self) -> None:
        report = sweep(self.ctx)
        if report.segments:
            log.info("sweep: %d expired segment(s) deleted", report.segments)

    def _verify(self) -> None:
        report = verify(self.ctx, rate_bytes_s=self.schedule.verify_rate_bytes_s)
        raised = raise_or_clear_alarm(self.ctx, report)
        problems = [
            {"camera": cam.name, "verdict": f.kind, "detail": f.detail}
            for cam, f in report.problems()
        ]
        ledger.record_now(
            self.ctx,
            actor=HOUSEKEEPER,
            action=ledger.VERIFY_RAN,
            object=ARCHIVE,
            details={
                "ok": not report.failed,
                "segments": sum(c.segments for c in report.cameras),
                "bytes": report.bytes_hashed,
                "problems": problems[:100],
            },
        )
        if raised:
            ledger.record_now(
                self.ctx,
                actor=HOUSEKEEPER,
                action=ledger.ALARM_RAISED,
                object=ARCHIVE,
                details={"kind": "integrity", "problems": len(problems)},
            )
        if report.failed:
            log.error("verification found %d problem(s)", len(problems))
