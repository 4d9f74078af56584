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
from custodes.entrypoints.cli_i18n import LANG, _, lead, sentence
from custodes.entrypoints.web import said
from custodes.services.status import (
    AlarmStatus,
    CameraStatus,
    SystemStatus,
    TlsStatus,
    camera_status,
    system_status,
)

_context = context
ARGV_WARNING = (  # msgid
    "ffmpeg's command line, camera credentials included, is readable by every local user "
    "(ps): mount /proc with hidepid=invisible (docs/SECURITY.md)"
)
WARNING = "[yellow]{}[/]".format(lead(_("warning:")))


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
    table.add_column(_("id"), justify="right", no_wrap=True)
    table.add_column(_("camera"), overflow="ellipsis", max_width=14, no_wrap=True)
    table.add_column(_("state"), no_wrap=True)
    table.add_column(_("segments"), justify="right", no_wrap=True)
    table.add_column(_("size"), justify="right", no_wrap=True)
    table.add_column(_("newest"), justify="right", no_wrap=True)
    table.add_column(_("gaps 24h"), justify="right", no_wrap=True)
    table.add_column(_("stream"), no_wrap=True)
    notes: list[str] = []
    for r in rows:
        table.add_row(  # stored text is text, never markup ("[rtsp @ 0x…]" is ffmpeg's)
            str(r.id),
            escape(r.name),
            escape(_(r.state)),
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
    recorder = _("running") if system.recorder_running else "[yellow]{}[/]".format(_("not running"))
    disk = ""
    if system.disk is not None:
        d = system.disk
        disk = _("; disk %(free)s free of %(total)s (reserve %(reserve)s)") % {
            "free": _size(d.free_bytes),
            "total": _size(d.total_bytes),
            "reserve": _size(d.reserve_bytes),
        }
    protection = escape(_(system.protection))  # "immutable" or "read-only"
    lines.append(
        _("recorder: %(recorder)s; sealed files: %(protection)s%(disk)s")
        % {"recorder": recorder, "protection": protection, "disk": disk}
    )
    if system.process_arguments == NO_ARGV_PROTECTION:
        lines.append(WARNING + _(ARGV_WARNING))
    else:
        lines.append(
            _("process arguments: hidden from other users (%(how)s)")
            % {"how": system.process_arguments}
        )
    if system.tls is not None:
        lines.append(_tls_line(system.tls))
    if system.disk is not None and system.disk.warning:
        lines.append(WARNING + escape(sentence(system.disk.warning)))
    for alarm in system.alarms:
        lines.append("[red]{}[/red] {}".format(_("ALARM"), escape(_alarm_line(alarm))))
    return lines


def _alarm_line(alarm: AlarmStatus) -> str:
    """An alarm: its kind (an id, as `alarm list` names it), since when, what happened."""
    text = _("%(kind)s since %(raised)s: %(message)s") % {
        "kind": alarm.kind,
        "raised": alarm.raised,
        "message": said.alarm_message(alarm.message, alarm.message_key, alarm.params, LANG),
    }
    if alarm.acknowledgeable:
        text += _(" (acknowledge: custodes alarm ack %(id)s)") % {"id": alarm.id}
    return text


def _tls_line(t: TlsStatus) -> str:
    fix = _("`custodes tls renew` or `custodes tls install`")
    if t.state == "missing":
        return "[yellow]{}[/] ({})".format(
            _("TLS certificate: none"),
            _("`serve` makes one; %(fix)s") % {"fix": fix},
        )
    if t.state == "damaged":
        problem = escape(sentence(t.problem or ""))
        return "[red]{}[/] {} ({})".format(_("TLS certificate damaged:"), problem, fix)
    until = (t.not_after or "")[:10]
    origin = _("made here") if t.made_here else _("the operator's")
    text = _("TLS certificate (%(origin)s) until %(until)s, SHA-256 %(fingerprint)s…") % {
        "origin": origin,
        "until": until,
        "fingerprint": (t.fingerprint or "")[:17],
    }
    if t.state == "expired":
        expired = _("TLS certificate expired on %(until)s") % {"until": until}
        return f"[red]{expired}[/] ({fix})"
    if t.state == "expiring":
        return "[yellow]{}[/] — {} ({})".format(text, _("expires soon"), fix)
    return text


def _notes(r: CameraStatus) -> list[str]:
    notes = []
    if r.detail:
        notes.append(sentence(r.detail))
    if r.open_gap_since:
        notes.append(_("not recording since %(since)s") % {"since": r.open_gap_since})
    if r.last_error:  # ffmpeg's or the system's own words: as they are
        notes.append(
            _("last error (%(at)s): %(error)s") % {"at": r.last_error_at, "error": r.last_error}
        )
    if r.audio_dropped and not (r.detail and "audio" in r.detail):
        notes.append(
            _("audio (%(codec)s) not recorded: MP4 cannot carry it") % {"codec": r.audio_dropped}
        )
    if r.salvaged_24h or r.quarantined_24h:
        notes.append(
            _(
                "in 24 h: %(salvaged)s segment(s) sealed short, %(quarantined)s file(s) "
                "quarantined (a crash or a full disk)"
            )
            % {"salvaged": r.salvaged_24h, "quarantined": r.quarantined_24h}
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
