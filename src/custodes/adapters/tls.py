"""The web server's TLS certificate on disk: made by the installation, or supplied by the operator.

An installation makes its own certificate authority, signs one server certificate with it for
the names it is reached by, and throws the authority's private key away: `ca.crt` can be added
to the trust store of every client that connects (browsers, scripts, the regulator's laptop)
without trusting anything else the authority could ever sign, because nothing else can be
signed. A new certificate (`custodes tls renew`, new names) therefore comes with a new
authority. An operator who has a certificate from their own PKI installs it instead
(`custodes tls install`); its chain is kept as given.

Files (all 0600, in the private data directory): `server.key`, `server.crt` (the server
certificate, then any chain) and, for an installation-made one, `ca.crt`.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Apple's platforms refuse server certificates valid for longer than 825 days even from a
# locally trusted authority; a longer one would fail there without saying why.
VALIDITY = timedelta(days=825)
EXPIRY_WARNING = timedelta(days=30)
_MAX_NAMES = 64
_Name = x509.DNSName | x509.IPAddress


class CertificateProblem(ValueError):
    """A certificate or key that cannot serve: said in one line, naming the file."""


@dataclass(frozen=True)
class TlsFiles:
    directory: Path

    @property
    def key(self) -> Path:
        return self.directory / "server.key"

    @property
    def cert(self) -> Path:
        return self.directory / "server.crt"

    @property
    def ca(self) -> Path:
        return self.directory / "ca.crt"

    def present(self) -> bool:
        return self.key.is_file() and self.cert.is_file()


@dataclass(frozen=True)
class Certificate:
    """What a person checks about the certificate in force."""

    subject: str
    names: tuple[str, ...]
    not_before: datetime
    not_after: datetime
    fingerprint: str  # SHA-256 of the server certificate, colon-separated hex
    made_here: bool  # made by this installation (ca.crt beside it) or supplied by the operator
    ca_fingerprint: str | None  # the installation's authority, when made here

    def expires_within(self, span: timedelta, now: datetime) -> bool:
        return self.not_after - now <= span

    def names_host(self, host: str) -> bool:
        """Whether a client connecting to `host` finds it in the certificate."""
        wanted = _canonical(host)
        for name in self.names:
            if name == wanted:
                return True
            wildcard = name.startswith("*.") and wanted.count(".") >= 2
            if wildcard and wanted.split(".", 1)[1] == name[2:]:
                return True
        return False


def check_name(value: str) -> str:
    """One name a certificate may carry: an IP address or a DNS name (internationalised
    names in their ASCII form). Raises CertificateProblem saying what is wrong."""
    text = value.strip()
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        pass
    try:
        ascii_name = text.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError:
        raise CertificateProblem(f"{value!r} is neither an IP address nor a host name") from None
    labels = ascii_name.split(".")
    if (
        not ascii_name
        or len(ascii_name) > 253
        or any(not label or len(label) > 63 for label in labels)
        or any(not all(c.isalnum() or c == "-" for c in label) for label in labels)
        or any(label.startswith("-") or label.endswith("-") for label in labels)
    ):
        raise CertificateProblem(f"{value!r} is neither an IP address nor a host name")
    return ascii_name


def default_names() -> list[str]:
    """The names this machine is reached by: loopback, its host name, its fully qualified
    name, the addresses they resolve to and the address of its default route. Others (a
    second network, a name in the unit's DNS) are given by the operator."""
    found = ["localhost", "127.0.0.1", "::1", *_routed_addresses()]
    for candidate in (socket.gethostname(), socket.getfqdn()):
        try:
            found.append(check_name(candidate))
        except CertificateProblem:
            continue
        try:
            infos = socket.getaddrinfo(candidate, None)
        except OSError:
            continue
        found.extend(str(info[4][0]).split("%")[0] for info in infos)
    return found


def _routed_addresses() -> list[str]:
    """The local address each family would send from (a UDP connect sends no packet)."""
    found = []
    for family, probe in ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1")):
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.connect((probe, 9))
                found.append(str(s.getsockname()[0]).split("%")[0])
        except OSError:
            continue
    return found


def make(files: TlsFiles, names: Iterable[str], now: datetime | None = None) -> Certificate:
    """A new authority and a server certificate for `names`; the authority's key is never
    written. Replaces what was there, each file renamed into place whole; a running service
    keeps the pair it loaded until it is restarted."""
    clean = _unique(check_name(n) for n in names)
    if not clean:
        raise CertificateProblem("a certificate needs at least one name")
    if len(clean) > _MAX_NAMES:
        raise CertificateProblem(f"at most {_MAX_NAMES} names, not {len(clean)}")
    start = (now or datetime.now(UTC)) - timedelta(hours=1)  # clients with a slow clock
    end = start + VALIDITY
    label = _label(clean)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Custodes installation"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Custodes authority for {label}"),
        ]
    )
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Custodes installation"),
                    x509.NameAttribute(NameOID.COMMON_NAME, label),
                ]
            )
        )
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([_general(n) for n in clean]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    del ca_key  # never written: this authority signs this certificate and nothing else
    pem = serialization.Encoding.PEM
    _replace(
        files,
        key=server_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        cert=server_cert.public_bytes(pem),
        ca=ca_cert.public_bytes(pem),
    )
    return describe(files)


def install(files: TlsFiles, cert_path: Path, key_path: Path, now: datetime) -> Certificate:
    """The operator's certificate (PEM, server certificate first, then its chain) and its
    unencrypted private key, checked before anything is replaced."""
    chain = _read_chain(cert_path)
    key_bytes = _read(key_path)
    try:
        key = serialization.load_pem_private_key(key_bytes, password=None)
    except TypeError:
        raise CertificateProblem(
            f"{key_path}: the private key is encrypted; the service starts unattended, so "
            "give it the key without a passphrase (the file is kept 0600 in the data directory)"
        ) from None
    except ValueError:
        raise CertificateProblem(f"{key_path}: not a PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise CertificateProblem(f"{key_path}: only RSA and ECDSA keys are served")
    leaf = chain[0]
    if key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise CertificateProblem(
            f"{key_path} is not the key of the first certificate in {cert_path}"
        )
    if leaf.not_valid_after_utc <= now:
        raise CertificateProblem(f"{cert_path}: expired on {leaf.not_valid_after_utc:%Y-%m-%d}")
    if leaf.not_valid_before_utc > now:
        raise CertificateProblem(
            f"{cert_path}: not valid before {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
        )
    if not _names(leaf):
        raise CertificateProblem(
            f"{cert_path}: names no host (no subjectAltName); browsers would refuse it"
        )
    pem = serialization.Encoding.PEM
    _replace(
        files,
        key=key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        cert=b"".join(c.public_bytes(pem) for c in chain),
        ca=None,
    )
    return describe(files)


def describe(files: TlsFiles) -> Certificate:
    """The certificate in force. Raises CertificateProblem when it is missing or unreadable."""
    leaf = _read_chain(files.cert)[0]
    ca_fingerprint = None
    made_here = files.ca.is_file()
    if made_here:
        ca_fingerprint = _fingerprint(_read_chain(files.ca)[0])
    subject = leaf.subject.rfc4514_string()
    return Certificate(
        subject=subject,
        names=tuple(_names(leaf)),
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
        fingerprint=_fingerprint(leaf),
        made_here=made_here,
        ca_fingerprint=ca_fingerprint,
    )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CertificateProblem(f"{path}: {exc.strerror or exc}") from None


def _read_chain(path: Path) -> list[x509.Certificate]:
    raw = _read(path)
    try:
        chain = x509.load_pem_x509_certificates(raw)
    except ValueError:
        raise CertificateProblem(f"{path}: not a PEM certificate") from None
    if not chain:
        raise CertificateProblem(f"{path}: holds no certificate")
    return chain


def _names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(n) for n in san.get_values_for_type(x509.DNSName)] + [
        str(a) for a in san.get_values_for_type(x509.IPAddress)
    ]


def _fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def _canonical(host: str) -> str:
    try:
        return check_name(host)
    except CertificateProblem:
        return host.lower()


def _unique(names: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for n in names:
        seen.setdefault(n, None)
    return list(seen)


def _label(names: list[str]) -> str:
    for n in names:
        if n != "localhost" and not _is_ip(n):
            return n[:64]
    return names[0][:64]


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _general(name: str) -> _Name:
    if _is_ip(name):
        return x509.IPAddress(ipaddress.ip_address(name))
    return x509.DNSName(name)


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _replace(files: TlsFiles, *, key: bytes, cert: bytes, ca: bytes | None) -> None:
    files.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(files.directory, 0o700)
    staged = [(files.key, key), (files.cert, cert)] + ([(files.ca, ca)] if ca else [])
    for path, data in staged:
        tmp = path.with_name(path.name + ".new")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    for path, _ in staged:
        os.replace(path.with_name(path.name + ".new"), path)
    if ca is None:
        files.ca.unlink(missing_ok=True)
    dir_fd = os.open(files.directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
