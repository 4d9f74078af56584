"""One stream worker: runs ffmpeg for a camera, again and again, and reports what it sees."""

from __future__ import annotations

import collections
import contextlib
import errno
import logging
import os
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from custodes.adapters.diskspace import DiskGuard
from custodes.adapters.ffmpeg.command import record_command
from custodes.adapters.ffmpeg.stderr import (
    NO_SPACE,
    UNSUPPORTED_AUDIO,
    StreamInfo,
    explain_exit,
    parse_stream_info,
)
from custodes.adapters.journal import Journal
from custodes.adapters.log_limit import LineCollapser, LogLimiter
from custodes.adapters.process import spawn, terminate
from custodes.clock import now_us, to_datetime
from custodes.domain.alarm_wording import Wording
from custodes.domain.backoff import Backoff
from custodes.domain.camera import Redactor
from custodes.domain.timing import RunClock
from custodes.recorder.events import (
    AudioDropped,
    Event,
    GapOpened,
    RunEnded,
    SegmentClosed,
    StateChanged,
)

log = logging.getLogger(__name__)

STALL_FACTOR = 3  # no new segment for 3 segment lengths: restart ffmpeg
WATCH_S = 5.0  # how often a running ffmpeg is looked at (a stop wakes the watch at once)
CONNECT_GRACE_S = 15.0
DISK_FULL = "disk-full"  # the state while recording waits for free space
DISK_POLL_S = 2.0
PROBE_EVERY_S = 1.0  # while waiting to reconnect, how often the camera's port is tried
PROBE_TIMEOUT_S = 1.0
NOT_RUNNING = "recorder was not running"


@dataclass(frozen=True)
class WorkerConfig:
    camera_id: int
    name: str
    url: str = field(repr=False)  # with credentials: never logged, never in a message
    spool_dir: Path
    log_path: Path
    segment_seconds: float = 6.0
    backoff_cap_s: float = 30.0
    # the camera's audio codec that MP4 cannot carry, decided at an earlier start (None:
    # record the audio when there is any)
    audio_dropped: str | None = None
    # why the time since the last recorded segment is a gap, if one opens at the start
    first_gap_reason: str = NOT_RUNNING


def new_run_id() -> str:
    return to_datetime(now_us()).strftime("%Y%m%dT%H%M%S") + secrets.token_hex(2)


