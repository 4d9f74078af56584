"""Live view without re-encoding: on-demand ffmpeg per stream, fragments fanned out to viewers.

The recorder's ffmpeg is never touched: a viewer of a camera starts (or joins) a separate
stream-copy ffmpeg that writes fragmented MP4 with one fragment per frame to a pipe. The hub
keeps the init segment, gives it to each new viewer, then forwards fragments from the next
keyframe on. A viewer that falls behind (its queue fills) is dropped rather than let it slow
the others; when the last viewer leaves, ffmpeg is stopped after a short linger.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from custodes.adapters.ffmpeg.command import FFMPEG
from custodes.adapters.ffmpeg.fmp4 import (
    FragmentSplitter,
    codec_string,
    decode_time,
    video_timescale,
)
from custodes.adapters.process import die_with_parent

log = logging.getLogger(__name__)
QUEUE_FRAGMENTS = 100  # ~4 s at 25 fps: more than that behind and the viewer is dropped
READ_CHUNK = 256 * 1024


class LiveUnavailable(RuntimeError):
    """The stream could not be opened (camera down, not a video stream …)."""


def live_command(url: str) -> list[str]:
    return [
        FFMPEG,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-rtsp_transport",
        "tcp",
        "-timeout",
        "10000000",
        "-fflags",
        "nobuffer",
        "-flags",
        "low_delay",
        "-i",
        url,
        "-map",
        "0:v:0",
        "-c",
        "copy",
        "-an",
        "-f",
        "mp4",
        "-movflags",
        "frag_every_frame+empty_moov+default_base_moof",
        "pipe:1",
    ]


@dataclass(eq=False)  # identity: each viewer is its own
class Viewer:
    queue: asyncio.Queue[bytes | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_FRAGMENTS)
    )
    synced: bool = False  # has had its first keyframe


class LiveStream:
    def __init__(self, key: str, url: str, linger_s: float) -> None:
        self.key = key
        self._url = url
        self._linger_s = linger_s
        self.viewers: set[Viewer] = set()
        self.init: bytes | None = None
        self.codec: str | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._error = ""
        self.done = False
        self.timescale: int | None = None
        # (media seconds, wall time the fragment arrived from ffmpeg): what live latency is
        # measured against — the time a viewer shows a frame minus the time it arrived here.
        self.arrivals: collections.deque[tuple[float, float]] = collections.deque(maxlen=3000)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"live-{self.key}")

    async def wait_ready(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            raise LiveUnavailable(f"no video from the camera within {timeout:.0f} s") from None
        if self.init is None:
            raise LiveUnavailable(self._error or "the live stream ended")

    async def _run(self) -> None:
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *live_command(self._url),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                preexec_fn=die_with_parent,
            )
            assert self._proc.stdout is not None
            splitter = FragmentSplitter()
            while chunk := await self._proc.stdout.read(READ_CHUNK):
                arrived = time.time()
                for fragment in splitter.feed(chunk):
                    self._note_arrival(fragment.data, arrived)
                    self._fan_out(fragment.data, fragment.keyframe)
                if self.init is None and splitter.init is not None:
                    self.init = splitter.init
                    self.codec = codec_string(self.init)
                    self.timescale = video_timescale(self.init)
                    self._ready.set()
            err = await self._proc.stderr.read() if self._proc.stderr else b""
            text = err.decode("utf-8", "replace").strip()
            self._error = text.splitlines()[-1] if text else "the camera ended the stream"
        except Exception as exc:
            self._error = str(exc)
            log.exception("live %s failed", self.key)
        finally:
            await self._stop_process()
            self.done = True
            self._ready.set()
            for viewer in list(self.viewers):
                self._close(viewer)

    def _note_arrival(self, moof_mdat: bytes, arrived: float) -> None:
        ticks = decode_time(moof_mdat)
        if ticks is not None and self.timescale:
            self.arrivals.append((ticks / self.timescale, arrived))

    def _fan_out(self, data: bytes, keyframe: bool) -> None:
        for viewer in list(self.viewers):
            if not viewer.synced:
                if not keyframe:
                    continue
                viewer.synced = True
            try:
                viewer.queue.put_nowait(data)
            except asyncio.QueueFull:
                log.warning("live %s: a viewer fell behind and was dropped", self.key)
                self._close(viewer)

    def _close(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)
        while True:
            try:
                viewer.queue.put_nowait(None)
                return
            except asyncio.QueueFull:
                viewer.queue.get_nowait()

    async def stop(self) -> None:
        await self._stop_process()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _stop_process(self) -> None:
        proc = self._proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
                await proc.wait()


class LiveHub:
    """All live streams of one web server (one event loop)."""

    def __init__(self, linger_s: float = 10.0, ready_timeout_s: float = 15.0) -> None:
        self._streams: dict[str, LiveStream] = {}
        self._linger_s = linger_s
        self._ready_timeout_s = ready_timeout_s
        self._reapers: set[asyncio.Task[None]] = set()

    def streams(self) -> dict[str, LiveStream]:
        return dict(self._streams)

    @contextlib.asynccontextmanager
    async def watch(self, key: str, url: str) -> AsyncIterator[tuple[LiveStream, Viewer]]:
        stream = self._streams.get(key)
        if stream is None or stream.done:
            stream = LiveStream(key, url, self._linger_s)
            self._streams[key] = stream
            stream.start()
        viewer = Viewer()
        stream.viewers.add(viewer)
        try:
            await stream.wait_ready(self._ready_timeout_s)
            yield stream, viewer
        finally:
            stream.viewers.discard(viewer)
            if not stream.viewers:
                reaper = asyncio.create_task(self._reap(key, stream))
                self._reapers.add(reaper)
                reaper.add_done_callback(self._reapers.discard)

    async def _reap(self, key: str, stream: LiveStream) -> None:
        await asyncio.sleep(self._linger_s)
        if not stream.viewers and self._streams.get(key) is stream:
            del self._streams[key]
            await stream.stop()

    async def close(self) -> None:
        for key, stream in list(self._streams.items()):
            del self._streams[key]
            await stream.stop()
