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

It follows only while someone reads. Following costs a read of the log and a
decoding per commit, which is a quarter of what a PATCH costs when nobody
listens (no open stream, no subscription; ``bench.request_path``); so it starts
at the first reader, and ``IDLE_SECONDS`` after the last one it stops reading
(keeping what it holds). The next reader wakes it, and it catches up from where
it stopped — gap-safe like any read — unless that is more than it keeps, when it
starts again from the settled head (older readers read the store meanwhile).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import threading
import time
from typing import Any

from domain.shipment import Shipment
from infrastructure.change_feed import FeedEntry
from infrastructure.event_store import ShipmentStore
from infrastructure.loop_mailboxes import LoopMailboxes

_log = logging.getLogger("shipments.log_follower")

DEFAULT_CAPACITY = 20_000
RETRY_SECONDS = 1.0
# How long the follower goes on reading after the last reader went.
IDLE_SECONDS = 10.0
# Shortest time between two reads of the log: under load one read covers the
# commits of this many milliseconds, instead of one read per commit.
PULL_INTERVAL_SECONDS = 0.01


class LogFollower:
    """Follows the log in a thread of its own; readers in any thread or event loop."""

    def __init__(
        self,
        store: ShipmentStore,
        capacity: int = DEFAULT_CAPACITY,
        *,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self._store = store
        self._capacity = capacity
        self._idle_seconds = idle_seconds
        self._wanted = threading.Event()  # set while someone reads: follow
        self._last_wanted = 0.0  # time.monotonic() of the latest read or wait
        self._lock = threading.Lock()
        self._positions: list[int] = []
        self._entries: list[FeedEntry] = []
        self._base: int | None = None  # everything after it is in memory (None: not yet)
        self._last = 0
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()
        self._mailboxes = LoopMailboxes()
        self._erasures = 0
        self._stopping = threading.Event()
        self._subscription: Any = None
        self._thread = threading.Thread(target=self._follow, name="log-follower", daemon=True)
        self._idle_watch = threading.Thread(
            target=self._watch_idleness, name="log-follower-idle", daemon=True
        )

    def start(self) -> LogFollower:
        """Ready to follow; it reads the log from the first reader on."""
        self._thread.start()
        self._idle_watch.start()
        return self

    def want(self) -> None:
        """Someone reads or waits: follow (again, when paused)."""
        with self._lock:
            self._want_locked()

    @property
    def following(self) -> bool:
        """Whether it reads the log now (held in memory from ``last_position`` on)."""
        return self._wanted.is_set() and self._base is not None

    def stop(self) -> None:
        """Stop following and wake every waiter (they return as on a time-out)."""
        self._stopping.set()
        self._wanted.set()  # the follower thread may wait for a reader
        subscription = self._subscription
        if subscription is not None:
            subscription.stop()
        self._thread.join(timeout=10)
        self._idle_watch.join(timeout=10)
        self._wake_all()

    @property
    def erasures_seen(self) -> int:
        """How many erasures it has seen: what others kept rendered before one is stale."""
        return self._erasures

    @property
    def last_position(self) -> int:
        """The highest position seen (0 before the first)."""
        return self._last

    def entries_after(self, after: int, limit: int) -> list[FeedEntry] | None:
        """Up to ``limit`` entries after ``after`` from memory; None: read the store instead."""
        with self._lock:
            self._want_locked()
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
            self._want_locked()
            if self._last > position and self._base is not None:
                return True
            self._waiters.add(waiter)
        try:
            await asyncio.wait([future], timeout=timeout)
        finally:
            with self._lock:
                self._waiters.discard(waiter)
                self._last_wanted = time.monotonic()  # it is about to read
        return self._last > position and not self._stopping.is_set()

    def _want_locked(self) -> None:
        self._last_wanted = time.monotonic()
        if not self._wanted.is_set():
            self._wanted.set()

    def _follow(self) -> None:
        """While wanted, follow from the last position seen; on a store failure, again."""
        while not self._stopping.is_set():
            self._wanted.wait()
            if self._stopping.is_set():
                return
            try:
                self._follow_while_wanted()
            except Exception:  # noqa: BLE001 - readers fall back to the store meanwhile
                if not self._stopping.is_set():
                    _log.warning("following the log failed; trying again", exc_info=True)
                self._stopping.wait(RETRY_SECONDS)

    def _follow_while_wanted(self) -> None:
        recorder = self._store.shipment_recorder
        missed = 0 if self._base is None else (recorder.max_notification_id() or 0) - self._last
        if self._base is None or missed > self._capacity:
            # First reader, or paused for longer than memory holds: start at the head.
            head = recorder.settled_head()
            with self._lock:
                self._positions.clear()
                self._entries.clear()
                self._base = self._last = head
        subscription = recorder.subscribe(
            gt=self._last, min_pull_interval_seconds=PULL_INTERVAL_SECONDS
        )
        self._subscription = subscription
        if self._stopping.is_set() or not self._wanted.is_set():
            subscription.stop()
        with subscription:
            for notification in subscription:
                entry = FeedEntry(notification.id, self._store.mapper.to_domain_event(notification))
                if isinstance(entry.event, Shipment.PersonalDataErased):
                    self._forget_all()
                self._keep(entry)

    def _watch_idleness(self) -> None:
        """Stop reading the log once nobody has read or waited for ``idle_seconds``."""
        check = max(0.05, min(1.0, self._idle_seconds / 4))
        while not self._stopping.wait(check):
            with self._lock:
                idle = (
                    self._wanted.is_set()
                    and not self._waiters
                    and time.monotonic() - self._last_wanted > self._idle_seconds
                )
                if idle:
                    self._wanted.clear()
            subscription = self._subscription
            if idle and subscription is not None:
                subscription.stop()

    def _forget_all(self) -> None:
        """An erasure follows: the entries kept so far were decoded while its key existed.

        Forget them all (erasures are rare), so that a reader of an earlier position
        reads the store, where the erased values are gone.
        """
        with self._lock:
            self._base = self._last
            self._positions.clear()
            self._entries.clear()
            self._erasures += 1

    def _keep(self, entry: FeedEntry) -> None:
        with self._lock:
            if entry.position <= self._last:
                return
            self._positions.append(entry.position)
            self._entries.append(entry)
            self._last = entry.position
            if len(self._entries) > 2 * self._capacity:
                # Forget the older half at once: trimming one at a time would copy the list.
                cut = len(self._entries) - self._capacity
                self._base = self._positions[cut - 1]
                del self._positions[:cut], self._entries[:cut]
            waiters, self._waiters = self._waiters, set()
        self._settle(waiters)

    def _wake_all(self) -> None:
        with self._lock:
            waiters, self._waiters = self._waiters, set()
        self._settle(waiters)

    def _settle(self, waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]]) -> None:
        """Wake the waiters: one wake per event loop, however many wait on it."""
        for loop, future in waiters:
            with contextlib.suppress(RuntimeError):  # the waiter's loop is closed: nobody waits
                self._mailboxes.of_loop(loop).post(_set_done, future)


def _set_done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
