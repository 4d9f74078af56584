"""TLS (issue 11 §4; Shenzhen Arts. 24(4), 29(4)): the certificate `init` makes, the operator's
own, what `serve` may speak, and the real server over HTTPS, behind a named proxy and in plain
HTTP on loopback — where forwarded headers must not be believed."""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from typer.testing import CliRunner

from custodes.adapters import tls
from custodes.adapters.db import schema
from custodes.domain.transport import (
    LOOPBACK_PLAIN,
    Transport,
    TransportRefused,
    decide,
)
from custodes.entrypoints.cli import app
from custodes.entrypoints.web.deps import CSRF_COOKIE, SESSION_COOKIE
from custodes.entrypoints.web.server import WebServer
from custodes.paths import DataDir
from custodes.services import tls as tls_service
from custodes.services.context import Context
from custodes.services.setup import initialise

from .conftest import free_port
from .recording import wait_for
from .test_api import PASSWORD, _set_password

API = "/api/v1"
NOW = datetime.now(UTC)


# --- the certificate the installation makes ---------------------------------------------------


def test_init_makes_a_certificate_clients_can_verify_by_the_authority_file(
    data_dir: DataDir,
) -> None:
    result = initialise(data_dir, "jilin", tls_names=["nvr.unit.example", "10.1.2.3"])
    cert = result.certificate
    assert cert is not None and cert.made_here
    assert {"localhost", "127.0.0.1", "::1", "nvr.unit.example", "10.1.2.3"} <= set(cert.names)
    files = tls_service.files(data_dir)
    # a client that trusts ca.crt verifies the server by name and by address
    trust = ssl.create_default_context(cafile=files.ca)
    served = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    served.load_cert_chain(files.cert, files.key)
    for name in ("localhost", "127.0.0.1", "nvr.unit.example"):
        _handshake(served, trust, name)
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(served, trust, "other.example")
    # the authority's private key exists nowhere: only the server's key is on disk
    keys = [p for p in files.directory.iterdir() if b"PRIVATE KEY" in p.read_bytes()]
    assert keys == [files.key]
    # private: the directory 0700, every file 0600
    assert stat.S_IMODE(files.directory.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in files.directory.iterdir()} == {0o600}
    # a second init keeps it
    again = initialise(data_dir)
    assert again.certificate is None
    assert tls_service.current(data_dir) == cert


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext, name: str) -> None:
    """A TLS handshake in memory: the client checks the server's certificate for `name`."""
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    c = client.wrap_bio(c_in, c_out, server_hostname=name)
    s = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        done = 0
        for side, out, peer_in in ((c, c_out, s_in), (s, s_out, c_in)):
            try:
                side.do_handshake()
                done += 1
            except ssl.SSLWantReadError:
                pass
            peer_in.write(out.read())
        if done == 2:
            return
    raise AssertionError("handshake did not finish")


def test_init_with_a_bad_name_makes_nothing(data_dir: DataDir) -> None:
    """Refused before the admin account exists: its password is shown once, at a success."""
    with pytest.raises(tls.CertificateProblem):
        initialise(data_dir, "jilin", tls_names=["no such host"])
    assert not data_dir.root.exists()


@pytest.mark.parametrize(
    "name", ["", "a b", "-edge", "x" * 64 + ".example", "a..b", "exa_mple", "<script>"]
)
def test_a_name_that_is_no_host_is_refused(name: str) -> None:
    with pytest.raises(tls.CertificateProblem, match="neither an IP address nor a host name"):
        tls.check_name(name)


def test_international_and_address_names_are_canonical() -> None:
    assert tls.check_name("监控.例子.cn") == "xn--izun04b.xn--fsqu00a.cn"
    assert tls.check_name("[::1]") == "::1"
    assert tls.check_name("NVR.Unit.Example.") == "nvr.unit.example"


# --- the operator's own certificate ----------------------------------------------------------


