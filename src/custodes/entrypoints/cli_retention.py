"""`custodes retention …`, `custodes hold …` and `custodes recordings delete`."""

from __future__ import annotations

import getpass
import json
import os
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from custodes.domain.retention import when_text
from custodes.entrypoints.cli_common import (
    FROM_HELP,
    TO_HELP,
    DataOpt,
    JsonOpt,
    add_text_row,
    context,
    fail,
    out,
)
from custodes.entrypoints.cli_i18n import LANG, _, label, sentence
from custodes.entrypoints.cli_integrity import parse_time
from custodes.entrypoints.cli_ledger import cli_actor
from custodes.entrypoints.web import said, wording
from custodes.entrypoints.web.labels import HOLD_KIND_LABELS, REASON_LABELS
from custodes.services import auth, retention
from custodes.services import cameras as camera_service
from custodes.services.capacity import check_and_alarm
from custodes.services.context import Context
from custodes.services.sweep import sweep

retention_app = typer.Typer(help="Retention: policies and the sweep.", no_args_is_help=True)
hold_app = typer.Typer(help="Holds: keep footage past its retention.", no_args_is_help=True)
recordings_app = typer.Typer(help="Recorded footage.", no_args_is_help=True)

FromOpt = Annotated[str, typer.Option("--from", help=FROM_HELP)]
ToOpt = Annotated[str, typer.Option("--to", help=TO_HELP)]
UserOpt = Annotated[str, typer.Option("--user", help="Your account (you are asked its password).")]
PasswordOpt = Annotated[
    str | None,
    typer.Option(envvar="CUSTODES_PASSWORD", help="Password (else asked).", show_default=False),
]


def _camera_id(ctx: Context, ref: str) -> int:
    try:
        return camera_service.find_camera(ctx, ref).id
    except camera_service.CameraNotFound as exc:
        raise fail(str(exc)) from None


def _account(ctx: Context, user: str, password: str | None) -> str:
    """The actor for the ledger, after checking the account's password."""
    secret = (
        password
        if password is not None
        else getpass.getpass(_("password for %(user)s: ") % {"user": user})
    )
    # an account with TOTP gives its current code in CUSTODES_TOTP
    session = auth.login(ctx, user, secret, os.environ.get("CUSTODES_TOTP") or None)
    if session is None:
        raise fail(_("wrong user or password"))
    auth.logout(ctx, session.token)
    return f"account:{user}"


