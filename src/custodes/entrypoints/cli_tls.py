"""`custodes tls …` and what `serve` may speak: the certificate shown, renewed or replaced by the
unit's own, and the transport checked before the service starts (domain/transport.py)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.cells import cell_len
from rich.markup import escape

from custodes.adapters.tls import EXPIRY_WARNING, Certificate, CertificateProblem
from custodes.domain.transport import Transport, TransportRefused, decide
from custodes.entrypoints.cli_common import DataOpt, JsonOpt, context, err, fail, out
from custodes.entrypoints.cli_i18n import _, lead, sentence
from custodes.entrypoints.cli_ledger import cli_actor
from custodes.services import tls as tls_service
from custodes.services.context import Context

tls_app = typer.Typer(
    help="The web server's TLS certificate: show, renew, install the unit's own.",
    no_args_is_help=True,
)
NamesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--name",
        help="Another host name or IP address clients use (repeatable); this machine's "
        "names and addresses are always included.",
    ),
]
RESTART = "restart `custodes serve` to serve it"  # msgids (locale/*.po)
PROBLEM = "TLS certificate: %(problem)s"


@tls_app.command("show")
def show(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """The certificate in force: names, validity, SHA-256 fingerprints, files to distribute."""
    ctx = context(data)
    try:
        cert = tls_service.current(ctx.data)
    except CertificateProblem as exc:
        raise fail(_(PROBLEM) % {"problem": sentence(str(exc))}) from None
    if cert is None:
        raise fail(_("no TLS certificate: `custodes tls renew` makes one"))
    if as_json:
        out.print_json(json.dumps(_as_json(cert, ctx)))
        return
    _print(cert, ctx)


@tls_app.command("renew")
def renew(names: NamesOpt = None, data: DataOpt = None) -> None:
    """Make a new authority and certificate (also replaces an operator-supplied one)."""
    ctx = context(data)
    try:
        before = tls_service.current(ctx.data)
    except CertificateProblem:
        before = None
    try:
        cert = tls_service.renew(ctx, names or [], cli_actor())
    except CertificateProblem as exc:
        raise fail(str(exc)) from None
    if before is not None and not before.made_here:
        replaced = _("replaced the operator's certificate (%(subject)s)")
        err.print(f"[yellow]{replaced % {'subject': escape(before.subject)}}[/]")
    _print(cert, ctx)
    authority = _(
        "A new authority: clients that trusted the old one must trust %(file)s instead; "
        "%(restart)s."
    )
    out.print(authority % {"file": cert_path(ctx), "restart": _(RESTART)}, highlight=False)


@tls_app.command("install")
def install(
    cert: Annotated[
        Path,
        typer.Option("--cert", help="PEM: the server certificate, then its chain."),
    ],
    key: Annotated[Path, typer.Option("--key", help="PEM: its private key, unencrypted.")],
    data: DataOpt = None,
) -> None:
    """Serve the unit's own certificate (from its PKI) instead of the installation's."""
    ctx = context(data)
    try:
        installed = tls_service.install(ctx, cert, key, cli_actor())
    except CertificateProblem as exc:
        raise fail(str(exc)) from None
    _print(installed, ctx)
    out.print(_("installed; %(restart)s.") % {"restart": _(RESTART)}, highlight=False)


def cert_path(ctx: Context) -> Path:
    return tls_service.files(ctx.data).ca


def serve_transport(
    ctx: Context, host: str, no_tls: bool, plain_on_network: bool, proxies: list[str]
) -> Transport:
    """What `serve` may speak, with the certificate checked first: a data directory made
    before certificates gets one now; a damaged one stops the start, never a fallback to
    plain HTTP."""
    cert = None
    if not no_tls and not proxies:
        try:
            tls_service.ensure(ctx.data)
            cert = tls_service.current(ctx.data)
        except CertificateProblem as exc:
            raise fail(_(PROBLEM) % {"problem": sentence(str(exc))}) from None
    try:
        transport = decide(
            host=host,
            certificate=cert is not None,
            operator_certificate=cert is not None and not cert.made_here,
            no_tls=no_tls,
            plain_http_on_network=plain_on_network,
            proxies=tuple(proxies),
        )
    except TransportRefused as exc:
        raise fail(str(exc)) from None
    if cert is not None:
        tls_service.note_served(ctx, cert, cli_actor())
        _warn_about(cert, host)
    elif transport.plain_from_anywhere:
        clear = _(
            "plain HTTP on the network: passwords, session cookies and footage travel in clear"
        )
        err.print(f"[yellow]{lead(_('warning:'))}[/]{clear}")
    return transport


def _warn_about(cert: Certificate, host: str) -> None:
    now = datetime.now(UTC)
    day = {"day": f"{cert.not_after:%Y-%m-%d}"}
    if cert.not_after <= now:
        expired = _("the TLS certificate expired on %(day)s") % day
        err.print(f"[red]{expired}[/]{_(': ')}{_(_FIX)}")
    elif cert.expires_within(EXPIRY_WARNING, now):
        expires = _("the TLS certificate expires on %(day)s") % day
        err.print(f"[yellow]{expires}[/]{_(': ')}{_(_FIX)}")
    if host not in ("0.0.0.0", "::") and not cert.names_host(host):
        unnamed = _("the TLS certificate does not name %(host)s") % {"host": escape(host)}
        warned = _("clients connecting by it are warned; `custodes tls renew --name %(host)s`")
        err.print(
            f"[yellow]{unnamed}[/]{_(': ')}{warned % {'host': escape(host)}}", highlight=False
        )


_FIX = "`custodes tls renew`, or `custodes tls install` with the unit's own"


def _print(cert: Certificate, ctx: Context) -> None:
    origin = _("made by this installation") if cert.made_here else _("supplied by the operator")
    valid = f"{cert.not_before:%Y-%m-%d %H:%M} – {cert.not_after:%Y-%m-%d %H:%M} UTC"
    lines = [
        (_("certificate:"), f"{escape(cert.subject)} ({origin})"),
        (_("names:"), escape(", ".join(cert.names))),
        (_("valid:"), valid),
        ("SHA-256:", cert.fingerprint),
    ]
    if cert.ca_fingerprint is not None:
        lines.append((_("authority:"), cert.ca_fingerprint))
        trust = _(
            "%(file)s (its key was destroyed when it signed this certificate: trusting it "
            "trusts this server and nothing else)"
        )
        lines.append((_("trust file:"), trust % {"file": cert_path(ctx)}))
    width = max(cell_len(label) for label, _value in lines) + 1
    for label, value in lines:
        out.print(f"{label}{' ' * (width - cell_len(label))}{value}", highlight=False)


def _as_json(cert: Certificate, ctx: Context) -> dict[str, Any]:
    raw = asdict(cert)
    raw["names"] = list(cert.names)
    raw["not_before"] = cert.not_before.isoformat()
    raw["not_after"] = cert.not_after.isoformat()
    raw["authority_file"] = str(cert_path(ctx)) if cert.made_here else None
    return raw
