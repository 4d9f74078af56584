"""Capped exponential back-off for reconnecting to a lost camera (pure)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Backoff:
    initial_s: float = 1.0
    cap_s: float = 30.0
    factor: float = 2.0
    _next: float = 0.0

    def next_delay(self) -> float:
        """The wait before the next attempt; grows on each failure up to the cap."""
        delay = self._next or self.initial_s
        self._next = min(delay * self.factor, self.cap_s)
        return delay

    def reset(self) -> None:
        """Called once a segment has been recorded: the camera is healthy again."""
        self._next = 0.0
