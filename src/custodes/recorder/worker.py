"""One stream worker: runs ffmpeg for a camera, again and again, and reports what it sees."""

from __future__ import annotations

import collections
import logging
import secrets
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from custodes.adapters.diskspace import DiskGuard
from custodes.adapters.ffmpeg.command import record_command
from custodes.adapters.ffmpeg.stderr import (
    UNSUPPORTED_AUDIO,
    StreamInfo,
    explain_exit,
    parse_stream_info,
)
from custodes.adapters.journal import Journal
from custodes.adapters.process import spawn, terminate
from custodes.clock import now_us, to_datetime
from custodes.domain.backoff import Backoff
from custodes.domain.timing import RunClock
from custodes.recorder.events import Event, GapOpened, RunEnded, SegmentClosed, StateChanged

log = logging.getLogger(__name__)

STALL_FACTOR = 3  # no new segment for 3 segment lengths: restart ffmpeg
CONNECT_GRACE_S = 15.0
DISK_FULL = "disk-full"  # the state while recording waits for free space
DISK_POLL_S = 2.0


@dataclass(frozen=True)
class WorkerConfig:
    camera_id: int
    name: str
    url: str  # with credentials: never logged
    spool_dir: Path
    log_path: Path
    segment_seconds: float = 6.0
    backoff_cap_s: float = 30.0


def new_run_id() -> str:
    return to_datetime(now_us()).strftime("%Y%m%dT%H%M%S") + secrets.token_hex(2)


