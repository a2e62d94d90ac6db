"""Events of the feed rendered as the body every subscription receives.

``{"type": "shipment.revised", "timestamp", "data": {position, shipmentId, version,
type, recordedAt, actor, requestId, changes, shipment}}``: ``changes`` and
``shipment`` are what ``/history`` and ``versions/{n}`` show (the same ``Step``
and the same document rendering), so a receiver never learns a different truth.

A body is rendered once per position and kept for a while: ten subscriptions
receiving one event cost one rendering, not ten.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import OrderedDict
from typing import Any

import orjson

from domain.shipment import Shipment
from infrastructure.change_feed import ChangeFeed, FeedEntry
from infrastructure.delivery.messages import Message
from infrastructure.event_store import ShipmentStore
from infrastructure.log_follower import LogFollower
from infrastructure.stream_reader import StreamReader
from projections.event_payloads import event_type
from projections.shipment_document import format_timestamp
from projections.shipment_history import read_steps

KEPT_BODIES = 5_000
POLL_SECONDS = 0.5
_WORD_START = re.compile(r"(?<!^)(?=[A-Z])")


def public_type(feed_type: str) -> str:
    """``StatusChanged`` → ``shipment.status_changed`` (the subscription's ``types``)."""
    return "shipment." + _WORD_START.sub("_", feed_type).lower()


def message_body(entry: FeedEntry, reader: StreamReader) -> bytes:
    """The body of the message for one feed entry (reads the stream around its version)."""
    event = entry.event
    version = int(event.originator_version)
    step = read_steps(reader, event.originator_id, version - 1, 1).steps[0]
    recorded_at = format_timestamp(event.timestamp)
    feed_type = event_type(event)
    data: dict[str, Any] = {
        "position": entry.position,
        "shipmentId": str(event.originator_id),
        "version": version,
        "type": feed_type,
        "recordedAt": recorded_at,
        "actor": getattr(event, "actor", None),
        "requestId": getattr(event, "request_id", None),
        "changes": step.changes(),
        "shipment": step.after,
    }
    return orjson.dumps({"type": public_type(feed_type), "timestamp": recorded_at, "data": data})


class FeedMessages:
    """The ``MessageSource`` of the deliverers: the follower's memory, else the store."""

    def __init__(self, store: ShipmentStore, follower: LogFollower | None) -> None:
        self._feed = ChangeFeed(store)
        self._reader = StreamReader(store)
        self._follower = follower
        self._bodies: OrderedDict[int, Message] = OrderedDict()
        self._lock = threading.Lock()
        self._erasures_seen = 0

    def after(self, position: int, limit: int) -> list[Message]:
        entries = None if self._follower is None else self._follower.entries_after(position, limit)
        if entries is None:
            entries = self._feed.read(position, limit).entries
        return [self._message(entry) for entry in entries]

    async def wait_beyond(self, position: int, timeout: float) -> bool:
        if self._follower is not None:
            return await self._follower.wait_beyond(position, timeout)
        # No follower (a command-line deliverer): look again after a pause.
        page = await asyncio.to_thread(self._feed.read, position, 1)
        if page.entries:
            return True
        await asyncio.sleep(min(timeout, POLL_SECONDS))
        return False

    def _message(self, entry: FeedEntry) -> Message:
        # Rendered under the lock: the subscriptions asking for one new event at once
        # would otherwise each render it (rendering holds the GIL: nothing is lost).
        with self._lock:
            erasures = 0 if self._follower is None else self._follower.erasures_seen
            if erasures != self._erasures_seen:
                # An erasure committed (perhaps by another process) since these were
                # rendered: a subscription still behind it must not get the old values.
                self._bodies.clear()
                self._erasures_seen = erasures
            kept = self._bodies.get(entry.position)
            if kept is not None:
                self._bodies.move_to_end(entry.position)
                return kept
            if isinstance(entry.event, Shipment.PersonalDataErased):
                # Bodies rendered before it may hold what was just erased: render anew.
                self._bodies.clear()
            message = Message(
                entry.position,
                public_type(event_type(entry.event)),
                message_body(entry, self._reader),
                recorded_at=entry.event.timestamp.timestamp(),
            )
            self._bodies[entry.position] = message
            while len(self._bodies) > KEPT_BODIES:
                self._bodies.popitem(last=False)
        return message
