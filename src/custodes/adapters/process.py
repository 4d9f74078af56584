"""Child processes that die with us: a `kill -9` of the service leaves no ffmpeg behind.

Also what keeps their command lines from other local users. ffmpeg takes its input URL, the
camera's credentials inside it, on its command line: the ffmpeg installed here (Debian 12:
5.1) reads no option from a file, and the `-/option file` form of ffmpeg 7 applies to options,
not to `-i`, which its parser takes as a group separator by its exact name. Whoever can read
/proc/<pid>/cmdline of our ffmpeg (`ps`) reads them, unless /proc is mounted with `hidepid`
(1/noaccess, 2/invisible, 4/ptraceable: other users' processes are closed to a user);
`argv_protection` says which is in force, and `custodes status` shows it.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

_PR_SET_PDEATHSIG = 1
PROC_MOUNTS = Path("/proc/mounts")
_HIDING = {"1", "2", "4", "noaccess", "invisible", "ptraceable"}
NO_ARGV_PROTECTION = "none"


def argv_protection(mounts: str | None = None) -> str:
    """`hidepid=<value>` when /proc is mounted so that other local users cannot read our
    processes' command lines, else "none". `mounts` is /proc/mounts' text (read if None)."""
    if mounts is None:
        try:
            mounts = PROC_MOUNTS.read_text()
        except OSError:
            return NO_ARGV_PROTECTION
    found = NO_ARGV_PROTECTION
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[1] != "/proc" or fields[2] != "proc":
            continue
        found = NO_ARGV_PROTECTION  # the last mount on /proc is the one in force
        for option in fields[3].split(","):
            key, _, value = option.partition("=")
            if key == "hidepid" and value in _HIDING:
                found = f"hidepid={value}"
    return found


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
