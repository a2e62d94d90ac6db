"""Where a subscription may send: refusing what would make the service an SSRF proxy.

Only ``http``, ``https`` and ``nats`` URLs, and (unless private addresses are
allowed) only hosts that resolve to public addresses: a subscription must not be
a way to make this server call its own loopback, the internal network or a
cloud metadata endpoint (169.254.169.254). The check runs when a URL is given
and again where a delivery connects (``checked_resolver`` for webhooks, the NATS
sender's connection), since a name may resolve elsewhere later.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

SCHEMES = ("http", "https", "nats")
DEFAULT_PORTS = {"http": 80, "https": 443, "nats": 4222}
MAX_URL_LENGTH = 2000


def scheme_of(url: str) -> str:
    """A subscription URL's scheme, lower-cased: which sender sends to it."""
    return url.split(":", 1)[0].lower()


class RefusedDestination(ValueError):
    """The URL may not be delivered to; the message says why (safe to show the caller)."""


@dataclass(frozen=True)
class Destination:
    """A checked URL: its scheme, host and port (and, for NATS, the subject)."""

    url: str
    scheme: str
    host: str
    port: int
    subject: str | None  # nats:// only: the path, without its slash


def parse_destination(url: str) -> Destination:
    """The URL's parts, or ``RefusedDestination`` for a scheme or form we never send to."""
    if len(url) > MAX_URL_LENGTH:
        raise RefusedDestination(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise RefusedDestination(f"not a valid URL: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise RefusedDestination("only http, https and nats URLs can be subscribed")
    if not parts.hostname:
        raise RefusedDestination("the URL names no host")
    if parts.username or parts.password:
        raise RefusedDestination("credentials in the URL are not accepted")
    subject = None
    if scheme == "nats":
        subject = parts.path.lstrip("/")
        if not subject or "/" in subject or " " in subject:
            raise RefusedDestination("a nats URL names one subject: nats://host:port/<subject>")
    return Destination(url, scheme, parts.hostname, port or DEFAULT_PORTS[scheme], subject)


def is_private(address: str) -> bool:
    """Loopback, private, link-local, unspecified, multicast or reserved: not the internet."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_multicast
        or ip.is_reserved
        or not ip.is_global
    )


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (a literal address is itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise RefusedDestination(f"the host {host!r} does not resolve: {error}") from None
    return sorted({str(info[4][0]) for info in infos})


def public_addresses(host: str, port: int) -> list[str]:
    """Every address of ``host``, or ``RefusedDestination`` if any is not public."""
    addresses = resolve(host, port)
    if any(is_private(address) for address in addresses):
        raise RefusedDestination(private_host_reason(host))
    return addresses


def private_host_reason(host: str) -> str:
    """What a refusal of a host with a non-public address says (the same wherever checked)."""
    return (
        f"the host {host!r} resolves to a loopback, private or link-local address; "
        "set SHIPMENTS_WEBHOOK_ALLOW_PRIVATE=true to allow it"
    )


def checked_destination(url: str, *, allow_private: bool) -> Destination:
    """The URL's destination, refused if it is not allowed (see the module docstring)."""
    destination = parse_destination(url)
    if not allow_private:
        public_addresses(destination.host, destination.port)
    return destination
