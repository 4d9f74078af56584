"""Logging that a failure repeating many times a second cannot flood: the first line of a
kind is written, repeats within `every_s` are counted, and the count is said with the next
line of that kind ("… and 57 more like it in the last 60 s")."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable


class LogLimiter:
    def __init__(
        self,
        logger: logging.Logger,
        every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        self._every = every_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def log(self, level: int, key: str, message: str, *args: object) -> bool:
        """Log unless a line of `key` was logged less than `every_s` ago; True if logged."""
        now = self._clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self._every:
                self._held[key] = self._held.get(key, 0) + 1
                return False
            held = self._held.pop(key, 0)
            self._last[key] = now
        if held:
            message += f" (and {held} more like it in the last {self._every:.0f} s)"
        self._log.log(level, message, *args)
        return True


class LineCollapser:
    """For a stream of log lines (ffmpeg's stderr into a camera's log file): a line equal
    to the one before is not written again; the repeat count is written once it changes
    ("last line repeated 812 times"), and no more than `per_minute` lines a minute are
    written at all (then one line saying how many were left out)."""

    def __init__(self, per_minute: int = 600, clock: Callable[[], float] = time.monotonic) -> None:
        self._per_minute = per_minute
        self._clock = clock
        self._previous: str | None = None
        self._repeats = 0
        self._window = clock()
        self._written = 0
        self._dropped = 0

    def feed(self, line: str) -> list[str]:
        out: list[str] = []
        if line == self._previous:
            self._repeats += 1
            return out
        if self._repeats:
            out.append(f"(last line repeated {self._repeats} more times)")
            self._repeats = 0
        self._previous = line
        out.append(line)
        return self._budget(out)

    def flush(self) -> list[str]:
        out = [f"(last line repeated {self._repeats} more times)"] if self._repeats else []
        self._repeats = 0
        return self._budget(out)

    def _budget(self, lines: list[str]) -> list[str]:
        now = self._clock()
        out: list[str] = []
        if now - self._window >= 60.0:
            if self._dropped:
                out.append(f"({self._dropped} lines left out of this log in the last minute)")
            self._window, self._written, self._dropped = now, 0, 0
        for line in lines:
            if self._written < self._per_minute:
                out.append(line)
                self._written += 1
            else:
                self._dropped += 1
        return out