def _operator_pki(
    tmp: Path,
    *,
    valid_from: datetime = NOW - timedelta(days=1),
    valid_to: datetime = NOW + timedelta(days=90),
    names: bool = True,
) -> tuple[Path, Path, Path]:
    """A unit's own authority and a server certificate it signed: (chain, key, authority)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Unit Root CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=10))
        .not_valid_after(NOW + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nvr.unit.example")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_to)
    )
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("nvr.unit.example"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
    leaf = builder.sign(ca_key, hashes.SHA256())
    pem = serialization.Encoding.PEM
    chain, key_file, ca_file = tmp / "chain.pem", tmp / "key.pem", tmp / "unit-ca.pem"
    chain.write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    ca_file.write_bytes(ca.public_bytes(pem))
    return chain, key_file, ca_file


def test_the_operators_certificate_is_checked_then_served_with_its_chain(
    ctx: Context, tmp_path: Path
) -> None:
    chain, key, _ = _operator_pki(tmp_path)
    made = tls_service.current(ctx.data)
    assert made is not None
    installed = tls_service.install(ctx, chain, key, "cli:test")
    assert not installed.made_here and installed.ca_fingerprint is None
    assert installed.fingerprint != made.fingerprint
    files = tls_service.files(ctx.data)
    assert not files.ca.exists()  # no stale authority file to hand out
    assert files.cert.read_bytes() == chain.read_bytes().replace(b"\r\n", b"\n")
    (details,) = _ledger(ctx, "tls-installed")
    assert details["fingerprint_sha256"] == installed.fingerprint
    assert details["made_here"] is False


def test_a_wrong_certificate_or_key_is_refused_and_nothing_is_replaced(
    ctx: Context, tmp_path: Path
) -> None:
    before = tls_service.files(ctx.data).cert.read_bytes()
    chain, key, _ = _operator_pki(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    _, other_key, _ = _operator_pki(other)
    cases: list[tuple[Path, Path, str]] = [(chain, other_key, "is not the key of")]
    old = tmp_path / "old"
    old.mkdir()
    o_chain, o_key, _ = _operator_pki(
        old, valid_from=NOW - timedelta(days=400), valid_to=NOW - timedelta(days=1)
    )
    cases.append((o_chain, o_key, "expired on"))
    soon = tmp_path / "soon"
    soon.mkdir()
    s_chain, s_key, _ = _operator_pki(soon, valid_from=NOW + timedelta(days=2))
    cases.append((s_chain, s_key, "not valid before"))
    bare = tmp_path / "bare"
    bare.mkdir()
    b_chain, b_key, _ = _operator_pki(bare, names=False)
    cases.append((b_chain, b_key, "no subjectAltName"))
    locked = tmp_path / "locked.pem"
    loaded = serialization.load_pem_private_key(key.read_bytes(), None)
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    locked.write_bytes(
        loaded.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    cases.append((chain, locked, "encrypted"))
    cases.append((key, key, "not a PEM certificate"))
    cases.append((chain, chain, "not a PEM private key"))
    cases.append((tmp_path / "absent.pem", key, "No such file"))
    for cert_file, key_file, why in cases:
        with pytest.raises(tls.CertificateProblem, match=why):
            tls_service.install(ctx, cert_file, key_file, "cli:test")
    assert tls_service.files(ctx.data).cert.read_bytes() == before
    assert _ledger(ctx, "tls-installed") == []


def test_tls_commands_show_renew_and_install(ctx: Context, tmp_path: Path) -> None:
    runner = CliRunner()
    data = ["--data", str(ctx.data.root)]
    shown = runner.invoke(app, ["tls", "show", *data, "--json"])
    assert shown.exit_code == 0, shown.output
    first = json.loads(shown.output)
    assert first["made_here"] and first["authority_file"].endswith("ca.crt")
    renewed = runner.invoke(app, ["tls", "renew", "--name", "nvr.unit.example", *data])
    assert renewed.exit_code == 0, renewed.output
    assert "new authority" in renewed.output
    after = tls_service.current(ctx.data)
    assert after is not None and "nvr.unit.example" in after.names
    assert after.ca_fingerprint != first["ca_fingerprint"]
    bad = runner.invoke(app, ["tls", "renew", "--name", "no host", *data])
    assert bad.exit_code == 2 and "neither an IP address" in bad.output
    chain, key, _ = _operator_pki(tmp_path)
    done = runner.invoke(app, ["tls", "install", "--cert", str(chain), "--key", str(key), *data])
    assert done.exit_code == 0, done.output
    assert "supplied by the operator" in done.output
    assert [d["made_here"] for d in _ledger(ctx, "tls-renewed")] == [True]


def test_a_damaged_certificate_stops_serve_instead_of_falling_back(ctx: Context) -> None:
    tls_service.files(ctx.data).cert.write_text("not a certificate")
    served = CliRunner().invoke(app, ["serve", "--data", str(ctx.data.root), "--http-port", "0"])
    assert served.exit_code == 2
    assert "TLS certificate" in served.output and "not a PEM certificate" in served.output


# --- what serve may speak ---------------------------------------------------------------------


def _decide(host: str = "0.0.0.0", **kw: object) -> Transport:
    args: dict[str, object] = {
        "host": host,
        "certificate": True,
        "operator_certificate": False,
        "no_tls": False,
        "plain_http_on_network": False,
        "proxies": (),
    }
    args.update(kw)
    return decide(**args)  # type: ignore[arg-type]


def test_tls_is_the_default_and_plain_http_needs_loopback_or_words() -> None:
    assert _decide() == Transport(tls=True, proxies=(), plain_from_anywhere=False, hsts=False)
    assert _decide(operator_certificate=True).hsts  # HSTS only with a certificate browsers trust
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.5"):
        assert _decide(host, no_tls=True) == LOOPBACK_PLAIN
    for host in ("0.0.0.0", "::", "10.0.0.5", "nvr.unit.example"):
        with pytest.raises(TransportRefused, match="in clear"):
            _decide(host, no_tls=True)
    loud = _decide(no_tls=True, plain_http_on_network=True)
    assert not loud.tls and loud.plain_from_anywhere
    with pytest.raises(TransportRefused, match="no usable TLS certificate"):
        _decide(certificate=False)


def test_behind_a_proxy_only_it_and_loopback_may_speak_plain() -> None:
    proxied = _decide(proxies=("10.0.0.5", "10.1.0.0/16"))
    assert not proxied.tls and proxied.proxies == ("10.0.0.5/32", "10.1.0.0/16")
    assert proxied.accepts_plain("https", "203.0.113.7")  # the proxy said it came over TLS
    assert proxied.accepts_plain("http", "127.0.0.1")
    assert not proxied.accepts_plain("http", "10.0.0.9")
    assert not proxied.accepts_plain("ws", "10.0.0.9")
    assert not proxied.accepts_plain("http", None)
    for bad in ("0.0.0.0/0", "::/0", "everyone", ""):
        with pytest.raises(TransportRefused):
            _decide(proxies=(bad,))
    with pytest.raises(TransportRefused, match="contradict"):
        _decide(proxies=("10.0.0.5",), no_tls=True, plain_http_on_network=True)


def test_serve_refuses_plain_http_on_the_network_without_the_words(ctx: Context) -> None:
    runner = CliRunner()
    args = ["serve", "--data", str(ctx.data.root), "--http-port", "0", "--no-tls"]
    refused = runner.invoke(app, [*args, "--http-host", "0.0.0.0"])
    assert refused.exit_code == 2
    assert "in clear" in refused.output and "--plain-http-on-network" in refused.output


# --- the real server --------------------------------------------------------------------------


def _serve(ctx: Context, transport: Transport, trust: Path | None = None) -> Iterator[str]:
    _set_password(ctx, PASSWORD)
    port = free_port()
    server = WebServer(ctx, "127.0.0.1", port, transport)
    server.start()
    base = f"{transport.scheme}://127.0.0.1:{port}"
    verify: ssl.SSLContext | bool = False
    if transport.tls:
        verify = ssl.create_default_context(cafile=trust or tls_service.files(ctx.data).ca)

    def up() -> bool:
        try:
            return httpx.get(f"{base}{API}/health", verify=verify).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for("the web server", up, 20, every=0.1)
    try:
        yield base
    finally:
        server.stop()


@pytest.fixture
def over_tls(ctx: Context) -> Iterator[str]:
    made = tls_service.current(ctx.data)
    assert made is not None
    yield from _serve(ctx, _decide("127.0.0.1"))


def test_the_service_speaks_https_with_secure_cookies(ctx: Context, over_tls: str) -> None:
    trust = ssl.create_default_context(cafile=tls_service.files(ctx.data).ca)
    with httpx.Client(base_url=over_tls, verify=trust) as c:
        res = c.post(f"{API}/auth/login", json={"username": "admin", "password": PASSWORD})
        assert res.status_code == 200, res.text
        cookies = res.headers.get_list("set-cookie")
        for name in (SESSION_COOKIE, CSRF_COOKIE):
            (line,) = [c for c in cookies if c.startswith(f"{name}=")]
            assert "secure" in line.lower().split("; ")
        # a self-made certificate: no HSTS, which would forbid clicking through the warning
        assert "strict-transport-security" not in res.headers
        assert "server" not in res.headers
    # TLS 1.3 by default, 1.2 for an older client
    for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
        pinned = ssl.create_default_context(cafile=tls_service.files(ctx.data).ca)
        pinned.minimum_version = pinned.maximum_version = version
        port = int(over_tls.rsplit(":", 1)[1])
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            pinned.wrap_socket(raw, server_hostname="127.0.0.1") as wrapped,
        ):
            assert wrapped.version() == version.name.replace("_", ".")
    # plain HTTP to the TLS port gets no answer from the application
    with pytest.raises(httpx.HTTPError):
        httpx.get(over_tls.replace("https://", "http://") + f"{API}/health", timeout=5)


def test_an_operator_certificate_is_served_with_hsts(ctx: Context, tmp_path: Path) -> None:
    chain, key, unit_ca = _operator_pki(tmp_path)
    tls_service.install(ctx, chain, key, "cli:test")
    for base in _serve(ctx, _decide("127.0.0.1", operator_certificate=True), unit_ca):
        trust = ssl.create_default_context(cafile=unit_ca)
        res = httpx.get(base + f"{API}/health", verify=trust)
        assert res.status_code == 200
        assert res.headers["strict-transport-security"] == "max-age=31536000"


def _failed_login_source(ctx: Context) -> str:
    with ctx.engine.connect() as conn:
        details = conn.execute(
            select(schema.ledger.c.details)
            .where(schema.ledger.c.action == "login-failed")
            .order_by(schema.ledger.c.seq.desc())
            .limit(1)
        ).scalar_one()
    source: str = json.loads(details)["source"]
    return source


FORGED = {"x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https"}


def test_without_a_named_proxy_forwarded_headers_are_not_believed(ctx: Context) -> None:
    """uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: any local
    process could then pick the address the throttle counts and the ledger records."""
    for base in _serve(ctx, LOOPBACK_PLAIN):
        res = httpx.post(
            f"{base}{API}/auth/login",
            json={"username": "admin", "password": "wrong"},
            headers=FORGED,
        )
        assert res.status_code == 401
        assert _failed_login_source(ctx) == "127.0.0.1"
        ok = httpx.post(
            f"{base}{API}/auth/login",
            json={"username": "admin", "password": PASSWORD},
            headers=FORGED,
        )
        assert "secure" not in ok.headers["set-cookie"].lower()  # it did not come over TLS


def test_behind_the_named_proxy_its_client_address_and_scheme_are_used(ctx: Context) -> None:
    proxied = _decide("127.0.0.1", proxies=("127.0.0.1",))
    for base in _serve(ctx, proxied):
        res = httpx.post(
            f"{base}{API}/auth/login",
            json={"username": "admin", "password": "wrong"},
            headers=FORGED,
        )
        assert res.status_code == 401
        assert _failed_login_source(ctx) == "203.0.113.9"  # the throttle counts the client
        ok = httpx.post(
            f"{base}{API}/auth/login",
            json={"username": "admin", "password": PASSWORD},
            headers=FORGED,
        )
        assert ok.status_code == 200
        assert all("secure" in c.lower() for c in ok.headers.get_list("set-cookie"))
        # the proxy forwarded a client that reached it in plain HTTP: refused, in its language
        plain = httpx.get(
            f"{base}{API}/health",
            headers={"x-forwarded-for": "203.0.113.9", "accept-language": "zh-CN"},
        )
        assert plain.status_code == 403
        assert "HTTPS" in plain.json()["detail"] and "仅" in plain.json()["detail"]
        assert plain.headers["x-content-type-options"] == "nosniff"
        # this machine itself may still speak plain HTTP (the operator's own checks)
        assert httpx.get(f"{base}{API}/health").status_code == 200


def test_a_direct_plain_request_from_the_network_is_refused_before_the_session(
    ctx: Context,
) -> None:
    """Behind a proxy, a LAN peer that connects to the service directly — its cookie in
    clear — is refused before its session is looked at, WebSockets included."""
    from starlette.testclient import TestClient

    from custodes.entrypoints.web.app import create_app

    proxied = _decide("0.0.0.0", proxies=("10.0.0.5",))
    application = create_app(ctx, transport=proxied)
    lan = TestClient(application, client=("10.0.0.9", 50000))
    res = lan.get(f"{API}/me", cookies={SESSION_COOKIE: "whatever"})
    assert res.status_code == 403 and "HTTPS" in res.json()["detail"]
    with pytest.raises(Exception) as refused, lan.websocket_connect(f"{API}/cameras/1/live"):
        pass
    assert getattr(refused.value, "code", None) == 4403
    local = TestClient(application, client=("127.0.0.1", 50000))
    assert local.get(f"{API}/health").status_code == 200


def _ledger(ctx: Context, action: str) -> list[dict[str, object]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(schema.ledger.c.details)
            .where(schema.ledger.c.action == action)
            .order_by(schema.ledger.c.seq)
        ).scalars()
        return [json.loads(r) for r in rows]


def test_serve_ledgers_the_certificate_it_serves_once(ctx: Context) -> None:
    cert = tls_service.current(ctx.data)
    assert cert is not None
    assert tls_service.note_served(ctx, cert, "cli:test")
    assert not tls_service.note_served(ctx, cert, "cli:test")  # already named
    renewed = tls_service.renew(ctx, [], "cli:test")
    assert not tls_service.note_served(ctx, renewed, "cli:test")  # the renewal named it
    (served,) = _ledger(ctx, "tls-served")
    assert served["fingerprint_sha256"] == cert.fingerprint


def test_status_tells_the_certificate_state_and_a_damaged_one_fails_nothing(
    ctx: Context,
) -> None:
    from custodes.entrypoints.cli_common import console
    from custodes.entrypoints.cli_status import render
    from custodes.services.status import system_status, tls_status

    cert = tls_service.current(ctx.data)
    assert cert is not None
    assert tls_status(ctx).state == "ok"
    soon = int((cert.not_after - timedelta(days=10)).timestamp() * 1e6)
    assert tls_status(ctx, soon).state == "expiring"
    late = int((cert.not_after + timedelta(seconds=1)).timestamp() * 1e6)
    assert tls_status(ctx, late).state == "expired"

    def shown() -> str:
        shown_on = console(width=80, record=True, color_system=None)
        for line in render([], system_status(ctx)):
            shown_on.print(line)
        return shown_on.export_text()

    assert f"until {cert.not_after:%Y-%m-%d}, SHA-256 {cert.fingerprint[:17]}" in shown()
    tls_service.files(ctx.data).cert.write_bytes(b"\x00garbage")
    assert tls_status(ctx).state == "damaged"
    assert "TLS certificate damaged" in shown() and "not a PEM certificate" in shown()
    assert system_status(ctx).to_json()["tls"]["state"] == "damaged"
    for f in tls_service.files(ctx.data).directory.iterdir():
        f.unlink()
    assert "TLS certificate: none" in shown()
