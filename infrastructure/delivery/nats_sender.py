"""JetStream deliveries: the same body published to a subject, deduplicated by message id.

``Nats-Msg-Id`` is the message id, so a retry or a second process publishing the
same event within the stream's duplicate window is dropped by JetStream itself.
The webhook headers go along too, so a consumer may verify the signature. One
connection per server, opened on first use and kept. Unless private addresses
are allowed, the server's name is resolved and checked when a connection is
opened and the connection is made to the checked address itself (nothing to
rebind in between, and no lookup per message).
"""

from __future__ import annotations

import asyncio
import logging
from functools import lru_cache
from typing import Any

import nats
from nats.errors import Error as NatsError

from infrastructure.delivery.destinations import (
    Destination,
    RefusedDestination,
    parse_destination,
    public_addresses,
)
from infrastructure.delivery.sending import SendResult

_log = logging.getLogger("shipments.delivery")


class NatsSender:
    """Publishes to JetStream; a server that cannot be reached is a failed attempt."""

    def __init__(self, timeout_seconds: float, *, allow_private: bool) -> None:
        self._timeout = timeout_seconds
        self._allow_private = allow_private
        self._connections: dict[tuple[str, int], Any] = {}

    async def send(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        try:
            destination = _parsed(url)
            connection = await self._connection(destination)
            stream = connection.jetstream(timeout=self._timeout)
            await stream.publish(
                destination.subject or "",
                body,
                timeout=self._timeout,
                headers={"Nats-Msg-Id": headers["webhook-id"], **headers},
            )
        except RefusedDestination as refused:
            return SendResult(None, f"refused: {refused}")
        except (NatsError, OSError, TimeoutError) as error:
            return SendResult(None, f"NATS: {type(error).__name__}: {error}"[:300])
        return SendResult(None, None)

    async def _connection(self, destination: Destination) -> Any:
        key = (destination.host, destination.port)
        connection = self._connections.get(key)
        if connection is None or connection.is_closed:
            host = destination.host
            if not self._allow_private:
                addresses = await asyncio.to_thread(public_addresses, host, destination.port)
                host = addresses[0]
            host = f"[{host}]" if ":" in host else host
            connection = await nats.connect(
                servers=[f"nats://{host}:{destination.port}"],
                connect_timeout=self._timeout,
                allow_reconnect=False,  # a reconnection would resolve the name unchecked
                max_reconnect_attempts=0,
            )
            self._connections[key] = connection
        return connection

    async def close(self) -> None:
        for connection in self._connections.values():
            try:
                await connection.close()
            except (NatsError, OSError):
                _log.debug("closing a NATS connection failed", exc_info=True)
        self._connections.clear()


@lru_cache(maxsize=1024)
def _parsed(url: str) -> Destination:
    """A subscription's URL parsed once, not per message (``Destination`` is immutable)."""
    return parse_destination(url)
