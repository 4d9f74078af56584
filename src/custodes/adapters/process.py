"""Child processes that die with us: a `kill -9` of the service leaves no ffmpeg behind."""

from __future__ import annotations

import ctypes
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def spawn(
    argv: Sequence[str],
    *,
    stdout: int | IO[Any] | None = subprocess.PIPE,
    stderr: int | IO[Any] | None = subprocess.PIPE,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a child in its own process group that is killed when this process dies.

    PR_SET_PDEATHSIG fires when the spawning *thread* exits, so spawn from a thread that
    outlives the child (the stream worker waits for its ffmpeg).
    """
    return subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        cwd=cwd,
        preexec_fn=die_with_parent,
        process_group=0,
    )


def terminate(proc: subprocess.Popen[bytes], grace_s: float = 5.0) -> int:
    """SIGTERM (ffmpeg then closes its current segment cleanly), SIGKILL after the grace."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()
