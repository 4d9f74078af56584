"""`custodes status`: what each camera and the system are doing."""

from __future__ import annotations

import json

from rich.table import Table

from custodes.entrypoints.cli_common import DataOpt, JsonOpt, context, out
from custodes.services.status import camera_status, system_status

_context = context


def status(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Per camera: state, segments, bytes, newest segment age, gaps in 24 h, last error."""
    ctx = _context(data)
    rows = camera_status(ctx)
    system = system_status(ctx)
    if as_json:
        payload = {"cameras": [r.to_json() for r in rows], **system.to_json()}
        out.print_json(json.dumps(payload, ensure_ascii=False))
        return
    table = Table("id", "name", "state", "segments", "MB", "newest age", "gaps 24h", "last error")
    for r in rows:
        age = f"{r.newest_age_s:.0f} s" if r.newest_age_s is not None else "—"
        state = r.state + (f" ({r.detail})" if r.detail else "")
        table.add_row(
            str(r.id),
            r.name,
            state,
            str(r.segments),
            f"{r.bytes / 1e6:.1f}",
            age,
            f"{r.gaps_24h} ({r.gap_seconds_24h:.0f} s)",
            r.last_error or "",
        )
    out.print(table)
    out.print(f"sealed files: {system.protection}")
    for alarm in system.alarms:
        out.print(f"[red]ALARM[/red] {alarm.kind} since {alarm.raised}: {alarm.message}")
