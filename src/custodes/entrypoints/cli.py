"""The `custodes` command line. Thin: parses, calls a service, prints. A stable contract."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Annotated

import typer
from rich.markup import escape

from custodes.domain.camera import CameraSpec
from custodes.domain.transport import LOOPBACK_PLAIN, Transport
from custodes.entrypoints import (
    cli_accounts,
    cli_alarms,
    cli_export,
    cli_integrity,
    cli_retention,
    cli_status,
    cli_tls,
)
from custodes.entrypoints.cli_cameras import camera_app
from custodes.entrypoints.cli_common import DataOpt, context, err, fail, out
from custodes.entrypoints.cli_i18n import _, lead, sentence, translate_app
from custodes.entrypoints.cli_ledger import db_app, ledger_app
from custodes.entrypoints.demo_cast import ensure_demo_cast, login_line
from custodes.paths import DataDir, resolve_data_dir, tighten
from custodes.services import cameras as camera_service
from custodes.services.context import Context
from custodes.services.setup import JURISDICTIONS, JurisdictionRequired, initialise

app = typer.Typer(help="Custodes: compliance-first video recording.", no_args_is_help=True)
app.add_typer(camera_app, name="camera")
app.command("status")(cli_status.status)
app.add_typer(cli_alarms.alarm_app, name="alarm")
app.command("verify")(cli_integrity.verify)
app.add_typer(cli_integrity.keys_app, name="keys")
app.add_typer(ledger_app, name="ledger")
app.add_typer(db_app, name="db")
app.add_typer(cli_retention.retention_app, name="retention")
app.add_typer(cli_retention.hold_app, name="hold")
app.add_typer(cli_retention.recordings_app, name="recordings")
app.add_typer(cli_accounts.accounts_app, name="account")
app.add_typer(cli_tls.tls_app, name="tls")
app.command("export")(cli_export.export)
app.command("verify-export")(cli_export.verify_export)
_fail = fail
_context = context
DEMO_JURISDICTION = "jilin"  # a new demo installation's, named in its banner
# The demo listens on loopback only, where plain HTTP is allowed; `serve` speaks TLS.
DEMO_TRANSPORT = LOOPBACK_PLAIN


def _setup_logging(data: DataDir | None, verbose: bool = False) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if data is not None:
        data.logs.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(data.logs / "custodes.log", encoding="utf-8"))
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )


@app.command()
def init(
    data: DataOpt = None,
    jurisdiction: Annotated[
        str | None,
        typer.Option(
            help=_(
                "One of: %(names)s. Required for a new installation: retention floors and "
                "the articles cited depend on it."
            )
            % {"names": ", ".join(JURISDICTIONS)}
        ),
    ] = None,
    tls_names: cli_tls.NamesOpt = None,
) -> None:
    """Create the data directory, database, keys, TLS certificate and admin account
    (idempotent)."""
    dd = resolve_data_dir(data)
    try:
        result = initialise(dd, jurisdiction, tls_names=tls_names or ())
    except ValueError as exc:  # CertificateProblem (a bad --name) is one
        raise _fail(str(exc)) from None
    out.print(
        _("data directory: %(root)s  (jurisdiction: %(jurisdiction)s)")
        % {"root": dd.root, "jurisdiction": result.jurisdiction}
    )
    _say_tightened(list(result.tightened))
    if result.certificate is not None:
        out.print(
            _("TLS certificate made for %(names)s; SHA-256 %(fingerprint)s (`custodes tls show`)")
            % {
                "names": ", ".join(result.certificate.names),
                "fingerprint": result.certificate.fingerprint,
            },
            highlight=False,
        )
    if result.admin_password:
        out.print(
            _("admin account created — user %(user)s, password %(password)s")
            % {"user": "[bold]admin[/]", "password": f"[bold]{result.admin_password}[/]"}
        )
        out.print(_("This password is shown once and works once: the first log-in sets your own."))
    else:
        out.print(_("already initialised; nothing changed"))


def _say_tightened(lines: list[str]) -> None:
    """What `paths.tighten` changed: the data directory was readable by other local users."""
    if lines:
        tightened = _("the data directory was open to other local users; tightened:")
        err.print(f"[yellow]{tightened}[/]")
    for line in lines:
        err.print(f"  {escape(line)}", highlight=False, soft_wrap=True)


HttpPortOpt = Annotated[
    int, typer.Option("--http-port", help="Web UI and API port; 0 turns the web server off.")
]
HttpHostOpt = Annotated[str, typer.Option("--http-host", help="Address the web server binds.")]


@app.command()
def serve(
    data: DataOpt = None,
    http_port: HttpPortOpt = 8080,
    http_host: HttpHostOpt = "127.0.0.1",
    segment_seconds: Annotated[float, typer.Option("--segment-seconds", min=1, max=60)] = 6.0,
    no_tls: Annotated[
        bool,
        typer.Option(
            "--no-tls",
            help="Plain HTTP: accepted on a loopback address only, unless "
            "--plain-http-on-network or --behind-proxy says otherwise.",
        ),
    ] = False,
    plain_http_on_network: Annotated[
        bool,
        typer.Option(
            "--plain-http-on-network",
            help="With --no-tls on a network address: accept plain HTTP from anyone, "
            "passwords and footage in clear.",
        ),
    ] = False,
    behind_proxy: Annotated[
        list[str] | None,
        typer.Option(
            "--behind-proxy",
            help="Address or network of the TLS-terminating proxy in front (repeatable): "
            "plain HTTP from it (with X-Forwarded-Proto: https) and loopback only; its "
            "X-Forwarded-For is believed.",
        ),
    ] = None,
) -> None:
    """Record every active camera and serve the API until SIGINT or SIGTERM."""
    ctx = _context(data)
    _say_tightened(tighten(ctx.data))
    transport = cli_tls.serve_transport(
        ctx, http_host, no_tls, plain_http_on_network, behind_proxy or []
    )
    _setup_logging(ctx.data)
    _serve(ctx, segment_seconds, http_host, http_port, transport)


def _serve(
    ctx: Context,
    segment_seconds: float,
    http_host: str,
    http_port: int,
    transport: Transport,
    banner: list[str] | None = None,
) -> None:
    from custodes.adapters.diskspace import ReserveTooSmall
    from custodes.entrypoints.web.server import WebServer
    from custodes.recorder.housekeeping import Housekeeper
    from custodes.recorder.supervisor import AlreadyRecording, Supervisor

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        supervisor = Supervisor(ctx, segment_seconds=segment_seconds)
    except ReserveTooSmall as exc:
        raise _fail(str(exc)) from None
    if supervisor.reserve_warning:
        warning = escape(sentence(supervisor.reserve_warning))
        err.print(f"[yellow]{lead(_('warning:'))}[/]{warning}")
    try:
        report = supervisor.start()
    except AlreadyRecording as exc:
        raise _fail(str(exc)) from None
    if report.quarantined or report.salvaged:
        after = _(
            "after the last stop: %(salvaged)s segment(s) sealed short, %(quarantined)s "
            "file(s) quarantined — see `custodes status`"
        ) % {"salvaged": report.salvaged, "quarantined": len(report.quarantined)}
        err.print(f"[yellow]{after}[/]")
    housekeeper = Housekeeper(ctx)
    housekeeper.start()
    web = WebServer(ctx, http_host, http_port, transport) if http_port else None
    if web is not None:
        web.start()
    out.print(
        _("recording %(n)s camera(s) into %(archive)s")
        % {"n": len(supervisor.workers), "archive": ctx.data.archive}
    )
    if web is not None:
        base = f"{transport.scheme}://{_url_host(http_host)}:{http_port}"
        out.print(_("web: %(base)s/   API: %(base)s/api/v1/docs") % {"base": base}, highlight=False)
        if transport.tls:
            out.print(
                _(
                    "TLS: `custodes tls show` gives the certificate's fingerprint and the "
                    "authority file clients can trust"
                ),
                highlight=False,
            )
    for line in banner or []:
        out.print(line, soft_wrap=True, highlight=False)  # never a break inside a password
    out.print(
        _("status: custodes status --data %(root)s    stop: Ctrl-C") % {"root": ctx.data.root}
    )
    try:
        supervisor.run(stop)
    finally:
        out.print(_("stopping: closing and sealing open segments …"))
        if web is not None:
            web.stop()
        supervisor.stop()
        housekeeper.stop()
        housekeeper.join(30)
        out.print(
            _("stopped; %(n)s segment(s) sealed this session") % {"n": supervisor.sealer.sealed}
        )


@app.command()
def simulate(
    cameras: Annotated[int, typer.Option("--cameras", min=1, max=256)] = 4,
    port: Annotated[int, typer.Option("--port")] = 8554,
    data: DataOpt = None,
) -> None:
    """Serve N synthetic 1080p25 H.264 cameras at rtsp://127.0.0.1:PORT/camK until Ctrl-C."""
    from custodes.adapters.simulator.process import Simulator, prepare_cameras

    dd = resolve_data_dir(data)
    dd.sim.mkdir(parents=True, exist_ok=True)
    mounts = prepare_cameras(dd.sim, cameras)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with Simulator(mounts, port, log_path=dd.sim / "rtsp-server.log") as sim:
        for m in mounts:
            out.print(sim.url(m.name))
        out.print(_("serving; Ctrl-C stops"))
        while not stop.wait(1):
            if sim.poll() is not None:
                log = dd.sim / "rtsp-server.log"
                raise _fail(_("the RTSP server exited; see %(log)s") % {"log": log})


