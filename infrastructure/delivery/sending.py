"""Sending one message to one destination: the answer, and how each kind is reached.

``Senders`` picks the sender for a URL's scheme; every sender answers with a
``SendResult`` and never raises for what the receiver did, so the deliverer has
one path for every failure (refused address, time-out, 5xx, broker down).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from infrastructure.delivery.destinations import scheme_of


@dataclass(frozen=True)
class SendResult:
    """What came of one attempt: ``error`` is None exactly when it was delivered."""

    status_code: int | None  # the HTTP status, if a receiver answered one
    error: str | None


class Sender(Protocol):
    """Delivers a message's body with its headers to one kind of destination."""

    async def send(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult: ...

    async def close(self) -> None: ...


class Senders:
    """The sender for each scheme; closed together when the deliverer stops."""

    def __init__(self, by_scheme: dict[str, Sender]) -> None:
        self._by_scheme = by_scheme

    async def send(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        scheme = scheme_of(url)
        sender = self._by_scheme.get(scheme)
        if sender is None:
            return SendResult(None, f"no sender for {scheme!r} URLs")
        return await sender.send(url, body, headers)

    async def close(self) -> None:
        for sender in {id(sender): sender for sender in self._by_scheme.values()}.values():
            await sender.close()
