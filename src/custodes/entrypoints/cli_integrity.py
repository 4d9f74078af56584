"""`custodes verify`: the archive's integrity, per camera, as a table or JSON; exit 1 on any
problem."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from custodes.entrypoints.cli_common import (
    FROM_HELP,
    TO_HELP,
    DataOpt,
    JsonOpt,
    context,
    err,
    fail,
    inert,
    out,
    parse_site_time,
    site_when,
)
from custodes.entrypoints.cli_i18n import LANG, _
from custodes.entrypoints.cli_ledger import cli_actor
from custodes.entrypoints.web import said
from custodes.services import cameras as camera_service
from custodes.services import keys
from custodes.services.context import Context
from custodes.services.settings import site_timezone
from custodes.services.verify import VerifyReport, raise_or_clear_alarm
from custodes.services.verify import verify as run_verify


def parse_time(ctx: Context, value: str, name: str) -> int:
    """µs since the epoch of `--NAME VALUE`, ISO 8601: without a zone, the site's time."""
    return parse_site_time(value, f"--{name}", site_timezone(ctx))


def verify(
    data: DataOpt = None,
    camera: Annotated[
        str | None, typer.Option(help="One camera (id or name); all by default.")
    ] = None,
    since: Annotated[str | None, typer.Option("--from", help=FROM_HELP)] = None,
    until: Annotated[str | None, typer.Option("--to", help=TO_HELP)] = None,
    workers: Annotated[
        int | None, typer.Option(help="Hashing threads (default: one per core).", min=1)
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-hash segments, walk the hash chains, check signed checkpoints and the checkpoint
    files. Verdicts: ok, modified, missing, inserted, reordered, index-altered, checkpoint,
    unsigned tail."""
    ctx = context(data)
    from_us = None if since is None else parse_time(ctx, since, "from")
    to_us = None if until is None else parse_time(ctx, until, "to")
    ids: list[int] | None = None
    if camera is not None:
        try:
            ids = [camera_service.find_camera(ctx, camera).id]
        except camera_service.CameraNotFound:
            raise fail(_("camera: no camera %(ref)s") % {"ref": repr(camera[:24])}) from None
    if as_json:
        report = run_verify(ctx, camera_ids=ids, from_us=from_us, to_us=to_us, workers=workers)
    else:
        columns = (BarColumn(), DownloadColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err, transient=True) as bar:
            task = bar.add_task(_("hashing"), total=None)
            report = run_verify(
                ctx,
                camera_ids=ids,
                from_us=from_us,
                to_us=to_us,
                workers=workers,
                progress=lambda n: bar.advance(task, n),
            )
    if ids is None and from_us is None and to_us is None:
        raise_or_clear_alarm(ctx, report)
    if as_json:
        out.print_json(json.dumps(report.to_json()))
    else:
        _print(report, site_timezone(ctx))
    raise typer.Exit(1 if report.failed else 0)


def _print(report: VerifyReport, zone: str) -> None:
    table = Table(*(_(h) for h in ("camera", "verdict", "seq", "time", "detail")))
    for cam in report.cameras:
        for span in cam.ok_spans:
            table.add_row(
                escape(cam.name),
                "[green]{}[/]".format(_("ok")),
                f"{span.first_seq}–{span.last_seq}",
                f"{site_when(span.start_us, zone)} – {site_when(span.end_us, zone)}",
                "",
            )
        for f in cam.findings:
            seqs = "" if f.first_seq is None else f"{f.first_seq}–{f.last_seq}"
            colour = "red" if f.failure else "yellow"
            # a detail names files as the archive holds them: inert, whatever their names
            words = said.finding(f.kind, f.parts, f.detail, LANG)
            kind, detail = (escape(inert(w)) for w in words)
            table.add_row(escape(cam.name), f"[{colour}]{kind}[/]", seqs, "", detail)
    out.print(table)
    mb = report.bytes_hashed / 1e6
    seconds = max((report.finished_us - report.started_us) / 1e6, 1e-6)
    verdict = (
        "[red]{}[/]".format(_("PROBLEMS FOUND"))
        if report.failed
        else "[green]{}[/]".format(_("all verified"))
    )
    figures = _("%(n)s segments, %(mb)s MB hashed in %(s)s s (%(rate)s MB/s)") % {
        "n": sum(c.segments for c in report.cameras),
        "mb": f"{mb:,.1f}",
        "s": f"{seconds:.1f}",
        "rate": f"{mb / seconds:,.0f}",
    }
    out.print(f"{verdict}{_(': ')}{figures}")


keys_app = typer.Typer(help="The signing keys.", no_args_is_help=True)


@keys_app.command("export")
def keys_export(data: DataOpt = None) -> None:
    """Every public key ever used (JSON): give it to whoever must verify checkpoints and
    exports; rotated keys carry the previous key's endorsement."""
    out.print_json(json.dumps([k.__dict__ for k in keys.export(context(data))]))


@keys_app.command("rotate")
def keys_rotate(data: DataOpt = None) -> None:
    """Make a new signing key, endorsed by the old one, which is retired (stop the service
    first)."""
    ctx = context(data)
    try:
        old, new = keys.rotate(ctx, actor=cli_actor())
    except keys.RotationRefused as exc:
        raise fail(str(exc)) from None
    out.print(
        _("signing key %(old)s retired; %(new)s signs from now on") % {"old": old, "new": new}
    )
