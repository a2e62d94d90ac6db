"""Reads one shipment's stream a page at a time, for history, replay and as-of.

A page starts from the state at ``after`` (a snapshot plus at most one
snapshot interval of events, the library's own mechanism) and then the page's
events, so reading any page of any stream costs the same whatever its length.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.shipment import Shipment
from infrastructure.errors import ShipmentNotFound, store_errors
from infrastructure.event_store import ShipmentStore


@dataclass(frozen=True)
class StreamPage:
    """Events ``after + 1 …`` of one stream and the state they start from."""

    start: Shipment | None  # The state at ``after``; None when the page starts at creation.
    events: list[Any]  # The shipment's domain events, oldest first (upcast when old).
    has_more: bool  # Whether the stream goes on after the page's last event.


class StreamPages(Protocol):
    """Whatever pages through one shipment's events (a store, or a fake of one)."""

    def page(
        self, shipment_id: UUID, after: int, limit: int, start: Shipment | None = None
    ) -> StreamPage: ...


class StreamReader:
    """Pages through the recorded events of one shipment."""

    def __init__(self, store: ShipmentStore) -> None:
        self._store = store

    def page(
        self, shipment_id: UUID, after: int, limit: int, start: Shipment | None = None
    ) -> StreamPage:
        """Up to ``limit`` events after version ``after``; ShipmentNotFound if no stream.

        ``start``, when the caller has it, is the state at ``after`` (not read again).
        """
        with store_errors():
            if start is None and after > 0:
                try:
                    start = self._store.repository.get(shipment_id, version=after)
                except AggregateNotFoundError:
                    raise ShipmentNotFound(shipment_id) from None
            # One more than asked for tells whether another page follows.
            events = list(self._store.events.get(shipment_id, gt=after, limit=limit + 1))
        if start is None and not events:
            raise ShipmentNotFound(shipment_id)
        return StreamPage(start, events[:limit], has_more=len(events) > limit)

    def recorded_at(self, shipment_id: UUID, after: int, up_to: int) -> list[tuple[int, datetime]]:
        """(version, timestamp) of versions ``after + 1 … up_to``, read from the events."""
        with store_errors():
            events: list[Any] = list(self._store.events.get(shipment_id, gt=after, lte=up_to))
        return [(event.originator_version, event.timestamp) for event in events]