class StreamWorker(threading.Thread):
    def __init__(
        self,
        cfg: WorkerConfig,
        emit: Callable[[Event], None],
        *,
        recorded_until_us: int | None,
        disk: DiskGuard | None = None,
    ) -> None:
        super().__init__(name=f"worker-{cfg.camera_id}", daemon=True)
        self.cfg = cfg
        self._emit = emit
        self._disk = disk
        self._halt = threading.Event()
        self._backoff = Backoff(cap_s=cfg.backoff_cap_s)
        self._keep_audio = True
        self._audio_note = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._last_segment_mono = 0.0
        # Where recording last stopped: the start of the next gap, if one opens.
        self._recorded_until_us = recorded_until_us
        self._gap_open = False
        self._started_us = now_us()

    # -- control ---------------------------------------------------------------------------
    def stop(self) -> None:
        self._halt.set()

    def run(self) -> None:
        self._started_us = now_us()
        if self._recorded_until_us is not None:
            self._open_gap(self._recorded_until_us, "recorder was not running")
        while not self._halt.is_set():
            if self._disk is not None and self._disk.full():
                self._wait_for_space()
                continue
            reason = self._one_run()
            if self._halt.is_set():
                break
            if self._disk is not None and self._disk.full():
                continue  # the gap and the fault are opened by _wait_for_space
            delay = self._backoff.next_delay()
            log.warning("camera %s: %s; reconnecting in %.0f s", self.cfg.name, reason, delay)
            self._emit(
                StateChanged(self.cfg.camera_id, "reconnecting", self._audio_note, error=reason)
            )
            self._open_gap(self._recorded_until_us or self._started_us, reason)
            self._halt.wait(delay)
        self._emit(StateChanged(self.cfg.camera_id, "stopped"))

    def _wait_for_space(self) -> None:
        """Stop recording (a gap, a fault) until the volume has room again."""
        assert self._disk is not None
        message = self._disk.describe()
        log.error("camera %s: %s", self.cfg.name, message)
        # the gap first: whoever sees the fault finds the gap already recorded
        self._open_gap(self._recorded_until_us or self._started_us, "disk full")
        self._emit(StateChanged(self.cfg.camera_id, DISK_FULL, message, error=message))
        while not self._halt.is_set() and self._disk.full():
            self._halt.wait(DISK_POLL_S)
        if not self._halt.is_set():
            log.warning("camera %s: disk space is back; recording resumes", self.cfg.name)
            self._backoff.reset()

    # -- one ffmpeg run --------------------------------------------------------------------
    def _one_run(self) -> str:
        run_id = new_run_id()
        run_dir = self.cfg.spool_dir / run_id
        try:
            run_dir.mkdir(parents=True, exist_ok=False)
        except OSError as exc:
            return f"cannot create spool directory {run_dir}: {exc.strerror}"
        argv = record_command(
            self.cfg.url,
            run_dir,
            segment_seconds=self.cfg.segment_seconds,
            keep_audio=self._keep_audio,
        )
        self._emit(StateChanged(self.cfg.camera_id, "starting", self._audio_note))
        try:
            proc = spawn(argv)
        except OSError as exc:
            run_dir.rmdir()
            return f"cannot start ffmpeg: {exc}"
        self._proc = proc
        tail: collections.deque[str] = collections.deque(maxlen=60)
        header: list[str] = []
        info_ready = threading.Event()
        assert proc.stdout is not None and proc.stderr is not None
        err_thread = threading.Thread(
            target=self._read_stderr,
            args=(proc.stderr, tail, header, info_ready),
            daemon=True,
        )
        out_thread = threading.Thread(
            target=self._read_segments,
            args=(proc.stdout, run_id, run_dir, header, info_ready),
            daemon=True,
        )
        err_thread.start()
        out_thread.start()
        stalled = self._watch(proc)
        terminate(proc)
        out_thread.join(10)
        err_thread.join(10)
        self._proc = None
        self._emit(RunEnded(self.cfg.camera_id, run_dir))
        if stalled:
            return stalled
        reason = explain_exit(tail, proc.returncode)
        if UNSUPPORTED_AUDIO in "\n".join(tail) and self._keep_audio:
            info = parse_stream_info(header)
            self._keep_audio = False
            self._audio_note = (
                f"audio ({info.audio_codec or 'unknown codec'}) not recorded: MP4 cannot carry"
                " it without transcoding, and evidence is never transcoded"
            )
            log.warning("camera %s: %s", self.cfg.name, self._audio_note)
            self._backoff.reset()
            reason = self._audio_note
        return reason

    def _watch(self, proc: subprocess.Popen[bytes]) -> str | None:
        """Wait for ffmpeg to end; kill it when no segment closes for STALL_FACTOR lengths."""
        started = time.monotonic()
        self._last_segment_mono = 0.0
        limit = STALL_FACTOR * self.cfg.segment_seconds
        while proc.poll() is None:
            if self._halt.wait(1.0):
                return None
            if self._disk is not None and self._disk.full():
                return "disk full"
            since = self._last_segment_mono or (started + CONNECT_GRACE_S)
            if time.monotonic() - since > limit:
                return f"stalled: no segment for {limit:.0f} s, restarting ffmpeg"
        return None

    def _read_stderr(
        self,
        stream: IO[bytes],
        tail: collections.deque[str],
        header: list[str],
        info_ready: threading.Event,
    ) -> None:
        with self.cfg.log_path.open("a", encoding="utf-8") as logf:
            logf.write(f"--- {to_datetime(now_us()).isoformat()} ffmpeg run starts\n")
            for raw in stream:
                line = raw.decode("utf-8", "replace").rstrip()
                tail.append(line)
                logf.write(line + "\n")
                logf.flush()
                if not info_ready.is_set():
                    header.append(line)
                    if line.startswith("Output #0") or line.startswith("Press [q]"):
                        info_ready.set()
        info_ready.set()

    def _read_segments(
        self,
        stream: IO[bytes],
        run_id: str,
        run_dir: Path,
        header: list[str],
        info_ready: threading.Event,
    ) -> None:
        clock = RunClock()
        journal = Journal(run_dir)
        info: StreamInfo | None = None
        for raw in stream:
            closed_at = now_us()
            parsed = Journal.parse_ffmpeg_line(raw.decode("utf-8", "replace"))
            if parsed is None:
                continue
            name, media_start, media_end = parsed
            journal.append(name, media_start, media_end, closed_at)
            timing = clock.place(media_start, media_end, closed_at)
            if info is None:
                info_ready.wait(5)
                info = parse_stream_info(header)
                if not self._keep_audio:  # the input's audio is not in the file
                    info = replace(info, audio_codec=None)
            self._last_segment_mono = time.monotonic()
            self._backoff.reset()
            self._gap_open = False
            self._recorded_until_us = timing.end_us
            self._emit(SegmentClosed(self.cfg.camera_id, run_id, run_dir / name, timing, info))
        journal.close()

    def _open_gap(self, start_us: int, reason: str) -> None:
        if not self._gap_open:
            self._gap_open = True
            self._emit(GapOpened(self.cfg.camera_id, start_us, reason))
