"""`custodes alarm list|ack`: the open alarms, and acknowledging those no condition clears."""

from __future__ import annotations

import json

import typer
from rich.markup import escape

from custodes.entrypoints.cli_common import DataOpt, JsonOpt, context, fail, out
from custodes.entrypoints.cli_ledger import cli_actor
from custodes.services import alarms
from custodes.services.status import system_status

alarm_app = typer.Typer(help="Alarms: what needs a person.", no_args_is_help=True)


@alarm_app.command("list")
def alarm_list(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Open alarms (and conditions seen now, such as a full disk)."""
    found = system_status(context(data)).alarms
    if as_json:
        out.print_json(json.dumps([a.__dict__ for a in found], ensure_ascii=False))
        return
    if not found:
        out.print("no open alarms")
    for a in found:
        ident = "—" if a.id is None else str(a.id)
        ack = " [acknowledge with: custodes alarm ack ID]" if a.acknowledgeable else ""
        out.print(
            escape(f"{ident:>4}  {a.kind}  since {a.raised}: {a.message}{ack}"), highlight=False
        )


@alarm_app.command("ack")
def alarm_ack(alarm_id: int, data: DataOpt = None) -> None:
    """Acknowledge an alarm that no condition clears (footage cut short): recorded in the
    ledger with who and when."""
    try:
        alarm = alarms.acknowledge_alarm(context(data), alarm_id, actor=cli_actor())
    except alarms.NotAcknowledgeable as exc:
        raise fail(str(exc)) from None
    out.print(f"alarm {alarm_id} ({alarm.kind}) acknowledged")
