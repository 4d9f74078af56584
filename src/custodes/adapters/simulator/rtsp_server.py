#!/usr/bin/python3
"""Standalone RTSP server for simulated cameras (gst-rtsp-server through PyGObject).

Run with Debian's system python, which is the one that has ``gi``::

    /usr/bin/python3 rtsp_server.py --port 8554 \\
        --mount cam1=/sim/cam1.h264 \\
        --mount cam2=/sim/cam2.h265:h265 \\
        --mount cam3=/sim/cam3.h264:h264:alaw=/sim/tone.alaw \\
        --mount cam4=/sim/cam4.h264:h264:aac=/sim/tone.aac \\
        [--auth USER:PASSWORD]

Each mount is served at ``rtsp://ADDRESS:PORT/NAME``. The clip is a raw Annex-B
elementary stream (no B-frames, parameter sets before every keyframe) that is looped
forever *without re-encoding*::

    multifilesrc loop=true ! h264parse ! video/x-h264,alignment=au ! rtph264pay

A raw elementary stream carries no timestamps and ``h264parse`` leaves PTS unset, so a
pad probe after the parser stamps frame *n* with ``PTS = DTS = n / fps`` (the counter
keeps growing across loops, so timestamps never go backwards) and the RTSP server's sinks,
which synchronise on the pipeline clock, pace the stream in real time. Optional G.711
A-law audio (``:alaw=FILE``, raw 8 kHz mono) is stamped the same way from its byte count
(one byte per sample) and split into 20 ms packets by ``rtppcmapay``, so audio and video
share one time base. Optional AAC-LC audio (``:aac=FILE``, ADTS) is parsed by ``aacparse``,
stamped from its frame count (1024 samples a frame) and sent as RFC 3640 ``mpeg4-generic``
by ``rtpmp4gpay``, as cameras that send AAC do.

Media are shared (``shared=True``): every client of a mount gets the same pipeline, so
the cost is one file read + parse + payload per camera regardless of the number of
clients. Prints ``READY <port>`` on stdout once the server listens; exits cleanly on
SIGTERM / SIGINT. Diagnostics go to stderr.

This file must not import anything from ``custodes`` or third-party packages except gi.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
from dataclasses import dataclass
from typing import Any

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")
CODECS = ("h264", "h265")
AUDIO_RATE = 8000  # A-law: 8 kHz mono, one byte per sample
AUDIO_PACKET_NS = 20_000_000  # 20 ms of audio per RTP packet (160 bytes)
AAC_FRAME = 1024  # samples per AAC-LC frame
AUDIO_KINDS = ("alaw", "aac")
ELEMENTS = (
    "multifilesrc",
    "h264parse",
    "h265parse",
    "rtph264pay",
    "rtph265pay",
    "rawaudioparse",
    "rtppcmapay",
    "aacparse",
    "rtpmp4gpay",
)


@dataclass(frozen=True)
class MountSpec:
    """One ``--mount NAME=PATH[:h264|h265][:alaw=|:aac=AUDIOPATH]`` argument."""

    name: str
    clip: str
    codec: str = "h264"
    audio: str | None = None
    audio_kind: str = "alaw"


def parse_mount(text: str) -> MountSpec:
    """Parse ``NAME=PATH[:h264|h265][:alaw=|:aac=AUDIOPATH]`` (paths may contain ``:``)."""
    name, sep, rest = text.partition("=")
    if not sep or not NAME_RE.match(name):
        raise argparse.ArgumentTypeError(
            f"bad mount {text!r}: expected NAME=PATH[:h264|h265][:alaw=|:aac=AUDIOPATH] "
            "with NAME made of [A-Za-z0-9_-]"
        )
    audio: str | None = None
    audio_kind = "alaw"
    for kind in AUDIO_KINDS:
        head, sep, tail = rest.rpartition(f":{kind}=")
        if sep:
            rest, audio, audio_kind = head, tail, kind
            if not audio:
                raise argparse.ArgumentTypeError(f"bad mount {text!r}: empty {kind}= path")
            break
    codec = "h264"
    for candidate in CODECS:
        if rest.endswith(":" + candidate):
            rest, codec = rest[: -len(candidate) - 1], candidate
            break
    if not rest:
        raise argparse.ArgumentTypeError(f"bad mount {text!r}: empty clip path")
    return MountSpec(name=name, clip=rest, codec=codec, audio=audio, audio_kind=audio_kind)


@dataclass
class _Stamper:
    """Per-pipeline counters for the timestamping probes."""

    default_fps: int
    frame_ns: int = 0
    frames: int = 0
    samples: int = 0
    aac_rate: int = 0


def _launch_line(spec: MountSpec) -> str:
    parse = "h264parse" if spec.codec == "h264" else "h265parse"
    caps = "video/x-h264" if spec.codec == "h264" else "video/x-h265"
    pay = "rtph264pay" if spec.codec == "h264" else "rtph265pay"
    video = (
        f"multifilesrc name=vsrc loop=true caps={caps},stream-format=byte-stream "
        f"! {parse} name=parse "
        f"! {caps},stream-format=byte-stream,alignment=au "
        f"! {pay} name=pay0 pt=96 config-interval=0"
    )
    if spec.audio is None:
        return f"( {video} )"
    if spec.audio_kind == "aac":
        audio = (
            "multifilesrc name=asrc loop=true caps=audio/mpeg,mpegversion=4,stream-format=adts "
            "! aacparse name=aparse ! audio/mpeg,mpegversion=4,stream-format=raw "
            "! rtpmp4gpay name=pay1 pt=97"
        )
        return f"( {video} {audio} )"
    # rawaudioparse turns multifilesrc's BYTES segment into a TIME segment; without it
    # rtppcmapay cannot compute running times and every RTP timestamp comes out equal.
    audio = (
        f"multifilesrc name=asrc loop=true "
        f"! rawaudioparse name=aparse format=alaw sample-rate={AUDIO_RATE} num-channels=1 "
        f"! rtppcmapay name=pay1 pt=8 min-ptime={AUDIO_PACKET_NS} max-ptime={AUDIO_PACKET_NS}"
    )
    return f"( {video} {audio} )"


def _multifilesrc_location(path: str) -> str:
    # multifilesrc treats its location as a printf pattern (for %d); keep '%' literal.
    return path.replace("%", "%%")


def _stamp_video(pad: Gst.Pad, info: Gst.PadProbeInfo, state: _Stamper) -> Gst.PadProbeReturn:
    # The PyGObject wrapper holds an extra reference, so gst_buffer_is_writable() is
    # false here (gst_buffer_resize() etc. would fail), but the parser has just created
    # this buffer and nobody else holds it: writing the timestamp fields directly is safe.
    buf = info.get_buffer()
    if buf is None:
        return Gst.PadProbeReturn.OK
    if state.frame_ns == 0:
        num, den = state.default_fps, 1
        caps = pad.get_current_caps()
        if caps is not None and caps.get_size() > 0:
            ok, n, d = caps.get_structure(0).get_fraction("framerate")
            if ok and n > 0 and d > 0:
                num, den = n, d
        state.frame_ns = Gst.util_uint64_scale_int(Gst.SECOND, den, num)
    ts = state.frames * state.frame_ns
    buf.pts = ts
    buf.dts = ts
    buf.duration = state.frame_ns
    state.frames += 1
    return Gst.PadProbeReturn.OK


def _stamp_audio(pad: Gst.Pad, info: Gst.PadProbeInfo, state: _Stamper) -> Gst.PadProbeReturn:
    buf = info.get_buffer()
    if buf is None:
        return Gst.PadProbeReturn.OK
    size = buf.get_size()
    start = Gst.util_uint64_scale_int(state.samples, Gst.SECOND, AUDIO_RATE)
    end = Gst.util_uint64_scale_int(state.samples + size, Gst.SECOND, AUDIO_RATE)
    buf.pts = start
    buf.dts = start
    buf.duration = end - start
    state.samples += size
    return Gst.PadProbeReturn.OK


def _stamp_aac(pad: Gst.Pad, info: Gst.PadProbeInfo, state: _Stamper) -> Gst.PadProbeReturn:
    # one buffer per AAC frame out of aacparse; frame n starts at n × 1024 / rate
    buf = info.get_buffer()
    if buf is None:
        return Gst.PadProbeReturn.OK
    if state.aac_rate == 0:
        caps = pad.get_current_caps()
        ok, rate = (False, 0)
        if caps is not None and caps.get_size() > 0:
            ok, rate = caps.get_structure(0).get_int("rate")
        state.aac_rate = rate if ok and rate > 0 else 48000
    start = Gst.util_uint64_scale_int(state.samples, Gst.SECOND, state.aac_rate)
    end = Gst.util_uint64_scale_int(state.samples + AAC_FRAME, Gst.SECOND, state.aac_rate)
    buf.pts = start
    buf.dts = start
    buf.duration = end - start
    state.samples += AAC_FRAME
    return Gst.PadProbeReturn.OK


class ClipFactory(GstRtspServer.RTSPMediaFactory):  # type: ignore[misc]
    """Media factory that loops one pre-encoded clip (and optional A-law audio)."""

    def __init__(
        self, spec: MountSpec, default_fps: int, registry: list[Any], role: str | None = None
    ) -> None:
        super().__init__()
        self.spec = spec
        self.default_fps = default_fps
        self.registry = registry
        self.set_shared(True)
        self.set_launch(_launch_line(spec))
        if role is not None:
            self.add_role_from_structure(
                Gst.Structure.new_from_string(
                    f"{role}, media.factory.access=(boolean)true, "
                    "media.factory.construct=(boolean)true"
                )
            )
        self.connect("media-configure", self._on_media_configure)

    def _on_media_configure(self, _factory: Any, media: Any) -> None:
        bin_: Gst.Bin = media.get_element()
        state = _Stamper(default_fps=self.default_fps)
        vsrc = bin_.get_by_name("vsrc")
        vsrc.set_property("location", _multifilesrc_location(self.spec.clip))
        parse = bin_.get_by_name("parse")
        parse.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, _stamp_video, state)
        if self.spec.audio is not None:
            asrc = bin_.get_by_name("asrc")
            asrc.set_property("location", _multifilesrc_location(self.spec.audio))
            aparse = bin_.get_by_name("aparse")
            stamp = _stamp_aac if self.spec.audio_kind == "aac" else _stamp_audio
            aparse.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, stamp, state)
        self.registry.append(media)
        media.connect("unprepared", self._on_unprepared)

    def _on_unprepared(self, media: Any) -> None:
        if media in self.registry:
            self.registry.remove(media)


def parse_auth(text: str) -> tuple[str, str]:
    """Parse ``USER:PASSWORD``."""
    user, sep, password = text.partition(":")
    if not sep or not user:
        raise argparse.ArgumentTypeError("expected USER:PASSWORD")
    return user, password


def build_server(
    address: str,
    port: int,
    mounts: list[MountSpec],
    fps: int,
    auth: tuple[str, str] | None = None,
) -> tuple[Any, list[Any]]:
    server = GstRtspServer.RTSPServer()
    server.set_address(address)
    server.set_service(str(port))
    role: str | None = None
    if auth is not None:
        # Digest, like most real cameras; anonymous clients and wrong passwords get 401.
        # (PyGObject refuses BASIC | DIGEST: the C "flags" are declared as an enum.)
        user, password = auth
        role = "viewer"
        token = GstRtspServer.RTSPToken()  # gst_rtsp_token_new_empty()
        token.set_string("media.factory.role", role)
        rtsp_auth = GstRtspServer.RTSPAuth()
        rtsp_auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        rtsp_auth.add_digest(user, password, token)
        server.set_auth(rtsp_auth)
    registry: list[Any] = []
    table = server.get_mount_points()
    for spec in mounts:
        table.add_factory(f"/{spec.name}", ClipFactory(spec, fps, registry, role))
    return server, registry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True, help="TCP port (0 = any free port)")
    parser.add_argument("--address", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--mount",
        type=parse_mount,
        action="append",
        required=True,
        metavar="NAME=PATH[:h264|h265][:alaw=|:aac=AUDIOPATH]",
    )
    parser.add_argument("--fps", type=int, default=25, help="frame rate if the SPS has none")
    parser.add_argument(
        "--auth",
        type=parse_auth,
        metavar="USER:PASSWORD",
        help="require these credentials (RTSP Digest) on every mount",
    )
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="shut down when the process that started this one exits",
    )
    args = parser.parse_args(argv)
    mounts: list[MountSpec] = args.mount

    names = [m.name for m in mounts]
    if len(set(names)) != len(names):
        parser.error("duplicate mount names")
    for spec in mounts:
        for path in (spec.clip, spec.audio):
            if path is not None:
                try:
                    with open(path, "rb") as fh:
                        if not fh.read(1):
                            parser.error(f"mount {spec.name}: {path} is empty")
                except OSError as exc:
                    parser.error(f"mount {spec.name}: cannot read {path}: {exc}")

    Gst.init(None)
    missing = [
        f
        for f in (
            "multifilesrc",
            "h264parse",
            "h265parse",
            "rtph264pay",
            "rtph265pay",
            "rtppcmapay",
            "aacparse",
            "rtpmp4gpay",
        )
        if Gst.ElementFactory.find(f) is None
    ]
    if missing:
        print(f"missing GStreamer elements: {', '.join(missing)}", file=sys.stderr)
        return 1

    server, registry = build_server(args.address, args.port, mounts, args.fps, args.auth)
    loop = GLib.MainLoop()
    try:
        source_id = server.attach(None)
    except GLib.Error as exc:
        print(f"cannot listen on {args.address}:{args.port}: {exc.message}", file=sys.stderr)
        return 1
    if source_id == 0:
        print(f"cannot listen on {args.address}:{args.port}", file=sys.stderr)
        return 1

    def shutdown(signame: str) -> bool:
        print(f"{signame}: shutting down", file=sys.stderr, flush=True)
        loop.quit()
        return GLib.SOURCE_REMOVE  # type: ignore[no-any-return]

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, shutdown, "SIGTERM")
    if args.exit_with_parent:
        parent = os.getppid()

        def watch_parent() -> bool:
            if os.getppid() != parent:
                return shutdown("parent exited")
            return GLib.SOURCE_CONTINUE  # type: ignore[no-any-return]

        GLib.timeout_add_seconds(1, watch_parent)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, shutdown, "SIGINT")

    print(f"READY {server.get_bound_port()}", flush=True)
    loop.run()

    # Drop the clients, then stop every pipeline so no streaming thread calls back into
    # Python while the interpreter shuts down.
    server.client_filter(lambda _server, _client: GstRtspServer.RTSPFilterResult.REMOVE)
    for media in list(registry):
        pipeline = media.get_element().get_parent()
        if pipeline is not None:
            pipeline.set_state(Gst.State.NULL)
    GLib.source_remove(source_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
