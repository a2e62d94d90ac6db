"""What is delivered: one message per event of the feed, the same body to every destination.

The deliverer knows messages only as data (position, public type, body bytes);
rendering an event into its body (the shipment at that version, the changes) is
the projections' business, handed in as a ``MessageSource``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True)
class Message:
    """One event of the feed as delivered: ``type`` is public (``shipment.revised``)."""

    position: int
    type: str
    body: bytes
    recorded_at: float | None = None  # the event's time (Unix seconds): delivery lag from it


class MessageSource(Protocol):
    """The feed as messages, gap-safe: never a position before an earlier one commits."""

    def after(self, position: int, limit: int) -> list[Message]:
        """Up to ``limit`` messages after ``position``, in feed order (may read the store)."""
        ...

    def rendered_after(self, position: int, limit: int) -> list[Message] | None:
        """What ``after`` answers when it needs no store and no rendering (None: call it).

        Cheap enough for the event loop: subscriptions that follow the head get what
        the first of them rendered without a thread hop each.
        """
        ...

    async def wait_beyond(self, position: int, timeout: float) -> bool:
        """Wait until there may be a message after ``position`` (False: timed out)."""
        ...


def message_id(subscription_id: UUID, position: int) -> str:
    """The id of a message: the same on every retry of one event to one subscription.

    Receivers dedupe by it (``webhook-id``), and so does JetStream (``Nats-Msg-Id``).
    """
    return f"msg_{subscription_id.hex}_{position}"
