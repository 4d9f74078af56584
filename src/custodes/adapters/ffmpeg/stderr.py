"""Reading ffmpeg's log: what the stream is, and why a run ended, in words a user can act on."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from custodes.domain.camera import redact_text


def redact(line: str) -> str:
    """The line with every URL's user and password replaced by `***`: user:password@ and the
    credential parameters of a query (`?user=…&pwd=…`), in any URL ffmpeg prints ("Input #0,
    rtsp, from 'rtsp://admin:pw@…'", error lines that start with the URL). Its credentials
    never reach a log, a state, a gap reason or an error message."""
    return redact_text(line)


_VIDEO = re.compile(r"Stream #0:\d+.*?: Video: (\w+).*?, (\d{2,5})x(\d{2,5})")
_AUDIO = re.compile(r"Stream #0:\d+.*?: Audio: (\w+)")

# (pattern in ffmpeg's log, what we tell the user), first match wins.
_CAUSES: tuple[tuple[str, str], ...] = (
    ("401 Unauthorized", "camera refused the credentials (401 Unauthorized): check user/password"),
    ("403 Forbidden", "camera refused access (403 Forbidden)"),
    ("404 Not Found", "stream path not found on the camera (404): check the URL"),
    ("Connection refused", "connection refused: camera or RTSP server not listening"),
    ("Connection timed out", "connection timed out: camera unreachable"),
    ("No route to host", "no route to host: camera unreachable"),
    ("Name or service not known", "host name cannot be resolved"),
    ("No space left on device", "disk full: no space left on device"),
    ("Read-only file system", "spool is on a read-only file system"),
    ("Permission denied", "permission denied writing the spool"),
    ("Output file #0 does not contain any stream", "the URL carries no video stream"),
    ("does not contain any stream", "the URL carries no video stream"),
    ("Stream map '0:v:0' matches no streams", "the URL carries no video stream"),
    ("Invalid data found when processing input", "not a video stream (invalid data)"),
    ("method DESCRIBE failed", "camera rejected DESCRIBE: not an RTSP video stream"),
    ("not currently supported in container", "a stream codec cannot be stored in MP4"),
    ("End of file", "camera ended the stream"),
    ("Immediate exit requested", "stopped"),
)

UNSUPPORTED_AUDIO = "not currently supported in container"
NO_SPACE = "No space left on device"
ENDED = "the stream ended: the camera or the network closed the connection"


@dataclass(frozen=True)
class StreamInfo:
    video_codec: str | None = None
    width: int | None = None
    height: int | None = None
    audio_codec: str | None = None


def parse_stream_info(lines: Iterable[str]) -> StreamInfo:
    """Codec and size from the input description ffmpeg logs when a run starts."""
    info = StreamInfo()
    in_input = False
    for line in lines:
        if line.startswith("Input #0"):
            in_input = True
        elif line.startswith("Output #0"):
            break
        if not in_input:
            continue
        if (m := _VIDEO.search(line)) and info.video_codec is None:
            info = StreamInfo(m.group(1), int(m.group(2)), int(m.group(3)), info.audio_codec)
        elif (a := _AUDIO.search(line)) and info.audio_codec is None:
            info = StreamInfo(info.video_codec, info.width, info.height, a.group(1))
    return info


def explain_exit(lines: Iterable[str], returncode: int, *, stopped: bool = False) -> str:
    """One sentence saying why ffmpeg stopped. An exit with status 0 that nobody asked for
    is the input ending (ffmpeg's last line is then only its statistics)."""
    text = "\n".join(lines)
    for needle, cause in _CAUSES:
        if needle in text:
            return cause
    if returncode == 0:
        return "stopped" if stopped else ENDED
    tail = [ln.strip() for ln in text.splitlines() if ln.strip()]
    last = tail[-1] if tail else "no output"
    return f"ffmpeg exited with status {returncode}: {last[:200]}"
