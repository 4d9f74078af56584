"""How the web server may speak, decided once from what the operator asked (Shenzhen Arts.
24(4), 29(4): transmission protected).

- TLS whenever the installation has a certificate, which `init` makes: the default.
- Plain HTTP where nobody else can listen: bound to a loopback address only.
- Plain HTTP on the network only when the operator says so in so many words
  (`--plain-http-on-network`), or behind a TLS-terminating proxy the operator names
  (`--behind-proxy ADDRESS`): the proxy's own connection is plain, and only the proxy (and
  loopback) may connect; a request that reached the proxy over TLS carries
  `X-Forwarded-Proto: https`, which is believed from the named proxy alone, as is its
  `X-Forwarded-For` (the client's address, which the log-in throttle counts by).

Pure: no sockets, no files.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TransportRefused(ValueError):
    """What the operator asked would send passwords and footage in clear; said how to fix."""


@dataclass(frozen=True)
class Transport:
    tls: bool
    proxies: tuple[str, ...]  # networks whose X-Forwarded-* headers are believed
    plain_from_anywhere: bool  # plain HTTP accepted from any peer (the operator said so)
    hsts: bool  # tell browsers to use HTTPS only (not with a self-made certificate: see below)

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    def accepts_plain(self, scheme: str, client_host: str | None) -> bool:
        """Whether a request that arrived as `scheme` from `client_host` (after a trusted
        proxy's headers were applied) may be answered."""
        if self.tls or self.plain_from_anywhere or scheme in ("https", "wss"):
            return True
        return client_host is not None and is_loopback(client_host)


# Plain HTTP to a server bound to loopback (the demo, benchmarks): only this machine can speak.
LOOPBACK_PLAIN = Transport(tls=False, proxies=(), plain_from_anywhere=False, hsts=False)


def is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def proxy_network(value: str) -> str:
    """A proxy the operator names: an address or a network (CIDR), in canonical form."""
    try:
        network: _Network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise TransportRefused(
            f"--behind-proxy {value!r}: give the proxy's IP address or network, "
            "e.g. 10.0.0.5 or 10.0.0.0/24"
        ) from None
    if network.prefixlen == 0:
        raise TransportRefused(
            f"--behind-proxy {value!r} would believe forwarded addresses from anyone"
        )
    return str(network)


def decide(
    *,
    host: str,
    certificate: bool,
    operator_certificate: bool,
    no_tls: bool,
    plain_http_on_network: bool,
    proxies: tuple[str, ...],
) -> Transport:
    """The transport for a server bound to `host`. `certificate`: the installation has one
    that loads; `operator_certificate`: it came from the operator's PKI, so browsers trust it
    and HSTS cannot lock anyone out (with a self-made one a browser that has not imported the
    installation's authority could no longer click through its warning)."""
    networks = tuple(proxy_network(p) for p in proxies)
    if networks:
        if plain_http_on_network:
            raise TransportRefused(
                "--behind-proxy and --plain-http-on-network contradict each other: behind a "
                "proxy only the proxy may connect in plain HTTP"
            )
        return Transport(tls=False, proxies=networks, plain_from_anywhere=False, hsts=False)
    if not no_tls:
        if not certificate:
            raise TransportRefused(
                "no usable TLS certificate: `custodes tls renew` makes one, "
                "`custodes tls install` takes the unit's own"
            )
        return Transport(tls=True, proxies=(), plain_from_anywhere=False, hsts=operator_certificate)
    if is_loopback(host) or plain_http_on_network:
        return Transport(
            tls=False, proxies=(), plain_from_anywhere=plain_http_on_network, hsts=False
        )
    raise TransportRefused(
        f"plain HTTP on {host} would send passwords, session cookies and footage in clear "
        "to anyone on the network: drop --no-tls, bind a loopback address, name the "
        "TLS-terminating proxy with --behind-proxy, or say --plain-http-on-network"
    )
