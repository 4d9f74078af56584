"""An export's progress, measured: each step of the build counts what it has done in its own
units — segment bytes checked or copied, µs of the clip ffmpeg has written (`-progress`) —
and weighs it by an estimate of its cost in footage bytes, so that one number, work done of
the work in all, rises with the work and reaches the total when the bundle is on record.

The weights only share the bar between the steps; inside each step the fraction is what was
measured, never a guess from the time gone by.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

Report = Callable[[int, int], None]  # (done, total) work units; called from worker threads

# What a step costs, in footage bytes per byte of footage: checking or copying the segments
# and remuxing them read every byte once; the watermarked copy re-encodes every frame.
CHECK_WEIGHT = 1
CLIP_WEIGHT = 1
WATERMARK_WEIGHT = 4


class Progress:
    """The steps of one build, each `weight` units; `step(name)` gives the function that
    step reports its own (done, total) to. Reports only what rises, under a lock (the checks
    and ffmpeg report from different threads)."""

    def __init__(self, report: Report | None, weights: dict[str, int]) -> None:
        self._report = report
        self._weights = {k: max(1, int(w)) for k, w in weights.items()}
        self._done = dict.fromkeys(self._weights, 0)
        self._lock = threading.Lock()
        self._reported = -1
        self.total = sum(self._weights.values())

    def step(self, name: str) -> Callable[[int, int], None]:
        weight = self._weights[name]

        def measured(done: int, total: int) -> None:
            share = weight if total <= 0 else weight * min(max(done, 0), total) // total
            with self._lock:
                if share <= self._done[name]:
                    return
                self._done[name] = share
                now = sum(self._done.values())
                if now <= self._reported:
                    return
                self._reported = now
                if self._report is not None:  # under the lock: reports never go back
                    self._report(now, self.total)

        return measured

    def finish(self) -> None:
        """All the work done: the total reported, once (the bundle is on record)."""
        with self._lock:
            self._done = dict(self._weights)
            if self._reported >= self.total:
                return
            self._reported = self.total
            if self._report is not None:
                self._report(self.total, self.total)
