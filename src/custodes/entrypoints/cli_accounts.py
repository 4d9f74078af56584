"""`custodes account …`: accounts, organisations and camera assignments from the command line.

Run on the host by whoever holds the data directory: the ledger's actor is the
operating-system user, "cli:<name>" (cli_ledger.cli_actor). The CLI asks for no account's
credentials, and it need not: whoever can read the data directory holds the database and the
keys, and could write any row directly. So it is not a way around the second person — it is
the host, a trust level of its own (docs/DUTIES.md): its changes take effect at once, each a
ledger entry naming the operating-system user, and this is how the first security manager
of an installation is made (by a second, named person on the host). The same rules hold as
over HTTP otherwise (services/accounts), except those about one's own account, which a CLI
user has none of. A password set here is one-time: the owner chooses a new one at the first
log-in. A generated password is printed once, on standard output; `--password-stdin` reads
one from the first line of standard input instead (and prints none).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from custodes.domain.access_rules import OrgKind
from custodes.domain.roles import Role
from custodes.entrypoints.cli_common import (
    DataOpt,
    JsonOpt,
    add_text_row,
    context,
    fail,
    out,
    site_when,
)
from custodes.entrypoints.cli_i18n import _, label, say, sentence
from custodes.entrypoints.cli_ledger import cli_actor
from custodes.entrypoints.web.labels import CHANGE_KIND_LABELS, ORG_KIND_LABELS, ROLE_LABELS
from custodes.services import accounts as svc
from custodes.services import cameras as camera_service
from custodes.services.context import Context
from custodes.services.settings import site_timezone

accounts_app = typer.Typer(
    help="Accounts, organisations and camera assignments.", no_args_is_help=True
)

RoleOpt = Annotated[
    str, typer.Option("--role", help=_("One of: %(names)s.") % {"names": ", ".join(Role)})
]
OUTSIDE_KINDS = [k for k in OrgKind if k is not OrgKind.OPERATING_UNIT]
PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


def _actor() -> svc.Actor:
    return svc.Actor(cli_actor())


def _account(ctx: Context, ref: str) -> svc.AccountView:
    try:
        return svc.find_account(ctx, ref)
    except svc.NotFound as exc:
        raise _refused(exc) from None


def _stdin_password() -> str:
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise fail(_("--password-stdin: no password on standard input"))
    return line


def _print_account(a: svc.AccountView, as_json: bool, zone: str) -> None:
    if as_json:
        out.print_json(json.dumps(_json(a), ensure_ascii=False))
        return
    parts = [label(ROLE_LABELS, a.role), a.organisation]
    if a.display_name:
        parts.append(a.display_name)
    if a.work_id:
        parts.append(_("work ID %(id)s") % {"id": a.work_id})
    if a.disabled_us:
        parts.append(_("disabled"))
    if a.locked_until_us:
        until = site_when(a.locked_until_us, zone)
        parts.append(_("locked until %(until)s") % {"until": until})
    head = _("%(user)s (id %(id)s)") % {"user": a.username, "id": a.id}
    out.print(f"{head}: {_(', ').join(parts)}", highlight=False)


# The fields a refusal may name that are options here: named as the option ("--role: …").
_OPTIONS = {"role": "--role", "kind": "--kind"}


def _refused(exc: svc.AccountError) -> typer.Exit:
    """A service's refusal, worded as the web words it (its msgid and parameters)."""
    text = say(exc.msgid, exc.params) if exc.params else exc.message
    option = _OPTIONS.get(exc.field or "")
    if option is not None and text.startswith(f"{exc.field}: "):
        text = f"{option}: {sentence(text.removeprefix(f'{exc.field}: '))}"
    return fail(text)


def _json(a: svc.AccountView) -> dict[str, object]:
    return {**a.__dict__, "cameras": list(a.cameras)}


