"""What a stream worker tells the sealer. Handled in order per camera, off the recording path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from custodes.domain.alarm_wording import Wording
from custodes.services.sealing import SegmentClosed

__all__ = ["AudioDropped", "Event", "GapOpened", "RunEnded", "SegmentClosed", "StateChanged"]


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
    said: Wording | None = None  # the error as an alarm says it (a full disk)


@dataclass(frozen=True)
class RunEnded:
    """ffmpeg has exited: settle whatever it left in its run directory."""

    camera_id: int
    run_dir: Path


@dataclass(frozen=True)
class AudioDropped:
    """The camera's audio cannot be stored without transcoding: remembered for the camera,
    so that later starts record video only at once."""

    camera_id: int
    codec: str


Event = SegmentClosed | GapOpened | StateChanged | RunEnded | AudioDropped
