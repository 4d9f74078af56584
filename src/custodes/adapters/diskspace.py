"""Free space on the archive's volume, and the guard that stops recording before it runs out.

Recording stops for the cameras writing to a volume when its free space falls below the
reserve, and resumes by itself once free space is back above the resume mark (hysteresis,
so that a camera does not flap at the edge). The reserve keeps room for sealing the segments
already written and for the database: a full disk never makes the system overwrite or
delete footage — it stops adding more.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from custodes.domain.alarm_wording import Wording

RESERVE_ENV = "CUSTODES_DISK_RESERVE_MB"
DEFAULT_RESERVE_BYTES = 512 * 1024 * 1024
# Below this the recorder refuses to start: with no reserve, the disk fills while segments
# are being written and the database needs room to record that it did.
MIN_RESERVE_BYTES = 1024 * 1024
LOW_RESERVE_BYTES = 64 * 1024 * 1024  # below this, a warning: a few cameras' open segments
CACHE_S = 1.0
# After a write was refused (ENOSPC), full for at least this long whatever statvfs says (a
# quota, a filesystem whose metadata ran out): no restart loop every second.
HOLD_AFTER_ENOSPC_S = 30.0


@dataclass(frozen=True)
class Usage:
    total: int
    free: int  # available to this (unprivileged) process
    free_inodes: int | None = None  # None: the filesystem does not count them

    @property
    def used_fraction(self) -> float:
        return 1 - self.free / self.total if self.total else 1.0


MIN_FREE_INODES = 64  # below this, no room for a run's files: as full as no bytes


def usage(path: Path) -> Usage:
    st = os.statvfs(path)
    inodes = st.f_favail if st.f_files else None
    return Usage(st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize, inodes)


class ReserveTooSmall(ValueError):
    pass


def reserve_bytes() -> int:
    """The reserve from CUSTODES_DISK_RESERVE_MB (default 512 MB). Refused below 1 MB."""
    raw = os.environ.get(RESERVE_ENV)
    if not raw:
        return DEFAULT_RESERVE_BYTES
    try:
        value = int(float(raw) * 1024 * 1024)
    except ValueError:
        raise ReserveTooSmall(f"{RESERVE_ENV}={raw!r} is not a number of megabytes") from None
    if value < MIN_RESERVE_BYTES:
        raise ReserveTooSmall(
            f"{RESERVE_ENV}={raw} is below the minimum of {MIN_RESERVE_BYTES // 2**20} MB: "
            "with no reserve the disk fills while segments are being written and the "
            f"database cannot record it (default {DEFAULT_RESERVE_BYTES // 2**20} MB)"
        )
    return value


def reserve_warning(reserve: int) -> str | None:
    """A sentence for the log and `status` when the reserve is small enough to matter."""
    if reserve >= LOW_RESERVE_BYTES:
        return None
    return (
        f"the disk reserve is {reserve / 2**20:.0f} MB ({RESERVE_ENV}): a full disk may cut "
        f"open segments short before recording stops (default {DEFAULT_RESERVE_BYTES // 2**20} MB)"
    )


class DiskGuard:
    """Shared by the workers of one archive volume; cheap to ask (statvfs at most once a
    second)."""

    def __init__(self, path: Path, reserve: int | None = None) -> None:
        self.path = path
        self.reserve = reserve if reserve is not None else reserve_bytes()
        self.resume_at = self.reserve * 2
        self._lock = threading.Lock()
        self._full = False
        self._checked = 0.0
        self._free = 0
        self._hold_until = 0.0

    def full(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if now < self._hold_until:
                return True
            if now - self._checked >= CACHE_S:
                use = usage(self.path)
                self._free = use.free
                self._checked = now
                no_inodes = use.free_inodes is not None and use.free_inodes < MIN_FREE_INODES
                if self._full:
                    self._full = self._free < self.resume_at or no_inodes
                else:
                    self._full = self._free < self.reserve or no_inodes
            return self._full

    def ran_out(self) -> None:
        """A write failed with ENOSPC (the reserve was not enough, or another process filled
        the disk between two looks): full until free space is back above the resume mark."""
        with self._lock:
            self._full = True
            self._checked = time.monotonic()
            self._hold_until = self._checked + HOLD_AFTER_ENOSPC_S
            self._free = usage(self.path).free

    def describe(self) -> str:
        return self.wording().english

    def wording(self) -> Wording:
        """What the disk-full alarm says (domain/alarm_wording.py)."""
        return Wording(
            "disk-full-camera",
            {
                "free_mb": f"{self._free / 1e6:,.0f}",
                "path": str(self.path),
                "reserve_mb": f"{self.reserve / 1e6:,.0f}",
                "resume_mb": f"{self.resume_at / 1e6:,.0f}",
            },
        )
