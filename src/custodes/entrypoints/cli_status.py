"""`custodes status`: what each camera and the system are doing.

The table keeps to what fits 80 columns (state, how much, how fresh, gaps, the stream);
everything longer — the state's detail, the last error, audio not kept, footage cut short —
goes on lines of its own under the table, and the alarms after them.
"""

from __future__ import annotations

import json

from rich.markup import escape
from rich.table import Table

from custodes.adapters.process import NO_ARGV_PROTECTION
from custodes.entrypoints.cli_common import DataOpt, JsonOpt, context, out
from custodes.entrypoints.web import i18n, said
from custodes.services.status import (
    CameraStatus,
    SystemStatus,
    TlsStatus,
    camera_status,
    system_status,
)

_context = context
ARGV_WARNING = (
    "ffmpeg's command line, camera credentials included, is readable by every local user "
    "(ps): mount /proc with hidepid=invisible (docs/SECURITY.md)"
)


def status(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Per camera: state, segments, bytes, newest segment age, gaps in 24 h, the stream;
    then notes, alarms, the disk and the recorder."""
    ctx = _context(data)
    rows = camera_status(ctx)
    system = system_status(ctx)
    if as_json:
        payload = {"cameras": [r.to_json() for r in rows], **system.to_json()}
        out.print_json(json.dumps(payload, ensure_ascii=False))
        return
    for line in render(rows, system):
        out.print(line, highlight=False)


def render(rows: list[CameraStatus], system: SystemStatus) -> list[Table | str]:
    # one space between columns; only the camera's name gives way (an ellipsis) when space
    # runs out: numbers are never cut
    table = Table(box=None, pad_edge=False, padding=(0, 1, 0, 0), header_style="bold")
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("camera", overflow="ellipsis", max_width=14, no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("segments", justify="right", no_wrap=True)
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("newest", justify="right", no_wrap=True)
    table.add_column("gaps 24h", justify="right", no_wrap=True)
    table.add_column("stream", no_wrap=True)
    notes: list[str] = []
    for r in rows:
        table.add_row(  # stored text is text, never markup ("[rtsp @ 0x…]" is ffmpeg's)
            str(r.id),
            escape(r.name),
            escape(r.state),
            f"{r.segments:,}",
            _size(r.bytes),
            _age(r.newest_age_s),
            f"{r.gaps_24h} ({_duration(r.gap_seconds_24h)})" if r.gaps_24h else "0",
            escape(_stream(r)),
        )
        notes.extend(escape(f"  {r.id} {r.name}: {n}") for n in _notes(r))
    lines: list[Table | str] = [table]
    if notes:
        lines += ["", *notes]
    lines.append("")
    recorder = "running" if system.recorder_running else "[yellow]not running[/]"
    disk = ""
    if system.disk is not None:
        d = system.disk
        disk = f"; disk {_size(d.free_bytes)} free of {_size(d.total_bytes)}"
        disk += f" (reserve {_size(d.reserve_bytes)})"
    lines.append(f"recorder: {recorder}; sealed files: {escape(system.protection)}{disk}")
    if system.process_arguments == NO_ARGV_PROTECTION:
        lines.append(f"[yellow]warning:[/] {ARGV_WARNING}")
    else:
        lines.append(f"process arguments: hidden from other users ({system.process_arguments})")
    if system.tls is not None:
        lines.append(_tls_line(system.tls))
    if system.disk is not None and system.disk.warning:
        lines.append(f"[yellow]warning:[/] {escape(system.disk.warning)}")
    lang = i18n.cli_lang()
    for alarm in system.alarms:
        ack = f" (acknowledge: custodes alarm ack {alarm.id})" if alarm.acknowledgeable else ""
        message = said.alarm_message(alarm.message, alarm.message_key, alarm.params, lang)
        text = escape(f"{alarm.kind} since {alarm.raised}: {message}{ack}")
        lines.append(f"[red]ALARM[/red] {text}")
    return lines


def _tls_line(t: TlsStatus) -> str:
    fix = "`custodes tls renew` or `custodes tls install`"
    if t.state == "missing":
        return f"[yellow]TLS certificate: none[/] (`serve` makes one; {fix})"
    if t.state == "damaged":
        return f"[red]TLS certificate damaged:[/] {escape(t.problem or '')} ({fix})"
    until = (t.not_after or "")[:10]
    origin = "made here" if t.made_here else "the operator's"
    text = f"TLS certificate ({origin}) until {until}, SHA-256 {(t.fingerprint or '')[:17]}…"
    if t.state == "expired":
        return f"[red]TLS certificate expired on {until}[/] ({fix})"
    if t.state == "expiring":
        return f"[yellow]{text}[/] — expires soon ({fix})"
    return text


def _notes(r: CameraStatus) -> list[str]:
    notes = []
    if r.detail:
        notes.append(r.detail)
    if r.open_gap_since:
        notes.append(f"not recording since {r.open_gap_since}")
    if r.last_error:
        notes.append(f"last error ({r.last_error_at}): {r.last_error}")
    if r.audio_dropped and not (r.detail and "audio" in r.detail):
        notes.append(f"audio ({r.audio_dropped}) not recorded: MP4 cannot carry it")
    if r.salvaged_24h or r.quarantined_24h:
        notes.append(
            f"in 24 h: {r.salvaged_24h} segment(s) sealed short, "
            f"{r.quarantined_24h} file(s) quarantined (a crash or a full disk)"
        )
    return notes


def _stream(r: CameraStatus) -> str:
    """Short: codec, lines, audio ("hevc 2160p+aac"); `camera show` gives the full size."""
    if not r.video_codec:
        return "—"
    size = f" {r.height}p" if r.height else ""
    audio = f"+{r.audio_codec}" if r.audio_codec else ""
    return f"{r.video_codec}{size}{audio}"


def _size(n: int) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= scale:
            return f"{n / scale:.1f}{unit}"
    return f"{n / 1e3:.0f}kB"


def _age(seconds: float | None) -> str:
    return "—" if seconds is None else _duration(seconds)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172_800:
        return f"{seconds / 3600:.0f}h"
    return f"{seconds / 86400:.0f}d"
