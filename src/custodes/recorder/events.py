"""What a stream worker tells the sealer. Handled in order per camera, off the recording path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from custodes.services.sealing import SegmentClosed

__all__ = ["Event", "GapOpened", "RunEnded", "SegmentClosed", "StateChanged"]


@dataclass(frozen=True)
class GapOpened:
    """Recording of a camera stopped at `start_us`; closed by the next sealed segment."""

    camera_id: int
    start_us: int
    reason: str


@dataclass(frozen=True)
class StateChanged:
    camera_id: int
    state: str  # starting | recording | reconnecting | stopped
    detail: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class RunEnded:
    """ffmpeg has exited: settle whatever it left in its run directory."""

    camera_id: int
    run_dir: Path


Event = SegmentClosed | GapOpened | StateChanged | RunEnded
