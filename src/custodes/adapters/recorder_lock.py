"""The data directory's recorder lock: one recorder per data directory (an flock on
`recorder.lock`), and the question other processes ask — is a recorder writing here now?"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import IO

LOCK_NAME = "recorder.lock"


PROBE_TRIES = 20  # a `recorder_running` probe holds a shared lock for a moment: try again
PROBE_PAUSE_S = 0.05


def acquire(root: Path) -> IO[str] | None:
    """Take the lock (held while the returned file stays open); None when another process
    holds it. The holder's pid is written into the file, for people."""
    f = (root / LOCK_NAME).open("a+", encoding="utf-8")
    for attempt in range(PROBE_TRIES):
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if attempt == PROBE_TRIES - 1:
                f.close()
                return None
            time.sleep(PROBE_PAUSE_S)
    f.truncate(0)
    f.write(f"{os.getpid()}\n")
    f.flush()
    return f


def release(f: IO[str]) -> None:
    fcntl.flock(f, fcntl.LOCK_UN)
    f.close()


def recorder_running(root: Path) -> bool:
    """Whether another process holds the lock (a recorder is writing this directory)."""
    path = root / LOCK_NAME
    if not path.exists():
        return False
    with path.open("a+", encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
    return False


def started_us(root: Path) -> int | None:
    """When the running recorder took the lock (it rewrites the file then), in µs; None
    when the file is not there. What the database says of a camera from before this time
    was said by an earlier recorder process."""
    try:
        return (root / LOCK_NAME).stat().st_mtime_ns // 1000
    except OSError:
        return None
