"""One follower of the log per process, whose recent events everyone reads from memory.

Every open SSE connection used to poll the store every half second, and each
subscription's deliverer would have read the log on its own: a thousand idle
dashboards cost the database two thousand queries a second. Here one thread
follows the log through the recorder's own subscription (the library's
mechanism: LISTEN/NOTIFY plus a poll on PostgreSQL, a poll on SQLite, and at
once after this process's commits; every read gap-safe, see
``infrastructure.log_horizon``), keeps the latest events, and wakes whoever
waits for a position beyond the last one it saw.

What it keeps is complete from where it started (the settled head at the time):
a reader asking for what came after a position it holds gets the next events in
order from memory; one asking for older history (a reconnecting client far
behind) is told to read the store, as before.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import threading
from typing import Any

from domain.shipment import Shipment
from infrastructure.change_feed import FeedEntry
from infrastructure.event_store import ShipmentStore

_log = logging.getLogger("shipments.log_follower")

DEFAULT_CAPACITY = 20_000
RETRY_SECONDS = 1.0


class LogFollower:
    """Follows the log in a thread of its own; readers in any thread or event loop."""

    def __init__(self, store: ShipmentStore, capacity: int = DEFAULT_CAPACITY) -> None:
        self._store = store
        self._capacity = capacity
        self._lock = threading.Lock()
        self._positions: list[int] = []
        self._entries: list[FeedEntry] = []
        self._base: int | None = None  # everything after it is in memory (None: not yet)
        self._last = 0
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()
        self._stopping = threading.Event()
        self._subscription: Any = None
        self._thread = threading.Thread(target=self._follow, name="log-follower", daemon=True)

    def start(self) -> LogFollower:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop following and wake every waiter (they return as on a time-out)."""
        self._stopping.set()
        subscription = self._subscription
        if subscription is not None:
            subscription.stop()
        self._thread.join(timeout=10)
        self._wake_all()

    @property
    def last_position(self) -> int:
        """The highest position seen (0 before the first)."""
        return self._last

    def entries_after(self, after: int, limit: int) -> list[FeedEntry] | None:
        """Up to ``limit`` entries after ``after`` from memory; None: read the store instead."""
        with self._lock:
            if self._base is None or after < self._base:
                return None
            start = bisect.bisect_right(self._positions, after)
            return self._entries[start : start + limit]

    async def wait_beyond(self, position: int, timeout: float) -> bool:
        """Wait until an event after ``position`` is in memory; False on time-out or stop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        waiter = (loop, future)
        with self._lock:
            if self._last > position and self._base is not None:
                return True
            self._waiters.add(waiter)
        try:
            await asyncio.wait([future], timeout=timeout)
        finally:
            with self._lock:
                self._waiters.discard(waiter)
        return self._last > position and not self._stopping.is_set()

    def _follow(self) -> None:
        """Subscribe from the settled head; on a store failure, again from the last seen."""
        recorder = self._store.shipment_recorder
        while not self._stopping.is_set():
            try:
                if self._base is None:
                    head = recorder.settled_head()
                    with self._lock:
                        self._base = self._last = head
                subscription = recorder.subscribe(gt=self._last, min_pull_interval_seconds=0.0)
                self._subscription = subscription
                if self._stopping.is_set():
                    subscription.stop()
                with subscription:
                    for notification in subscription:
                        entry = FeedEntry(
                            notification.id, self._store.mapper.to_domain_event(notification)
                        )
                        self._keep(entry)
            except Exception:  # noqa: BLE001 - readers fall back to the store meanwhile
                if not self._stopping.is_set():
                    _log.warning("following the log failed; trying again", exc_info=True)
            self._stopping.wait(RETRY_SECONDS)

    def _keep(self, entry: FeedEntry) -> None:
        with self._lock:
            if entry.position <= self._last:
                return
            if isinstance(entry.event, Shipment.PersonalDataErased):
                # The entries kept so far were decoded while that shipment's key existed:
                # forget them all (erasures are rare), so that a reader of an earlier
                # position reads the store, where the erased values are gone.
                self._base = self._last
                self._positions.clear()
                self._entries.clear()
            self._positions.append(entry.position)
            self._entries.append(entry)
            self._last = entry.position
            if len(self._entries) > 2 * self._capacity:
                # Forget the older half at once: trimming one at a time would copy the list.
                cut = len(self._entries) - self._capacity
                self._base = self._positions[cut - 1]
                del self._positions[:cut], self._entries[:cut]
            waiters, self._waiters = self._waiters, set()
        for loop, future in waiters:
            _settle(loop, future)

    def _wake_all(self) -> None:
        with self._lock:
            waiters, self._waiters = self._waiters, set()
        for loop, future in waiters:
            _settle(loop, future)


def _settle(loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> None:
    def done() -> None:
        if not future.done():
            future.set_result(None)

    with contextlib.suppress(RuntimeError):  # the waiter's loop is closed: nobody waits
        loop.call_soon_threadsafe(done)
