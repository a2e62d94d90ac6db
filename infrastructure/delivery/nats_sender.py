"""JetStream deliveries: the same body published to a subject, deduplicated by message id.

``Nats-Msg-Id`` is the message id, so a retry or a second process publishing the
same event within the stream's duplicate window is dropped by JetStream itself.
The webhook headers go along too, so a consumer may verify the signature. One
connection per server, opened on first use and kept.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import nats
from nats.errors import Error as NatsError

from infrastructure.delivery.destinations import (
    RefusedDestination,
    checked_destination,
    parse_destination,
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
            if self._allow_private:
                destination = parse_destination(url)
            else:
                destination = await asyncio.to_thread(checked_destination, url, allow_private=False)
            connection = await self._connection(destination.host, destination.port)
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

    async def _connection(self, host: str, port: int) -> Any:
        key = (host, port)
        connection = self._connections.get(key)
        if connection is None or connection.is_closed:
            connection = await nats.connect(
                servers=[f"nats://{host}:{port}"],
                connect_timeout=self._timeout,
                allow_reconnect=False,
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
