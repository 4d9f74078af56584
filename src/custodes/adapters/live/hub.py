"""Live view without re-encoding: on-demand ffmpeg per stream, fragments fanned out to viewers.

The recorder's ffmpeg is never touched: a viewer of a camera starts (or joins) a separate
stream-copy ffmpeg with two outputs from one camera connection (cameras allow few RTSP
sessions):

* fragmented MP4 with one fragment per frame to a pipe, for Media Source Extensions. The hub
  keeps the init segment and the fragments since the newest keyframe (the current GOP), gives
  both to each new viewer at once — a viewer joining a running stream starts from that
  keyframe instead of waiting up to a GOP for the next — then forwards every fragment. A
  viewer that falls behind (its queue fills) is dropped rather than let it slow the others.
* HLS (fMP4 segments, one per GOP, a short rolling playlist) in a scratch directory, for
  clients without MSE, which play HLS natively (Safari on iOS, Chromium's own HLS player).

A stream is in use while it has socket viewers or an HLS request came within the linger time;
then ffmpeg is stopped and its HLS directory removed.

The URL a stream connects to carries the camera's credentials. No text the hub makes holds
it unredacted: the reason a stream failed (ffmpeg's last line, an exception's text), which
becomes an HLS 503's detail and a socket's close reason, and its own log lines all go
through the stream's `Redactor` first. The HLS directory is the process's own (0700).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from custodes.adapters.ffmpeg.command import FFMPEG, rtsp_input
from custodes.adapters.ffmpeg.fmp4 import (
    FragmentSplitter,
    codec_string,
    decode_time,
    video_timescale,
)
from custodes.adapters.process import die_with_parent
from custodes.domain.camera import Redactor

log = logging.getLogger(__name__)
QUEUE_FRAGMENTS = 100  # ~4 s at 25 fps: more than that behind and the viewer is dropped
# The current GOP kept for joining viewers, within bounds: a longer GOP is not kept (a viewer
# then waits for the next keyframe, as before) so neither memory nor a join's burst grows.
GOP_FRAGMENTS = QUEUE_FRAGMENTS // 2
GOP_BYTES = 8 * 2**20
READ_CHUNK = 256 * 1024
HLS_PLAYLIST = "index.m3u8"
HLS_INIT = "init.mp4"
HLS_FILE = re.compile(r"^(index\.m3u8|init\.mp4|seg[0-9]{1,9}\.m4s)$")
# Chromium's HLS player refuses a live playlist of one segment; the HLS spec asks clients to
# start three target durations from the end, so the playlist is offered from three segments.
HLS_READY_SEGMENTS = 3
HLS_DIR_PREFIX = "custodes-live-"  # + the owning process's pid + "-": see remove_orphans


class LiveUnavailable(RuntimeError):
    """The stream could not be opened (camera down, not a video stream …)."""


def live_command(url: str, hls_dir: Path) -> list[str]:
    return [
        FFMPEG,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        *rtsp_input(10.0),
        # What ffmpeg reads to learn the stream is output, not thrown away: `-fflags nobuffer`
        # dropped it, the first keyframe with it, and the first viewer waited a GOP more (2 s
        # more on the simulator). It stops reading as soon as it knows the codec (size,
        # reordering: 7 frames of H.264), not after a second of frames to guess a frame rate
        # that a stream copy does not need.
        "-fpsprobesize",
        "0",
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
        "-map",
        "0:v:0",
        "-c",
        "copy",
        "-an",
        "-f",
        "hls",
        "-hls_time",
        "1",  # a segment per GOP: segments are cut at keyframes only
        "-hls_list_size",
        str(HLS_READY_SEGMENTS),  # players start at the first segment listed: keep it short
        "-hls_delete_threshold",
        "3",  # a slow client may still fetch a segment that just left the playlist
        "-hls_segment_type",
        "fmp4",
        "-hls_fmp4_init_filename",
        HLS_INIT,
        "-hls_flags",
        "delete_segments+omit_endlist+independent_segments+temp_file",
        "-hls_segment_filename",
        str(hls_dir / "seg%d.m4s"),
        str(hls_dir / HLS_PLAYLIST),
    ]


def remove_orphans(root: Path) -> list[Path]:
    """Remove HLS directories left by live servers that died without cleaning up (kill -9):
    those whose owning pid no longer runs."""
    removed = []
    for d in root.glob(f"{HLS_DIR_PREFIX}*-*"):
        pid_text = d.name[len(HLS_DIR_PREFIX) :].split("-", 1)[0]
        if not pid_text.isdigit() or not d.is_dir():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
        except PermissionError:
            continue  # alive, someone else's
    return removed


def scratch_root() -> Path:
    """Where HLS segments are written: RAM (/dev/shm) where there is one, else the temp dir."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return shm
    return Path(tempfile.gettempdir())


@dataclass(eq=False)  # identity: each viewer is its own
class Viewer:
    queue: asyncio.Queue[bytes | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_FRAGMENTS)
    )
    synced: bool = False  # has had its first keyframe