@retention_app.command("show")
def show(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Each camera's retention, and the reason and article behind it."""
    ctx = context(data)
    rows = []
    with ctx.engine.connect() as conn:
        for cam in camera_service.list_cameras(ctx):
            try:
                p = retention.policy_for(conn, cam.id)
            except retention.RetentionConfigError as exc:
                raise fail(str(exc)) from None
            rows.append((cam, p))
    if as_json:
        out.print_json(
            json.dumps(
                [
                    {
                        "camera_id": c.id,
                        "name": c.name,
                        "days": p.days,
                        "reason": p.reason,
                        "article": p.article,
                    }
                    for c, p in rows
                ]
            )
        )
        return
    table = Table(*(_(h) for h in ("camera", "days", "reason", "article")))
    for c, p in rows:
        article = wording.article(p.article, LANG) if p.article else ""
        add_text_row(table, c.name, str(p.days), label(REASON_LABELS, p.reason), article)
    out.print(table)


@retention_app.command("sweep")
def run_sweep(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Delete footage past retention and not held, now (the service also does it hourly)."""
    ctx = context(data)
    try:
        report = sweep(ctx)
    except retention.RetentionConfigError as exc:
        raise fail(_("nothing deleted: %(why)s") % {"why": sentence(str(exc))}) from None
    result = {"batches": report.batches, "segments": report.segments, "bytes": report.bytes}
    if as_json:
        out.print_json(json.dumps(result))
    else:
        out.print(
            _("deleted %(n)s segment(s), %(mb)s MB, in %(batches)s batch(es)")
            % {"n": report.segments, "mb": f"{report.bytes / 1e6:,.1f}", "batches": report.batches}
        )


@recordings_app.command("delete")
def delete_recordings(camera: str, since: FromOpt, until: ToOpt, data: DataOpt = None) -> None:
    """Delete a camera's recordings of a range — refused while any of it is retained or held."""
    ctx = context(data)
    cam = _camera_id(ctx, camera)
    a, b = parse_time(ctx, since, "from"), parse_time(ctx, until, "to")
    try:
        retention.check_deletion(ctx, cam, a, b, actor=cli_actor(), via="cli")
    except retention.RetentionRefused as exc:
        refused = _("refused: %(why)s (%(article)s)") % {
            "why": sentence(exc.refusal.reason),
            "article": wording.article(exc.refusal.article, LANG),
        }
        raise fail(refused, 1) from None
    report = sweep(ctx, actor=cli_actor(), camera_ids=[cam], within=(a, b))
    out.print(
        _("deleted %(n)s segment(s) (%(mb)s MB)")
        % {"n": report.segments, "mb": f"{report.bytes / 1e6:,.1f}"}
    )


@hold_app.command("add")
def hold_add(
    camera: str,
    since: FromOpt,
    until: ToOpt,
    user: UserOpt,
    kind: Annotated[
        str,
        typer.Option(
            help="important (1 year) or case (until released); access holds are automatic."
        ),
    ],
    reason: Annotated[str, typer.Option(help="Why the footage is held.")],
    reference: Annotated[str | None, typer.Option(help="Case or document number.")] = None,
    password: PasswordOpt = None,
    data: DataOpt = None,
) -> None:
    """Hold a camera's footage of a range past its retention."""
    ctx = context(data)
    actor = _account(ctx, user, password)
    try:
        hold_id = retention.place_hold(
            ctx,
            camera_id=_camera_id(ctx, camera),
            start_us=parse_time(ctx, since, "from"),
            end_us=parse_time(ctx, until, "to"),
            kind=kind,
            reason=reason,
            reference=reference,
            actor=actor,
        )
    except retention.HoldError as exc:
        raise fail(str(exc)) from None
    out.print(_("hold %(id)s placed") % {"id": hold_id})


@hold_app.command("list")
def hold_list(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Every hold, released ones included."""
    ctx = context(data)
    holds = retention.list_holds(ctx)
    if as_json:
        out.print_json(json.dumps([h.__dict__ for h in holds]))
        return
    headings = ("id", "kind", "camera", "from", "to", "kept until", "by", "release")
    table = Table(*(_(h) for h in headings))
    for h in holds:
        asked = _("asked by %(who)s") % {"who": h.release_requested_by}
        release = h.released_by or (asked if h.release_requested_by else "")
        until = (
            _("released")
            if h.released_by
            else (_("until released") if h.until_us is None else when_text(h.until_us))
        )
        kind = label(HOLD_KIND_LABELS, h.kind)
        if h.request_id is not None:
            kind = _("%(kind)s (request %(id)s)") % {"kind": kind, "id": h.request_id}
        add_text_row(
            table,
            str(h.id),
            kind,
            str(h.camera_id),
            when_text(h.start_us),
            when_text(h.end_us),
            until,
            h.created_by,
            release,
        )
    out.print(table)


@hold_app.command("release")
def hold_release(
    hold_id: int, user: UserOpt, password: PasswordOpt = None, data: DataOpt = None
) -> None:
    """Ask for a hold's release, or confirm another account's request."""
    ctx = context(data)
    actor = _account(ctx, user, password)
    try:
        outcome = retention.release_hold(ctx, hold_id, actor=actor)
    except retention.HoldError as exc:
        raise fail(str(exc), 1) from None
    if outcome == "requested":
        asked = _("release of hold %(id)s asked; a second account must confirm it")
        out.print(asked % {"id": hold_id})
    else:
        out.print(_("hold %(id)s released") % {"id": hold_id})


@retention_app.command("plan")
def capacity_plan(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Per camera: measured bitrate × retention → bytes needed, against the volume's free
    space; days of headroom. Exit 1 when the volume cannot hold the retention floors."""
    ctx = context(data)
    try:
        result = check_and_alarm(ctx)
    except retention.RetentionConfigError as exc:
        raise fail(str(exc)) from None
    if as_json:
        out.print_json(json.dumps(result.to_json()))
        raise typer.Exit(0 if result.volume.ok else 1)
    table = Table(*(_(h) for h in ("camera", "days", "Mbit/s", "stored GB", "needed GB")))
    for c in result.cameras:
        add_text_row(
            table,
            c.name,
            str(c.retention_days),
            f"{c.bitrate_bps / 1e6:.2f}",
            f"{c.stored_bytes / 1e9:,.2f}",
            f"{c.needed_bytes / 1e9:,.2f}",
        )
    out.print(table)
    v = result.volume
    days = "—"
    if v.headroom_days is not None:
        days = _("%(n)s days") % {"n": f"{v.headroom_days:,.1f}"}
    gb = {
        key: f"{getattr(v, key) / 1e9:,.1f}"
        for key in ("free_bytes", "total_bytes", "growth_bytes", "reserve_bytes", "headroom_bytes")
    }
    volume = _(
        "volume %(path)s: %(free_bytes)s GB free of %(total_bytes)s; archives still grow by "
        "%(growth_bytes)s GB; reserve %(reserve_bytes)s GB; headroom %(headroom_bytes)s GB "
        "(%(days)s)"
    )
    out.print(escape(volume % {"path": v.path, "days": days, **gb}))
    colour = "green" if v.ok else "red"
    said_now = said.alarm_message(v.message, v.message_key, v.message_params, LANG)
    out.print(f"[{colour}]{escape(said_now)}[/]")
    raise typer.Exit(0 if v.ok else 1)
