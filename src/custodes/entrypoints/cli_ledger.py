"""`custodes ledger verify|export|checkpoint` and `custodes db grant-app-role` (registered by
cli.py; shared options and helpers come from cli_common.py, so there is no import cycle)."""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from custodes.adapters.db.grants import GrantError, grant_application_role
from custodes.domain.ledger import Finding
from custodes.entrypoints.cli_common import (
    SINCE_HELP,
    UNTIL_HELP,
    DataOpt,
    JsonOpt,
    add_text_row,
    context,
    err,
    fail,
    inert,
    out,
    parse_site_time,
)
from custodes.entrypoints.cli_i18n import LANG, _
from custodes.entrypoints.web import said
from custodes.services import ledger
from custodes.services.context import Context
from custodes.services.settings import site_timezone

ledger_app = typer.Typer(
    help="The ledger: verify it, export it, sign its head.", no_args_is_help=True
)
db_app = typer.Typer(help="Database administration.", no_args_is_help=True)


def cli_actor() -> str:
    """Who acts from the command line: the operating-system account (the ledger's actor)."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = f"uid{os.getuid()}"
    return f"cli:{name}"[: ledger.ACTOR_MAX]


def _instant(ctx: Context, option: str, value: str | None) -> int | None:
    """ISO 8601 → µs since the epoch: without a zone, the site's time (it was read as UTC,
    eight hours off in China for whoever typed the clock on the wall)."""
    return None if value is None else parse_site_time(value, option, site_timezone(ctx))


@ledger_app.command("verify")
def verify(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Recompute every hash and link, check the head and every signed checkpoint.

    Exit status 1 when anything is wrong, 0 otherwise (an unsigned tail is only a note).
    """
    ctx = context(data)
    report = ledger.verify(ctx)
    failures = [f for f in report.findings if f.failure]
    ledger.record_now(
        ctx,
        actor=cli_actor(),
        action=ledger.VERIFY_RAN,
        object="ledger",
        details={
            "entries": report.entries,
            "ok": report.ok,
            "failures": len(failures) + report.dropped,
            "kinds": sorted({f.kind for f in failures}),
        },
    )
    if as_json:
        out.print_json(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        _print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_report(report: ledger.VerifyReport) -> None:
    rate = report.entries / report.seconds if report.seconds > 0 else 0.0
    summary = _(
        "%(entries)s entries, head at %(head)s, %(checkpoints)s signed checkpoint(s), "
        "%(seconds)s s (%(rate)s/s)"
    ) % {
        "entries": f"{report.entries:,}",
        "head": report.head_seq,
        "checkpoints": report.checkpoints,
        "seconds": f"{report.seconds:.2f}",
        "rate": f"{rate:,.0f}",
    }
    out.print(summary, highlight=False)
    if report.findings:
        table = Table(*(_(h) for h in ("seq", "finding", "what")))
        for f in report.findings:
            kind = _(f.kind) if f.failure else _("%(kind)s (note)") % {"kind": _(f.kind)}
            what = inert(said.finding(f.kind, f.parts, f.message, LANG)[1])
            add_text_row(table, _seq(f), kind, what)
        out.print(table)
    if report.dropped:
        more = _("… and %(n)s more finding(s) not listed") % {"n": f"{report.dropped:,}"}
        out.print(more, highlight=False)
    if report.ok:
        out.print("[green]{}[/]".format(_("ledger intact")))
    else:
        out.print("[red]{}[/]".format(_("ledger NOT intact")))


def _seq(f: Finding) -> str:
    return "" if f.seq is None else str(f.seq)


@ledger_app.command("export")
def export(
    fmt: Annotated[
        str, typer.Option("--format", help="csv or json (json also carries the checkpoints).")
    ] = "json",
    since: Annotated[str | None, typer.Option("--since", help=SINCE_HELP)] = None,
    until: Annotated[str | None, typer.Option("--until", help=UNTIL_HELP)] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="File to write (default: standard output).")
    ] = None,
    data: DataOpt = None,
) -> None:
    """Write the entries (all, or in a time range) as CSV or JSON, exactly as stored."""
    if fmt not in ("csv", "json"):
        raise fail(_("--format: csv or json, not %(given)s") % {"given": repr(fmt)})
    kind: Literal["csv", "json"] = "csv" if fmt == "csv" else "json"
    ctx = context(data)
    since_us, until_us = _instant(ctx, "--since", since), _instant(ctx, "--until", until)
    if out_file is None:
        count = ledger.export(ctx, kind, sys.stdout, since_us, until_us)
    else:
        with out_file.open("w", encoding="utf-8", newline="") as f:
            count = ledger.export(ctx, kind, f, since_us, until_us)
    ledger.record_now(
        ctx,
        actor=cli_actor(),
        action=ledger.LEDGER_EXPORTED,
        object="ledger",
        details={"format": kind, "since_us": since_us, "until_us": until_us, "entries": count},
    )
    if out_file is not None:
        written = _("%(n)s entries written to %(file)s") % {"n": f"{count:,}", "file": out_file}
        err.print(written, highlight=False)


@ledger_app.command("checkpoint")
def checkpoint(data: DataOpt = None) -> None:
    """Sign the ledger's head now (the service does it on its own schedule)."""
    seq = ledger.checkpoint(context(data))
    if seq is None:
        out.print(_("head unchanged since the last checkpoint"))
    else:
        out.print(_("signed %(seq)s") % {"seq": seq})


@db_app.command("grant-app-role")
def grant_app_role(
    role: Annotated[str, typer.Argument(help="An existing PostgreSQL LOGIN role.")],
    data: DataOpt = None,
) -> None:
    """PostgreSQL: let ROLE read and write the working tables, but only SELECT and INSERT
    the ledger and the checkpoints. Run as the schema's owner, again after each upgrade."""
    ctx = context(data)
    try:
        statements = grant_application_role(ctx.engine, role)
    except GrantError as exc:
        raise fail(str(exc)) from None
    for statement in statements:
        out.print(statement, highlight=False)
