"""Run the simulated-camera RTSP server (``rtsp_server.py``) as a child process.

The server needs PyGObject + GStreamer, which only Debian's system python has, so it is
started as ``/usr/bin/python3 rtsp_server.py ...`` in its own session (process group);
this module itself uses only the standard library.

``prepare_cameras`` encodes one clip per camera, each with the camera's own name burned
in, on a thread pool of ``min(count, os.cpu_count())`` ffmpeg processes. Measured on the
2-core development machine (4 s, 1080p25, H.264, ``-preset superfast``): one clip takes
about 0.7 s wall (ffmpeg already uses both cores), 16 clips 9.3 s and 64 clips 38.7 s
with two workers (``veryfast`` was ~1.4x slower: 64 clips in 52.6 s); an H.265 clip
takes about 3.2 s. Clips are cached in ``sim_dir``, so that cost is paid once per
``sim_dir``. That is fast enough that every camera keeps its own name burned in; no clip
is shared between cameras.

Serving is cheap because nothing is encoded live: per camera the server reads a ~2 MB
file per 4 s loop, parses it into frames, stamps timestamps and payloads RTP. Measured
(same machine, each mount with one ``ffmpeg -rtsp_transport tcp -i URL -c copy -f null -``
client, 20 s): 16 mounts ≈ 12-13 % of one core (RSS ≈ 85 MB), 64 mounts ≈ 42 % of one
core (RSS ≈ 250 MB); 0 % with no clients, since idle media are torn down.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from custodes.adapters.simulator.clips import Codec, SimulatorError, ensure_clip

SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")
SYSTEM_PYTHON = "/usr/bin/python3"
STOP_GRACE_S = 5.0
_LOG_TAIL = 4000
_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass
class Mount:
    """One simulated camera: served at ``rtsp://127.0.0.1:PORT/<name>``."""

    name: str
    clip: Path
    codec: str = "h264"
    audio: Path | None = None

    def argument(self) -> str:
        """The ``--mount`` argument for ``rtsp_server.py``."""
        text = f"{self.name}={self.clip}:{self.codec}"
        if self.audio is not None:  # clips.ensure_aac writes .aac, ensure_audio A-law
            kind = "aac" if self.audio.suffix == ".aac" else "alaw"
            text += f":{kind}={self.audio}"
        return text


class Simulator:
    """The RTSP server process serving ``mounts`` on ``127.0.0.1:port``."""

    def __init__(
        self,
        mounts: list[Mount],
        port: int,
        log_path: Path | None = None,
        *,
        auth: tuple[str, str] | None = None,
    ) -> None:
        if not mounts:
            raise SimulatorError("a simulator needs at least one mount")
        for mount in mounts:
            if not _NAME_RE.match(mount.name):
                raise SimulatorError(f"bad mount name {mount.name!r}: use [A-Za-z0-9_-]+")
            if mount.codec not in ("h264", "h265"):
                raise SimulatorError(f"mount {mount.name}: unsupported codec {mount.codec!r}")
        if auth is not None and (not auth[0] or ":" in auth[0]):
            raise SimulatorError("auth user must be non-empty and must not contain ':'")
        self.mounts = list(mounts)
        self.port = port
        self.auth = auth
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._returncode: int | None = None
        self._own_log = False

    @property
    def pid(self) -> int | None:
        """Process id of the running server (``None`` before ``start`` / after ``stop``)."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self.poll() is None and self._proc is not None

    def poll(self) -> int | None:
        """The server's exit status once it has exited (or been stopped), else ``None``."""
        if self._proc is not None:
            return self._proc.poll()
        return self._returncode

    def url(self, name: str) -> str:
        """The RTSP URL of mount ``name`` (without credentials, even with ``auth``)."""
        if name not in {m.name for m in self.mounts}:
            raise KeyError(f"no mount named {name!r}")
        return f"rtsp://127.0.0.1:{self.port}/{name}"

    def command(self) -> list[str]:
        cmd = [SYSTEM_PYTHON, "-u", str(SERVER_SCRIPT), "--port", str(self.port)]
        cmd.append("--exit-with-parent")  # no orphaned server if this process dies
        for mount in self.mounts:
            cmd += ["--mount", mount.argument()]
        if self.auth is not None:
            cmd += ["--auth", f"{self.auth[0]}:{self.auth[1]}"]
        return cmd

    def start(self, timeout: float = 20) -> None:
        """Start the server and wait until it prints ``READY``; raise ``SimulatorError``."""
        if self._proc is not None:
            raise SimulatorError("simulator already started")
        self._returncode = None
        if not Path(SYSTEM_PYTHON).is_file():
            raise SimulatorError(f"{SYSTEM_PYTHON} not found (Debian python3-gi is needed)")
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix="custodes-sim-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
            self._own_log = True
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
        }
        with self.log_path.open("wb") as log:
            # stdout and stderr both go to the log file: no pipe can fill up and block
            # the server, and the READY line is found by reading the file.
            self._proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        expected = f"READY {self.port}" if self.port else "READY "
        deadline = time.monotonic() + timeout
        while True:
            text = self._read_log()
            for line in text.splitlines():
                if line.startswith(expected):
                    if not self.port:
                        self.port = int(line.split()[1])
                    return
            code = self._proc.poll()
            if code is not None:
                self._proc, self._returncode = None, code
                self._drop_own_log()
                raise SimulatorError(
                    f"RTSP simulator exited with status {code} before it was ready:\n"
                    f"{self._tail(text)}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise SimulatorError(
                    f"RTSP simulator not ready after {timeout:g} s:\n{self._tail(text)}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM the server's process group; SIGKILL it if still alive after 5 s."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            self._signal(proc, signal.SIGTERM)
            try:
                proc.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self._signal(proc, signal.SIGKILL)
                proc.wait()
        self._returncode = proc.returncode
        self._drop_own_log()

    def _drop_own_log(self) -> None:
        if self._own_log and self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
            self.log_path = None
            self._own_log = False

    def log_tail(self) -> str:
        """The end of the server's log (stdout + stderr)."""
        return self._tail(self._read_log())

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @staticmethod
    def _signal(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        # The server runs in its own session, so its process group id is its pid.
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:
            proc.send_signal(sig)

    def _read_log(self) -> str:
        if self.log_path is None:
            return ""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    @staticmethod
    def _tail(text: str) -> str:
        text = text.strip()
        return text[-_LOG_TAIL:] if text else "(no output)"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def prepare_cameras(
    sim_dir: Path,
    count: int,
    *,
    prefix: str = "cam",
    codec: Codec = "h264",
    audio: Path | None = None,
    workers: int | None = None,
) -> list[Mount]:
    """Encode (cached) one clip per camera ``<prefix>1..<prefix><count>``; return mounts.

    Each clip has its camera's own name burned in. Encoding runs on a thread pool of
    ``min(count, os.cpu_count())`` workers unless ``workers`` is given.
    """
    if count < 1:
        raise SimulatorError("count must be at least 1")
    names = [f"{prefix}{i}" for i in range(1, count + 1)]
    pool_size = workers or min(count, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="sim-encode") as pool:
        clips: Sequence[Path] = list(
            pool.map(lambda name: ensure_clip(sim_dir, name, codec=codec), names)
        )
    return [
        Mount(name=name, clip=clip, codec=codec, audio=audio)
        for name, clip in zip(names, clips, strict=True)
    ]