@app.command()
def demo(
    cameras: Annotated[int, typer.Option("--cameras", min=1, max=64)] = 4,
    http_port: HttpPortOpt = 8080,
    rtsp_port: Annotated[int, typer.Option("--rtsp-port")] = 8554,
    jurisdiction: Annotated[
        str | None,
        typer.Option(
            help=_(
                "One of: %(names)s; a new demo installation takes %(default)s unless told "
                "otherwise, an existing one keeps its own."
            )
            % {"names": ", ".join(JURISDICTIONS), "default": DEMO_JURISDICTION}
        ),
    ] = None,
    data: DataOpt = None,
) -> None:
    """Init if needed, start N simulated cameras, register them, record until Ctrl-C."""
    from custodes.adapters.simulator.process import Simulator, prepare_cameras

    dd = resolve_data_dir(data)
    try:
        try:
            result = initialise(dd, jurisdiction, admin_one_time=False)
        except JurisdictionRequired:
            result = initialise(dd, DEMO_JURISDICTION, admin_one_time=False)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    _setup_logging(dd)
    login = _demo_login(dd, result.admin_password)
    ctx = result.context
    out.print(_("preparing %(n)s simulated camera clip(s) …") % {"n": cameras})
    dd.sim.mkdir(parents=True, exist_ok=True)
    mounts = prepare_cameras(dd.sim, cameras)
    with Simulator(mounts, rtsp_port, log_path=dd.sim / "rtsp-server.log") as sim:
        cams = _register_simulated(ctx, [(m.name, sim.url(m.name)) for m in mounts])
        cast = ensure_demo_cast(ctx, dd, cams)
        banner = [
            _("log in at %(url)s as one of:") % {"url": f"http://127.0.0.1:{http_port}/"},
            login,
            *cast,
            _("jurisdiction: %(jurisdiction)s   data: %(root)s   logs: %(logs)s")
            % {"jurisdiction": result.jurisdiction, "root": dd.root, "logs": dd.logs},
        ]
        _serve(ctx, 6.0, "127.0.0.1", http_port, DEMO_TRANSPORT, banner)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _demo_login(dd: DataDir, password: str | None) -> str:
    """Demo only: keep the generated admin password in a 0600 file so each run can show it."""
    path = dd.keys / "demo-admin-password"
    if password:
        path.write_text(password + "\n", encoding="utf-8")
        path.chmod(0o600)
    elif path.exists():
        password = path.read_text(encoding="utf-8").strip()
    return login_line("admin", "系统管理员 Administrator", password)


def _register_simulated(ctx: Context, cams: list[tuple[str, str]]) -> list[int]:
    existing = {v.name: v for v in camera_service.list_cameras(ctx)}
    ids = []
    for mount, url in cams:
        name = f"Simulated {mount}"
        view = existing.get(name)
        if view is None:
            view = camera_service.add_camera(
                ctx, CameraSpec(name=name, url=url, place="simulated", site="demo")
            )
        elif view.url != url:
            view = camera_service.update_camera(ctx, str(view.id), {"url": url})
        ids.append(view.id)
    return ids


translate_app(app)  # every command registered: its help in the locale's language


def main() -> None:
    app()


if __name__ == "__main__":
    main()
