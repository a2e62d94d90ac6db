"""Events of the feed rendered as the body every subscription receives.

``{"type": "shipment.revised", "timestamp", "data": {position, shipmentId, version,
type, recordedAt, actor, requestId, changes, shipment}}``: ``changes`` and
``shipment`` are what ``/history`` and ``versions/{n}`` show (the same ``Step``
and the same document rendering), so a receiver never learns a different truth.

A body is rendered once per position and kept for a while: ten subscriptions
receiving one event cost one rendering, not ten. The representations around an
event come from folding the feed in memory (``StepFold``), not from reading the
stream back for each event.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import OrderedDict
from typing import Any, cast
from uuid import UUID

import orjson

from domain.shipment import Shipment
from infrastructure.change_feed import ChangeFeed, FeedEntry
from infrastructure.delivery.messages import Message
from infrastructure.event_store import ShipmentStore
from infrastructure.log_follower import LogFollower
from infrastructure.stream_reader import StreamReader
from projections.event_payloads import event_type
from projections.shipment_document import format_timestamp, shipment_document
from projections.shipment_history import Step, read_steps

KEPT_BODIES = 5_000
KEPT_STATES = 10_000  # shipments whose latest state the fold keeps (a few KiB each)
POLL_SECONDS = 0.5
_WORD_START = re.compile(r"(?<!^)(?=[A-Z])")


def public_type(feed_type: str) -> str:
    """``StatusChanged`` → ``shipment.status_changed`` (the subscription's ``types``)."""
    return "shipment." + _WORD_START.sub("_", feed_type).lower()


class StepFold:
    """Each event of the feed with the shipment's representation before and after it.

    Reading the stream back for every event (a snapshot, the events after it, and a
    query) was most of a body's cost on PostgreSQL, and the deliverer renders every
    event the log follower sees. The feed is read in order, so the state after
    version *n* is event *n* applied to the state after *n - 1*: the states and
    documents of recently seen shipments are kept (a bounded LRU) and an event costs
    one ``mutate`` and one rendering. A shipment not at hand (evicted, entered midway,
    or all forgotten after an erasure) is read from the store at exactly that version.
    """

    def __init__(self, reader: StreamReader, max_size: int = KEPT_STATES) -> None:
        self._reader = reader
        self._max_size = max(1, max_size)
        self._kept: OrderedDict[UUID, tuple[Shipment, dict[str, Any]]] = OrderedDict()
        self.store_reads = 0  # steps the fold could not make from memory

    def step(self, event: Any) -> Step:
        """The event's step; the event must be the next of its stream, or it is read."""
        shipment_id: UUID = event.originator_id
        version = int(event.originator_version)
        kept = self._kept.get(shipment_id)
        if version == 1:
            before, state = None, cast(Shipment, event.mutate(None))
            after = shipment_document(state)
        elif kept is not None and kept[0].version == version - 1:
            state, before = kept
            state = cast(Shipment, event.mutate(state))  # the kept state moves on in place
            after = shipment_document(state)
        else:
            self.store_reads += 1
            page = read_steps(self._reader, shipment_id, version - 1, 1)
            step, state = page.steps[0], cast(Shipment, page.end)
            before, after = step.before, step.after
        if kept is None or kept[0].version <= version:  # a rewound reader keeps the newest
            self._kept[shipment_id] = (state, after)
            self._kept.move_to_end(shipment_id)
        while len(self._kept) > self._max_size:
            self._kept.popitem(last=False)
        return Step(event, before, after)

    def forget(self) -> None:
        """Forget every state (after an erasure: they may hold what was erased)."""
        self._kept.clear()


def message_body(entry: FeedEntry, step: Step) -> bytes:
    """The body of the message for one feed entry, from its step."""
    event = entry.event
    version = int(event.originator_version)
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


def rendered(entry: FeedEntry, fold: StepFold) -> Message:
    """The message of one feed entry, its step made by ``fold``."""
    return Message(
        entry.position,
        public_type(event_type(entry.event)),
        message_body(entry, fold.step(entry.event)),
        recorded_at=entry.event.timestamp.timestamp(),
    )


class FeedMessages:
    """The ``MessageSource`` of the deliverers: the follower's memory, else the store."""

    def __init__(self, store: ShipmentStore, follower: LogFollower | None) -> None:
        self._feed = ChangeFeed(store)
        self._reader = StreamReader(store)
        self._fold = StepFold(self._reader)
        self._follower = follower
        self._bodies: OrderedDict[int, Message] = OrderedDict()
        self._lock = threading.Lock()
        self._erasures_seen = 0

    def after(self, position: int, limit: int) -> list[Message]:
        follower = self._follower
        if follower is None:
            return self._messages(self._feed.read(position, limit).entries)
        erasures = follower.erasures_seen
        entries = follower.entries_after(position, limit)
        if entries is None:
            return self._messages(self._feed.read(position, limit).entries)
        messages = self._messages(entries)
        if follower.erasures_seen != erasures:
            # An erasure was seen while these were taken from memory: they may have
            # been decoded while its key existed. The store has the erased values gone.
            return self._messages(self._feed.read(position, limit).entries)
        return messages

    def rendered_after(self, position: int, limit: int) -> list[Message] | None:
        """What ``after`` answers, when it is all rendered already (None: call ``after``).

        It never reads the store nor waits for a rendering in progress, so the
        deliverer calls it on its event loop: the subscriptions following the head
        ask for messages the first of them rendered, without a thread hop each.
        """
        follower = self._follower
        if follower is None or not self._lock.acquire(blocking=False):
            return None
        try:
            if follower.erasures_seen != self._erasures_seen:
                return None
            entries = follower.entries_after(position, limit)
            if not entries:
                return None
            messages = []
            for entry in entries:
                kept = self._bodies.get(entry.position)
                if kept is None:
                    return None
                messages.append(kept)
            return messages
        finally:
            self._lock.release()

    async def wait_beyond(self, position: int, timeout: float) -> bool:
        if self._follower is not None:
            return await self._follower.wait_beyond(position, timeout)
        # No follower: look again after a pause.
        page = await asyncio.to_thread(self._feed.read, position, 1)
        if page.entries:
            return True
        await asyncio.sleep(min(timeout, POLL_SECONDS))
        return False

    def _messages(self, entries: list[FeedEntry]) -> list[Message]:
        if self._follower is None:
            # Nothing tells this source of an erasure: keep nothing from one call to the next.
            fold = StepFold(self._reader)
            return [rendered(entry, fold) for entry in entries]
        # Rendered under the lock: the subscriptions asking for one new event at once
        # would otherwise each render it (rendering holds the GIL: nothing is lost),
        # and the fold's states move on with each event.
        with self._lock:
            erasures = 0 if self._follower is None else self._follower.erasures_seen
            if erasures != self._erasures_seen:
                # An erasure committed (perhaps by another process) since these were
                # rendered: a subscription still behind it must not get the old values.
                self._forget()
                self._erasures_seen = erasures
            return [self._message(entry) for entry in entries]

    def _message(self, entry: FeedEntry) -> Message:
        kept = self._bodies.get(entry.position)
        if kept is not None:
            self._bodies.move_to_end(entry.position)
            return kept
        if isinstance(entry.event, Shipment.PersonalDataErased):
            # Bodies and states from before it may hold what was just erased.
            self._forget()
        message = rendered(entry, self._fold)
        self._bodies[entry.position] = message
        while len(self._bodies) > KEPT_BODIES:
            self._bodies.popitem(last=False)
        return message

    def _forget(self) -> None:
        self._bodies.clear()
        self._fold.forget()
