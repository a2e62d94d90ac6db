"""JetStream deliveries: the same body published to a subject, deduplicated by message id.

``Nats-Msg-Id`` is the message id, so a retry or a second process publishing the
same event within the stream's duplicate window is dropped by JetStream itself.
The webhook headers go along too, so a consumer may verify the signature. One
connection per server, opened on first use and kept. Unless private addresses
are allowed, the server's name is resolved and checked when a connection is
opened and the connection is made to the checked address itself (nothing to
rebind in between, and no lookup per message).

A subscription's messages are published ahead, up to ``WINDOW`` before the
first is acknowledged, each carrying ``Nats-Expected-Last-Msg-Id`` with the id
of the one before it: the stream stores it only if that one is the last it
stored, so nothing reaches the stream before its predecessor (API.md's order),
whatever is lost or late on the way. Waiting for each acknowledgement before
the next publish (nats-py's ``publish``) made the subscription's rate one
message per round trip through the deliverer's busy event loop: 1.85 ms on
average at 500 events/s beside ten webhook subscriptions, so the JetStream
subscription was the first to fall behind (p99 lag 0.1-5 s). A refusal for a
wrong last id (the predecessor was a duplicate, or another publisher wrote to
the stream in between) is not a failure: once its predecessor is acknowledged,
the message is published again without the header and waited for, and that
subscription publishes one at a time for a minute (``window``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

import nats
from nats.errors import Error as NatsError
from nats.js.errors import APIError

from infrastructure.delivery.destinations import (
    Destination,
    RefusedDestination,
    parse_destination,
    public_addresses,
)
from infrastructure.delivery.jetstream_acks import Acknowledgements
from infrastructure.delivery.sending import Completion, SendResult, answered

_log = logging.getLogger("shipments.delivery")

WINDOW = 32  # messages of one subscription published before the first is acknowledged
EXPECTED_LAST_ID = "Nats-Expected-Last-Msg-Id"
WRONG_LAST_ID = 10070  # JetStream's error code for a refused Nats-Expected-Last-Msg-Id
SHARED_STREAM_SECONDS = 60.0  # one at a time after such a refusal, then ahead again


@dataclass(frozen=True)
class _Link:
    """A connection to one server, its JetStream context, and its inbox for acknowledgements."""

    connection: Any
    jetstream: Any
    acknowledgements: Acknowledgements


class NatsSender:
    """Publishes to JetStream; a server that cannot be reached is a failed attempt."""

    def __init__(self, timeout_seconds: float, *, allow_private: bool) -> None:
        self._timeout = timeout_seconds
        self._allow_private = allow_private
        self._links: dict[tuple[str, int], _Link] = {}
        self._shared_until: dict[str, float] = {}  # URL: one at a time until then

    def window(self, url: str) -> int:
        """``WINDOW``, or 1 for a while after the stream refused a wrong last id.

        Such a stream has other publishers (two subscriptions into one stream, say),
        so most guarded messages would be refused and published again: one at a
        time, unguarded, costs half the publishes.
        """
        until = self._shared_until.get(url)
        if until is None:
            return WINDOW
        if until > time.monotonic():
            return 1
        del self._shared_until[url]
        return WINDOW

    async def send(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        """Publish and wait for the acknowledgement."""
        try:
            destination = _parsed(url)
            link = await self._link(destination)
            await link.jetstream.publish(
                destination.subject or "",
                body,
                timeout=self._timeout,
                headers={"Nats-Msg-Id": headers["webhook-id"], **headers},
            )
        except RefusedDestination as refused:
            return SendResult(None, f"refused: {refused}")
        except (NatsError, OSError, TimeoutError) as error:
            return _failed(error)
        return SendResult(None, None)

    async def send_ahead(
        self, url: str, body: bytes, headers: dict[str, str], *, follows: str | None
    ) -> Completion:
        """Publish now, stored only right after ``follows``; the completion awaits the ack."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        published = {"Nats-Msg-Id": headers["webhook-id"], **headers}
        if follows is not None:
            published[EXPECTED_LAST_ID] = follows
        try:
            destination = _parsed(url)
            link = await self._link(destination)
            acknowledged = await link.acknowledgements.publish(
                destination.subject or "", body, published
            )
        except RefusedDestination as refused:
            return answered(SendResult(None, f"refused: {refused}"))
        except (NatsError, OSError, TimeoutError) as error:
            return answered(_failed(error))
        acknowledged.add_done_callback(_retrieved)  # abandoned after an earlier failure
        return partial(self._completion, acknowledged, deadline, url, body, headers)

    async def _completion(
        self,
        acknowledged: asyncio.Future[None],
        deadline: float,
        url: str,
        body: bytes,
        headers: dict[str, str],
    ) -> SendResult:
        try:
            if not acknowledged.done():
                timeout = max(0.0, deadline - asyncio.get_running_loop().time())
                await asyncio.wait_for(acknowledged, timeout)
            acknowledged.result()
        except APIError as error:
            if error.err_code == WRONG_LAST_ID:
                self._shared_until[url] = time.monotonic() + SHARED_STREAM_SECONDS
                return await self.send(url, body, headers)  # its predecessor is acknowledged
            return _failed(error)
        except (NatsError, OSError, TimeoutError) as error:
            return _failed(error)
        return SendResult(None, None)

    async def _link(self, destination: Destination) -> _Link:
        key = (destination.host, destination.port)
        link = self._links.get(key)
        if link is None or link.connection.is_closed:
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
            link = _Link(
                connection,
                connection.jetstream(timeout=self._timeout),
                Acknowledgements(connection),
            )
            self._links[key] = link
        return link

    async def close(self) -> None:
        for link in self._links.values():
            try:
                await link.connection.close()
            except (NatsError, OSError):
                _log.debug("closing a NATS connection failed", exc_info=True)
        self._links.clear()


def _failed(error: Exception) -> SendResult:
    return SendResult(None, f"NATS: {type(error).__name__}: {error}"[:300])


def _retrieved(acknowledged: asyncio.Future[None]) -> None:
    """Mark an abandoned acknowledgement's error as seen (no "never retrieved" warning)."""
    if not acknowledged.cancelled():
        acknowledged.exception()


@lru_cache(maxsize=1024)
def _parsed(url: str) -> Destination:
    """A subscription's URL parsed once, not per message (``Destination`` is immutable)."""
    return parse_destination(url)
