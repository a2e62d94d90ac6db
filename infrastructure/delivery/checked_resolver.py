"""Address checks where the connection is made: the address checked is the one connected to.

Checking a host's addresses and then letting the HTTP client resolve it again to
connect leaves a gap (DNS rebinding: public for the check, loopback for the
connection) and costs a lookup per attempt. The webhook sender instead asks
``CheckedResolver`` for a host's addresses when it opens a connection and
connects to one of those addresses itself: what was checked is what is
connected to. Answers (refusals too) are kept for ``TTL_SECONDS``, aiohttp's
default DNS cache time, and a kept-alive connection needs no answer at all, so
a lookup and its check are rare. An IP literal is checked by ``literal_refusal``
(a cached, pure computation) and never looked up.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from functools import lru_cache
from typing import Protocol

from infrastructure.delivery.destinations import (
    RefusedDestination,
    is_private,
    private_host_reason,
)

TTL_SECONDS = 10.0
MAX_KEPT = 4096  # answers kept at most; the expired ones go when there are more


class Resolver(Protocol):
    """Every address a host name stands for (``OSError`` when it does not resolve)."""

    async def resolve(self, host: str, port: int) -> list[str]: ...


class SystemResolver:
    """The system's resolver through the running loop (``getaddrinfo`` in a worker thread)."""

    async def resolve(self, host: str, port: int) -> list[str]:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        # In getaddrinfo's order (the system's preference), each address once.
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


class CheckedResolver:
    """Resolves with another resolver, refusing (unless allowed) a host with a private address.

    With private addresses allowed it still resolves through the inner resolver,
    so a test's names point where the test says.
    """

    def __init__(self, inner: Resolver | None = None, *, allow_private: bool) -> None:
        self._inner: Resolver = inner or SystemResolver()
        self._allow_private = allow_private
        # (host, port) -> (when it expires, the addresses, or why the host is refused)
        self._kept: dict[tuple[str, int], tuple[float, list[str] | str]] = {}

    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to connect to, or ``RefusedDestination``."""
        if is_address_literal(host):
            if not self._allow_private and (refusal := literal_refusal(host)):
                raise RefusedDestination(refusal)
            return [host]
        now = asyncio.get_running_loop().time()
        kept = self._kept.get((host, port))
        if kept is None or kept[0] <= now:
            kept = (now + TTL_SECONDS, await self._checked(host, port))
            if len(self._kept) >= MAX_KEPT:
                self._kept = {key: value for key, value in self._kept.items() if value[0] > now}
            self._kept[host, port] = kept
        answer = kept[1]
        if isinstance(answer, str):
            raise RefusedDestination(answer)  # a new one each time: a raised one keeps its frames
        return answer

    async def _checked(self, host: str, port: int) -> list[str] | str:
        addresses = await self._inner.resolve(host, port)  # a failed lookup is not kept
        # The same rule as when the URL was subscribed (``checked_destination``): one
        # private address refuses the host, whichever address a connection would pick.
        if not self._allow_private and any(is_private(address) for address in addresses):
            return private_host_reason(host)
        return addresses


@lru_cache(maxsize=4096)
def is_address_literal(host: str) -> bool:
    """Whether ``host`` (as a URL's hostname gives it, no brackets) is an IP address."""
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


@lru_cache(maxsize=4096)
def literal_refusal(host: str) -> str | None:
    """Why an IP-literal host may not be sent to (None: a name, or a public address)."""
    if not is_address_literal(host):
        return None  # a name: the resolver checks it
    return private_host_reason(host) if is_private(host.strip("[]")) else None