def audio_note(codec: str | None) -> str:
    return (
        f"audio ({codec or 'unknown codec'}) not recorded: MP4 cannot carry it without "
        "transcoding, and evidence is never transcoded"
    )


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
        self._keep_audio = cfg.audio_dropped is None
        self._audio_note = "" if self._keep_audio else audio_note(cfg.audio_dropped)
        self._proc: subprocess.Popen[bytes] | None = None
        self._last_segment_mono = 0.0
        # Where recording last stopped: the start of the next gap, if one opens.
        self._recorded_until_us = recorded_until_us
        self._gap_open = False
        self._started_us = now_us()
        self._no_space = threading.Event()  # ffmpeg said "No space left on device"
        # wakes the watch of a running ffmpeg: a stop, ffmpeg's end (its stdout closes), a
        # full disk; otherwise it looks every WATCH_S
        self._wake = threading.Event()
        self._stdout_closed = threading.Event()
        self._port_was_down = False  # the camera's port refused us at the last look
        # since a run failed and until a run closes a segment: a retry is still reconnecting
        # (status does not flicker "starting" / "reconnecting" for a camera that is down)
        self._reconnecting = False
        self._quiet = LogLimiter(log)
        # every line of ffmpeg's and every reason this worker gives goes through it
        self._redact = Redactor(cfg.url)

    # -- control ---------------------------------------------------------------------------
    def stop(self) -> None:
        self._halt.set()
        self._wake.set()

    def run(self) -> None:
        self._started_us = now_us()
        if self._recorded_until_us is not None:
            self._open_gap(self._recorded_until_us, self.cfg.first_gap_reason)
        while not self._halt.is_set():
            if self._disk_full():
                self._wait_for_space()
                continue
            reason = self._redact(self._one_run())
            if self._halt.is_set():
                break
            if self._disk_full():
                continue  # the gap and the fault are opened by _wait_for_space
            delay = self._backoff.next_delay()
            self._quiet.log(
                logging.WARNING,
                f"reconnect {reason}",
                "camera %s: %s; reconnecting within %.0f s",
                self.cfg.name,
                reason,
                delay,
            )
            self._emit(
                StateChanged(self.cfg.camera_id, "reconnecting", self._audio_note, error=reason)
            )
            self._reconnecting = True
            self._open_gap(self._recorded_until_us or self._started_us, reason)
            if self._wait_to_reconnect(delay):
                self._backoff.reset()  # back: a camera still starting up is retried soon
        self._emit(StateChanged(self.cfg.camera_id, "stopped"))

    def _disk_full(self) -> bool:
        if self._disk is None:
            return self._no_space.is_set()
        if self._no_space.is_set():
            self._disk.ran_out()
            self._no_space.clear()
        return self._disk.full()

    def _wait_for_space(self) -> None:
        """Stop recording (a gap, a fault) until the volume has room again."""
        said = self._disk.wording() if self._disk is not None else Wording("disk-full")
        message = said.english
        self._quiet.log(logging.ERROR, "disk full", "camera %s: %s", self.cfg.name, message)
        # the gap first: whoever sees the fault finds the gap already recorded
        self._open_gap(self._recorded_until_us or self._started_us, "disk full")
        self._emit(StateChanged(self.cfg.camera_id, DISK_FULL, message, error=message, said=said))
        while not self._halt.is_set() and self._disk_full():
            self._halt.wait(DISK_POLL_S)
        if not self._halt.is_set():
            self._quiet.log(
                logging.WARNING,
                "space back",
                "camera %s: disk space is back; recording resumes",
                self.cfg.name,
            )
            self._backoff.reset()

    def _wait_to_reconnect(self, delay: float) -> bool:
        """Wait out the back-off, but start again as soon as the camera's port answers when
        it did not (a camera back from an outage is recorded within about a second, not at
        the end of a back-off that grew while it was away). True when it came back — also
        when it came back during the last attempt, which then failed only because the camera
        was still starting."""
        deadline = time.monotonic() + delay
        address = _address(self.cfg.url)
        if address is None:
            self._halt.wait(delay)
            return False
        up = _port_open(address)
        came_back = up and self._port_was_down
        self._port_was_down = not up
        if came_back:
            self._halt.wait(min(PROBE_EVERY_S, delay))
            return True
        while not self._halt.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self._halt.wait(min(PROBE_EVERY_S, left)):
                return False
            up = _port_open(address)
            if up and self._port_was_down:
                self._port_was_down = False
                return True
            self._port_was_down = not up
        return False

    # -- one ffmpeg run --------------------------------------------------------------------
    def _one_run(self) -> str:
        run_id = new_run_id()
        run_dir = self.cfg.spool_dir / run_id
        try:
            run_dir.mkdir(parents=True, exist_ok=False)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                self._no_space.set()
            return f"cannot create spool directory {run_dir}: {exc.strerror}"
        argv = record_command(
            self.cfg.url,
            run_dir,
            segment_seconds=self.cfg.segment_seconds,
            keep_audio=self._keep_audio,
        )
        if not self._reconnecting:
            self._emit(StateChanged(self.cfg.camera_id, "starting", self._audio_note))
        try:
            proc = spawn(argv)
        except OSError as exc:
            run_dir.rmdir()
            return f"cannot start ffmpeg: {exc.strerror or exc}"
        self._proc = proc
        self._wake.clear()
        self._stdout_closed.clear()
        if self._halt.is_set():
            self._wake.set()
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
        text = "\n".join(tail)
        if NO_SPACE in text:
            self._no_space.set()
        reason = explain_exit(tail, proc.returncode, stopped=self._halt.is_set())
        if UNSUPPORTED_AUDIO in text and self._keep_audio:
            codec = parse_stream_info(header).audio_codec
            self._keep_audio = False
            self._audio_note = audio_note(codec)
            log.warning("camera %s: %s", self.cfg.name, self._audio_note)
            # decided once for the camera: the next start goes straight to video only
            self._emit(AudioDropped(self.cfg.camera_id, codec or "unknown"))
            self._backoff.reset()
            reason = self._audio_note
        return reason

    def _watch(self, proc: subprocess.Popen[bytes]) -> str | None:
        """Wait for ffmpeg to end; kill it when no segment closes for STALL_FACTOR lengths."""
        started = time.monotonic()
        self._last_segment_mono = 0.0
        limit = STALL_FACTOR * self.cfg.segment_seconds
        while proc.poll() is None:
            self._wake.wait(min(WATCH_S, limit / 3))
            self._wake.clear()
            if self._halt.is_set():
                return None
            if self._stdout_closed.is_set():  # it is ending: wait for it, then say why
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(10)
                break
            if self._no_space.is_set() or (self._disk is not None and self._disk.full()):
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
        """Keep the tail of ffmpeg's log in memory (why a run ended), and copy the log to
        the camera's file with repeats collapsed. Never ends before the stream does: a log
        file that cannot be written (a full disk) is skipped, the reading goes on."""
        collapse = LineCollapser()
        logf = self._open_log()
        try:
            start = f"--- {to_datetime(now_us()).isoformat()} ffmpeg run starts"
            logf = self._write_log(logf, [start])
            for raw in stream:
                line = self._redact(raw.decode("utf-8", "replace").rstrip())
                tail.append(line)
                if NO_SPACE in line:
                    self._no_space.set()
                    self._wake.set()
                if not info_ready.is_set():
                    header.append(line)
                    if line.startswith("Output #0") or line.startswith("Press [q]"):
                        info_ready.set()
                logf = self._write_log(logf, collapse.feed(line))
            logf = self._write_log(logf, collapse.flush())
        finally:
            info_ready.set()
            if logf is not None:
                with contextlib.suppress(OSError):
                    logf.close()

    def _open_log(self) -> IO[str] | None:
        try:  # the owner's alone, whatever the umask: it names the camera's address
            fd = os.open(self.cfg.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            return os.fdopen(fd, "a", encoding="utf-8")
        except OSError as exc:
            self._quiet.log(
                logging.ERROR,
                "log open",
                "camera %s: cannot write %s: %s",
                self.cfg.name,
                self.cfg.log_path,
                exc.strerror,
            )
            return None

    def _write_log(self, logf: IO[str] | None, lines: list[str]) -> IO[str] | None:
        if not lines:
            return logf
        if logf is None:
            logf = self._open_log()
            if logf is None:
                return None
        try:
            logf.write("".join(line + "\n" for line in lines))
            logf.flush()
        except OSError as exc:
            self._quiet.log(
                logging.ERROR,
                "log write",
                "camera %s: cannot write %s: %s",
                self.cfg.name,
                self.cfg.log_path,
                exc.strerror,
            )
            with contextlib.suppress(OSError):
                logf.close()
            return None
        return logf

    def _read_segments(
        self,
        stream: IO[bytes],
        run_id: str,
        run_dir: Path,
        header: list[str],
        info_ready: threading.Event,
    ) -> None:
        clock = RunClock()
        journal: Journal | None = None
        info: StreamInfo | None = None
        try:
            journal = Journal(run_dir)
        except OSError as exc:
            self._journal_failed(exc)
        for raw in stream:
            closed_at = now_us()
            parsed = Journal.parse_ffmpeg_line(raw.decode("utf-8", "replace"))
            if parsed is None:
                continue
            name, media_start, media_end = parsed
            if journal is not None:
                try:
                    journal.append(name, media_start, media_end, closed_at)
                except OSError as exc:  # the segment still goes to the sealer
                    self._journal_failed(exc)
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
            self._reconnecting = False  # recording again: its seal says "recording"
        self._stdout_closed.set()  # ffmpeg's stdout closed: it has ended
        self._wake.set()
        if journal is not None:
            try:
                journal.close()
            except OSError as exc:
                self._journal_failed(exc)

    def _journal_failed(self, exc: OSError) -> None:
        if exc.errno == errno.ENOSPC:
            self._no_space.set()
        self._quiet.log(
            logging.ERROR,
            "journal",
            "camera %s: cannot write the run journal: %s (a crash now would lose the media "
            "timing of the segments closed meanwhile)",
            self.cfg.name,
            exc.strerror,
        )

    def _open_gap(self, start_us: int, reason: str) -> None:
        if not self._gap_open:
            self._gap_open = True
            self._emit(GapOpened(self.cfg.camera_id, start_us, reason))


def _address(url: str) -> tuple[str, int] | None:
    """Host and port of an RTSP URL (554 by default; rtsps 322), for the reconnect probe."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    default = 322 if parts.scheme == "rtsps" else 554
    return parts.hostname, port or default


def _port_open(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False