@accounts_app.command("add")
def add(
    username: str,
    role: RoleOpt,
    org: Annotated[
        str, typer.Option("--org", help="Organisation, by name or id (default: the unit).")
    ] = str(svc.OPERATING_UNIT_ID),
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    work_id: Annotated[str | None, typer.Option("--work-id", help="Work-ID number.")] = None,
    password_stdin: PasswordStdinOpt = False,
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an account; prints its generated password once (unless --password-stdin)."""
    ctx = context(data)
    password = _stdin_password() if password_stdin else svc.generate_password(username)
    try:
        organisation = svc.find_organisation(ctx, org)
        view = svc.create_account(
            ctx,
            username=username,
            role=role,
            password=password,
            organisation_id=organisation.id,
            display_name=name,
            work_id=work_id,
            actor=_actor(),
        )
    except svc.AccountError as exc:
        raise _refused(exc) from None
    if as_json:
        shown = None if password_stdin else password
        out.print_json(json.dumps({**_json(view), "password": shown}, ensure_ascii=False))
        return
    _print_account(view, False, site_timezone(ctx))
    if not password_stdin:
        out.print(_SHOWN_ONCE % {"password": f"[bold]{password}[/]"})


_SHOWN_ONCE = _("password: %(password)s  (shown once: hand it over now)")


@accounts_app.command("list")
def list_accounts(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Every account, disabled ones included."""
    views = svc.list_accounts(context(data))
    if as_json:
        out.print_json(json.dumps([_json(v) for v in views], ensure_ascii=False))
        return
    headings = ("id", "user", "role", "organisation", "name", "work ID", "TOTP", "state")
    table = Table(*(_(h) for h in headings))
    for v in views:
        state = _("disabled") if v.disabled_us else (_("locked") if v.locked_until_us else "")
        add_text_row(
            table,
            str(v.id),
            v.username,
            label(ROLE_LABELS, v.role),
            v.organisation,
            v.display_name or "",
            v.work_id or "",
            _("yes") if v.totp else "",
            state,
        )
    out.print(table)


@accounts_app.command("set-role")
def set_role(username: str, role: str, data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Give an account another role (the last enabled administrator keeps theirs)."""
    ctx = context(data)
    account = _account(ctx, username)
    try:
        view = svc.set_role(ctx, account.id, role, actor=_actor())
    except svc.AccountError as exc:
        raise _refused(exc) from None
    _print_account(view, as_json, site_timezone(ctx))


@accounts_app.command("disable")
def disable(username: str, data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Disable an account: no more log-ins, and its sessions end now."""
    ctx = context(data)
    try:
        view = svc.disable_account(ctx, _account(ctx, username).id, actor=_actor())
    except svc.AccountError as exc:
        raise _refused(exc) from None
    _print_account(view, as_json, site_timezone(ctx))


@accounts_app.command("enable")
def enable(username: str, data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Enable a disabled account; also lifts a lockout."""
    ctx = context(data)
    try:
        view = svc.enable_account(ctx, _account(ctx, username).id, actor=_actor())
    except svc.AccountError as exc:
        raise _refused(exc) from None
    _print_account(view, as_json, site_timezone(ctx))


@accounts_app.command("reset-password")
def reset_password(
    username: str, password_stdin: PasswordStdinOpt = False, data: DataOpt = None
) -> None:
    """A new password (printed once, unless --password-stdin); the account's sessions end."""
    ctx = context(data)
    account = _account(ctx, username)
    given = _stdin_password() if password_stdin else None
    try:
        password = svc.reset_password(ctx, account.id, given, actor=_actor())
    except svc.AccountError as exc:
        raise _refused(exc) from None
    if given is None:
        out.print(_SHOWN_ONCE % {"password": f"[bold]{password}[/]"})
    else:
        out.print(_("password of %(user)s changed") % {"user": account.username}, highlight=False)


@accounts_app.command("totp-remove")
def totp_remove(username: str, data: DataOpt = None) -> None:
    """Remove an account's TOTP second factor (a lost device); it can enrol again."""
    ctx = context(data)
    try:
        svc.remove_totp(ctx, _account(ctx, username).id, actor=_actor())
    except svc.AccountError as exc:
        raise _refused(exc) from None
    out.print(_("TOTP of %(user)s removed") % {"user": username}, highlight=False)


@accounts_app.command("assign")
def assign(
    username: str,
    cameras: Annotated[
        list[str] | None,
        typer.Argument(help="Cameras (id or name); none: unassign all.", show_default=False),
    ] = None,
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set the cameras a duty operator may watch live (the whole list)."""
    ctx = context(data)
    account = _account(ctx, username)
    ids = []
    for ref in cameras or []:
        try:
            ids.append(camera_service.find_camera(ctx, ref).id)
        except camera_service.CameraNotFound:
            raise fail(_("camera: no camera %(ref)s") % {"ref": repr(ref[:24])}) from None
    try:
        view = svc.set_cameras(ctx, account.id, ids, actor=_actor())
    except svc.AccountError as exc:
        raise _refused(exc) from None
    if as_json:
        out.print_json(json.dumps({"username": view.username, "cameras": list(view.cameras)}))
    else:
        listed = ", ".join(str(c) for c in view.cameras) or _("none")
        watches = _("%(user)s watches cameras: %(cameras)s")
        out.print(watches % {"user": view.username, "cameras": listed}, highlight=False)


@accounts_app.command("org-add")
def org_add(
    name: str,
    kind: Annotated[
        str,
        typer.Option("--kind", help=_("One of: %(names)s.") % {"names": ", ".join(OUTSIDE_KINDS)}),
    ],
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register an organisation that may ask for footage (organ, organisation, individual)."""
    ctx = context(data)
    try:
        org = svc.add_organisation(ctx, name, kind, actor=_actor())
    except svc.AccountError as exc:
        raise _refused(exc) from None
    if as_json:
        out.print_json(json.dumps(_org_json(org), ensure_ascii=False))
    else:
        shown = {"id": org.id, "name": org.name, "kind": label(ORG_KIND_LABELS, org.kind)}
        out.print(_("organisation %(id)s: %(name)s (%(kind)s)") % shown, highlight=False)


def _org_json(o: svc.Organisation) -> dict[str, object]:
    return {**o.__dict__, "operating_unit": o.operating_unit}


@accounts_app.command("org-list")
def org_list(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Every organisation; 1 is the operating unit."""
    ctx = context(data)
    orgs, zone = svc.list_organisations(ctx), site_timezone(ctx)
    if as_json:
        out.print_json(json.dumps([_org_json(o) for o in orgs], ensure_ascii=False))
        return
    table = Table(*(_(h) for h in ("id", "name", "kind", "since")))
    for o in orgs:
        since = site_when(o.created_us, zone)
        add_text_row(table, str(o.id), o.name, label(ORG_KIND_LABELS, o.kind), since)
    out.print(table)


@accounts_app.command("changes")
def changes(
    all_states: Annotated[
        bool, typer.Option("--all", help="Also confirmed and cancelled ones.")
    ] = False,
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Account changes proposed over the web, waiting for a second person's confirmation."""
    ctx = context(data)
    found = svc.list_changes(ctx, state=None if all_states else "pending")
    zone = site_timezone(ctx)
    if as_json:
        out.print_json(json.dumps([c.__dict__ for c in found], ensure_ascii=False))
        return
    headings = ("id", "kind", "account", "proposed by", "proposed", "state", "decided by")
    table = Table(*(_(h) for h in headings))
    for c in found:
        add_text_row(
            table,
            str(c.id),
            label(CHANGE_KIND_LABELS, c.kind),
            c.username,
            c.proposed_by,
            site_when(c.proposed_us, zone),
            _(c.state) if c.state else "",
            c.decided_by or "",
        )
    out.print(table)
