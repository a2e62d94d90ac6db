"""Sending one message to one destination: the answer, and how each kind is reached.

``Senders`` picks the sender for a URL's scheme; every sender answers with a
``SendResult`` and never raises for what the receiver did, so the deliverer has
one path for every failure (refused address, time-out, 5xx, broker down).

A sender may let a subscription's next messages go out before the first is
answered (``window``) only if the destination itself refuses a message whose
predecessor it has not stored: JetStream does, with ``Nats-Expected-Last-Msg-Id``
(``follows``). An HTTP receiver has no such check, so webhooks go one at a time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from infrastructure.delivery.destinations import scheme_of


@dataclass(frozen=True)
class SendResult:
    """What came of one attempt: ``error`` is None exactly when it was delivered."""

    status_code: int | None  # the HTTP status, if a receiver answered one
    error: str | None


Completion = Callable[[], Awaitable[SendResult]]
"""A message on its way: awaited, in the subscription's order, for what came of it."""


class Sender(Protocol):
    """Delivers a message's body with its headers to one kind of destination."""

    def window(self, url: str) -> int:
        """How many of a subscription's messages may be out at once (1: one at a time)."""
        ...

    async def send_ahead(
        self, url: str, body: bytes, headers: dict[str, str], *, follows: str | None
    ) -> Completion:
        """Start sending; ``follows``: the id of the message still out before this one.

        The destination must store this message only right after that one.
        Completions are awaited in order, so one that finds its predecessor
        missing may send again once that predecessor was answered.
        """
        ...

    async def close(self) -> None: ...


class Senders:
    """The sender for each scheme; closed together when the deliverer stops."""

    def __init__(self, by_scheme: dict[str, Sender]) -> None:
        self._by_scheme = by_scheme

    def window(self, url: str) -> int:
        sender = self._by_scheme.get(scheme_of(url))
        return 1 if sender is None else sender.window(url)

    async def send_ahead(
        self, url: str, body: bytes, headers: dict[str, str], *, follows: str | None
    ) -> Completion:
        sender = self._by_scheme.get(scheme_of(url))
        if sender is None:
            return answered(SendResult(None, f"no sender for {scheme_of(url)!r} URLs"))
        return await sender.send_ahead(url, body, headers, follows=follows)

    async def close(self) -> None:
        for sender in {id(sender): sender for sender in self._by_scheme.values()}.values():
            await sender.close()


def answered(result: SendResult) -> Completion:
    """The completion of a message that went nowhere (refused before it was sent)."""
    return partial(_already, result)


async def _already(result: SendResult) -> SendResult:
    return result
