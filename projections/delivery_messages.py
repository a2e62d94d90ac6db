"""Events of the feed rendered as the body every subscription receives.

``{"type": "shipment.revised", "timestamp", "data": {position, shipmentId, version,
type, recordedAt, actor, requestId, changes, shipment}}``: ``changes`` and
``shipment`` are what ``/history`` and ``versions/{n}`` show (the same ``Step``
and the same document rendering), so a receiver never learns a different truth.

A body is rendered once per position and kept for a while: ten subscriptions
receiving one event cost one rendering, not ten. The representations around an
event come from folding the feed in memory (``StepFold``), not from reading the
stream back for each event.

Subscriptions behind the follower's memory (catching up after an outage, or
rewound) read the feed from the store. Each page read is a run of consecutive
feed positions, and the reading is gap-safe (nothing can later commit between
two of them), so which message follows which is a fact that stays true: it is
kept beside the bodies (``_following``), and the next subscriptions over the
same stretch walk it from memory instead of each reading and decoding the same
page again. Ten webhooks replaying 10,000 events read them once, not ten times.
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
        # The message after a position (its key), as a page read showed it: a walk
        # along it answers ``after`` from memory. Bounded as the bodies are.
        self._following: OrderedDict[int, Message] = OrderedDict()
        self._lock = threading.Lock()
        self._erasures_seen = 0

    def after(self, position: int, limit: int) -> list[Message]:
        follower = self._follower
        if follower is None:
            # Nothing tells this source of an erasure: keep nothing from one call to the next.
            fold = StepFold(self._reader)
            return [rendered(entry, fold) for entry in self._feed.read(position, limit).entries]
        erasures = follower.erasures_seen
        with self._lock:
            self._current(follower)
            walked = self._walk(position, limit)
        if walked:
            return walked
        entries = follower.entries_after(position, limit)
        while True:
            if entries is None:
                entries = self._feed.read(position, limit).entries
            messages = self._kept(entries, position, erasures, follower)
            if messages is not None:
                return messages
            # An erasure was seen since these were read: they may have been decoded
            # while its key existed. Read again; the store has the values gone.
            erasures, entries = follower.erasures_seen, None

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
            if entries is None:
                return self._walk(position, limit) or None  # behind the follower's memory
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

    def _kept(
        self, entries: list[FeedEntry], position: int, erasures: int, follower: LogFollower
    ) -> list[Message] | None:
        """The messages of ``entries`` (the feed's next after ``position``), rendered and
        kept; None when an erasure was seen since ``erasures``, before they were read."""
        # Rendered under the lock: the subscriptions asking for one new event at once
        # would otherwise each render it (rendering holds the GIL: nothing is lost),
        # and the fold's states move on with each event.
        with self._lock:
            self._current(follower)
            if self._erasures_seen != erasures:
                return None
            messages = []
            for entry in entries:
                message = self._message(entry)  # an erasure forgets all kept before it
                messages.append(message)
                self._following[position] = message
                self._following.move_to_end(position)
                position = message.position
            while len(self._following) > KEPT_BODIES:
                self._following.popitem(last=False)
            return messages

    def _current(self, follower: LogFollower) -> None:
        """Forget what was kept if an erasure committed since (perhaps by another
        process): a subscription still behind it must not get the old values.
        Called under the lock."""
        erasures = follower.erasures_seen
        if erasures != self._erasures_seen:
            self._forget()
            self._erasures_seen = erasures

    def _walk(self, position: int, limit: int) -> list[Message]:
        """Up to ``limit`` messages after ``position`` along what pages showed (under the lock)."""
        messages: list[Message] = []
        while len(messages) < limit and (message := self._following.get(position)) is not None:
            messages.append(message)
            position = message.position
        return messages

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
        self._following.clear()
        self._fold.forget()