class LiveStream:
    def __init__(self, key: str, url: str, hls_root: Path) -> None:
        self.key = key
        self._url = url
        self._redact = Redactor(url)
        self.hls_dir = Path(
            tempfile.mkdtemp(prefix=f"{HLS_DIR_PREFIX}{os.getpid()}-", dir=hls_root)
        )
        self.viewers: set[Viewer] = set()
        self.last_used = time.monotonic()  # last HLS request or socket viewer leaving
        self.reaper: asyncio.Task[None] | None = None
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
        # fragments from the newest keyframe on; None while the GOP is past the bounds
        self._gop: list[bytes] | None = None
        self._gop_bytes = 0

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
                *live_command(self._url, self.hls_dir),
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
            last = text.splitlines()[-1] if text else "the camera ended the stream"
            self._error = self._redact(last)
        except Exception as exc:
            # its text, not its traceback: an exception's text may hold the URL it was about
            self._error = self._redact(f"{type(exc).__name__}: {exc}")
            log.error("live %s failed: %s", self.key, self._error)
        finally:
            await self._stop_process()
            self.done = True
            self._ready.set()
            for viewer in list(self.viewers):
                self._close(viewer)

    def idle_for(self) -> float:
        """Seconds without a socket viewer or an HLS request (0 while someone watches)."""
        return 0.0 if self.viewers else time.monotonic() - self.last_used

    async def wait_hls(self, timeout: float) -> None:
        """Wait until the HLS playlist holds enough segments for a player to start."""
        await self.wait_ready(timeout)
        playlist = self.hls_dir / HLS_PLAYLIST
        deadline = time.monotonic() + timeout
        while not self.done:
            with contextlib.suppress(FileNotFoundError):
                if playlist.read_text().count("#EXTINF") >= HLS_READY_SEGMENTS:
                    return
            if time.monotonic() > deadline:
                raise LiveUnavailable(f"no HLS playlist within {timeout:.0f} s")
            await asyncio.sleep(0.1)
        raise LiveUnavailable(self._error or "the live stream ended")

    def _note_arrival(self, moof_mdat: bytes, arrived: float) -> None:
        ticks = decode_time(moof_mdat)
        if ticks is not None and self.timescale:
            self.arrivals.append((ticks / self.timescale, arrived))

    def join(self, viewer: Viewer) -> None:
        """Start `viewer` from the current GOP's keyframe, if one is kept: its fragments go
        on its queue now, and it is synced. Nothing awaits in between, so no fragment is
        missed or sent twice (fan-out runs on the same event loop)."""
        if viewer.synced or not self._gop:
            return
        for data in self._gop:
            viewer.queue.put_nowait(data)
        viewer.synced = True

    def _keep(self, data: bytes, keyframe: bool) -> None:
        if keyframe:
            self._gop, self._gop_bytes = [], 0
        if self._gop is None:
            return
        self._gop.append(data)
        self._gop_bytes += len(data)
        if len(self._gop) > GOP_FRAGMENTS or self._gop_bytes > GOP_BYTES:
            self._gop = None  # too long a GOP to replay: joiners wait for the next keyframe

    def _fan_out(self, data: bytes, keyframe: bool) -> None:
        self._keep(data, keyframe)
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
        shutil.rmtree(self.hls_dir, ignore_errors=True)

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

    def __init__(
        self,
        linger_s: float = 10.0,
        ready_timeout_s: float = 15.0,
        hls_root: Path | None = None,
    ) -> None:
        self._streams: dict[str, LiveStream] = {}
        self._linger_s = linger_s
        self._ready_timeout_s = ready_timeout_s
        self._hls_root = hls_root or scratch_root()
        remove_orphans(self._hls_root)
        self._reapers: set[asyncio.Task[None]] = set()

    def streams(self) -> dict[str, LiveStream]:
        return dict(self._streams)

    def _stream(self, key: str, url: str) -> LiveStream:
        stream = self._streams.get(key)
        if stream is None or stream.done:
            stream = LiveStream(key, url, self._hls_root)
            self._streams[key] = stream
            stream.start()
        return stream

    @contextlib.asynccontextmanager
    async def watch(self, key: str, url: str) -> AsyncIterator[tuple[LiveStream, Viewer]]:
        """A socket viewer of stream ``key``: fragments arrive on ``viewer.queue``."""
        stream = self._stream(key, url)
        viewer = Viewer()
        stream.viewers.add(viewer)
        try:
            await stream.wait_ready(self._ready_timeout_s)
            stream.join(viewer)
            yield stream, viewer
        finally:
            stream.viewers.discard(viewer)
            stream.last_used = time.monotonic()
            self._schedule_reap(key, stream)

    async def hls(self, key: str, url: str, *, playlist: bool) -> LiveStream | None:
        """The stream for an HLS request, kept while requests come. Only a playlist request
        starts one (and waits for it); a segment of a stream that is not running is None —
        the player fetches the playlist again."""
        stream = self._streams.get(key)
        if stream is None or stream.done:
            if not playlist:
                return None
            stream = self._stream(key, url)
        stream.last_used = time.monotonic()
        self._schedule_reap(key, stream)
        if playlist:
            await stream.wait_hls(self._ready_timeout_s)
        return stream

    def _schedule_reap(self, key: str, stream: LiveStream) -> None:
        if stream.reaper is None or stream.reaper.done():
            stream.reaper = asyncio.create_task(self._reap(key, stream))
            self._reapers.add(stream.reaper)
            stream.reaper.add_done_callback(self._reapers.discard)

    async def _reap(self, key: str, stream: LiveStream) -> None:
        """Stop ``stream`` once nobody used it for the linger time."""
        while self._streams.get(key) is stream and not stream.done:
            idle = stream.idle_for()
            if stream.viewers:
                return  # the last viewer to leave schedules the next check
            if idle >= self._linger_s:
                del self._streams[key]
                await stream.stop()
                return
            await asyncio.sleep(self._linger_s - idle + 0.05)
        if stream.done:
            await stream.stop()  # it ended by itself: remove its HLS directory

    async def close(self) -> None:
        for reaper in list(self._reapers):
            reaper.cancel()
        for key, stream in list(self._streams.items()):
            del self._streams[key]
            await stream.stop()
