"""Address checks where the connection is made: the address checked is the one connected to.

Checking a host's addresses and then letting the HTTP client resolve it again to
connect leaves a gap (DNS rebinding: public for the check, loopback for the
connection) and costs a lookup per attempt. ``CheckedResolver`` is the resolver
of the client's connector instead: what it returns is what the client connects
to, and the connector's DNS cache and keep-alive connections make the check
rare. aiohttp never asks a resolver about an IP literal, so ``literal_refusal``
checks those before sending (a cached, pure computation).
"""

from __future__ import annotations

import ipaddress
import socket
from functools import lru_cache

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from infrastructure.delivery.destinations import (
    RefusedDestination,
    is_private,
    private_host_reason,
)


class CheckedResolver(AbstractResolver):
    """Resolves with another resolver and refuses a host with any non-public address."""

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        # The same rule as when the URL was subscribed (``checked_destination``): one
        # private address refuses the host, whichever address a connection would pick.
        if any(is_private(result["host"]) for result in results):
            raise RefusedDestination(private_host_reason(host))
        return results

    async def close(self) -> None:
        await self._inner.close()


@lru_cache(maxsize=4096)
def literal_refusal(host: str) -> str | None:
    """Why an IP-literal host may not be sent to (None: a name, or a public address)."""
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None  # a name: the resolver checks it
    return private_host_reason(host) if is_private(host.strip("[]")) else None
