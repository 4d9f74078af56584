"""`custodes alarm list|ack`: the open alarms, and acknowledging those no condition clears.

An alarm's message, like every line here, is worded in the command line's language
(`cli_i18n.LANG`: the locale's, or CUSTODES_LANG) from its key and parameters; `--json`
keeps the stored English `message` beside `message_key` and `params`, so that a script reads
the same whatever the locale."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape

from custodes.clock import iso
from custodes.entrypoints.cli_common import DataOpt, JsonOpt, context, fail, out, site_when
from custodes.entrypoints.cli_i18n import LANG, _, label, sentence
from custodes.entrypoints.cli_ledger import cli_actor
from custodes.entrypoints.web import said
from custodes.entrypoints.web.labels import ALARM_TITLES
from custodes.services import alarms
from custodes.services.settings import site_timezone
from custodes.services.status import system_status

DAY_US = 86_400_000_000
alarm_app = typer.Typer(help="Alarms: what needs a person.", no_args_is_help=True)


@alarm_app.command("list")
def alarm_list(
    data: DataOpt = None,
    as_json: JsonOpt = False,
    days: Annotated[
        int,
        typer.Option(
            min=0,
            max=3650,
            help="also those that ended in the last DAYS days, with how each ended",
        ),
    ] = 0,
) -> None:
    """Open alarms (and conditions seen now, such as a full disk); with --days, also those
    that ended since, each with who acknowledged it and their note, or when it cleared."""
    ctx = context(data)
    found = system_status(ctx).alarms
    ended = (
        [a for a in alarms.recent_alarms(ctx, since_us=ctx.clock() - days * DAY_US) if a.cleared_us]
        if days
        else []
    )
    if as_json:
        shown = [a.__dict__ for a in found] + [
            {**a.__dict__, "raised": iso(a.raised_us), "ended": iso(a.cleared_us or 0)}
            for a in ended
        ]
        out.print_json(json.dumps(shown, ensure_ascii=False))
        return
    zone = site_timezone(ctx)
    if not found:
        out.print(_("no open alarms"))
    for a in found:
        message = said.alarm_message(a.message, a.message_key, a.params, LANG)
        ident = "—" if a.id is None else str(a.id)
        ack = (
            _(" [acknowledge with: custodes alarm ack ID --note TEXT]") if a.acknowledgeable else ""
        )
        line = _("%(kind)s since %(raised)s: %(message)s") % {
            "kind": label(ALARM_TITLES, a.kind),
            "raised": site_when(a.raised_us, zone) if a.raised_us else a.raised,
            "message": message,
        }
        out.print(escape(f"{ident:>4}  {line}{ack}"), highlight=False)
    if days:
        said_days = _("ended in the last %(days)s day(s): %(count)s") % {
            "days": days,
            "count": len(ended) or _("none"),
        }
        out.print(said_days)
    for r in ended:
        message = said.alarm_message(r.message, r.message_key, r.params, LANG)
        how = (
            _("acknowledged by %(who)s: %(note)s")
            % {"who": r.acknowledged_by, "note": r.note or _("(no note)")}
            if r.acknowledged_by
            else _("cleared")
        )
        out.print(
            escape(
                f"{r.id:>4}  {label(ALARM_TITLES, r.kind)}  {site_when(r.raised_us, zone)} – "
                f"{site_when(r.cleared_us, zone)}: "
                f"{message} ({how})"
            ),
            highlight=False,
        )


@alarm_app.command("ack")
def alarm_ack(
    alarm_id: int,
    note: Annotated[
        str | None, typer.Option(help="what you found or did; kept in the ledger entry")
    ] = None,
    data: DataOpt = None,
) -> None:
    """Acknowledge an alarm that no condition clears (footage cut short): recorded in the
    ledger with who, when and the note."""
    try:
        alarm = alarms.acknowledge_alarm(context(data), alarm_id, actor=cli_actor(), note=note)
    except (alarms.NotAcknowledgeable, ValueError) as exc:
        raise fail(sentence(str(exc))) from None
    out.print(_("alarm %(id)s (%(kind)s) acknowledged") % {"id": alarm_id, "kind": alarm.kind})
