"""The deliverer of one process: every subscription it can lease, each in a task of its own.

It runs its own event loop in a thread of its own, so deliveries never compete
with requests for the server's loop, and a command-line process or a benchmark
runs it the same way. It reads the subscriptions and starts a
``SubscriptionDelivery`` for each that is not disabled and not leased by another
live process (that task keeps the lease while it runs) — when one changes
(``subscription_signals``: on PostgreSQL every process hears of it; on SQLite it
looks every ``scan_seconds``), when a lease it saw runs out, and now and then. Tasks are
independent: a receiver that hangs until its time-out holds up its own
subscription only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from uuid import UUID, uuid4

from infrastructure.delivery.clock import Clock, SystemClock
from infrastructure.delivery.destinations import scheme_of
from infrastructure.delivery.messages import MessageSource
from infrastructure.delivery.observation import DeliveryObserver, ignore_attempt
from infrastructure.delivery.sending import Senders
from infrastructure.delivery.subscription_delivery import DeliveryRules, SubscriptionDelivery
from infrastructure.delivery.subscription_signals import UNSIGNALLED_SCAN_SECONDS
from infrastructure.delivery.subscription_store import SubscriptionStore
from infrastructure.delivery.subscriptions import SubscriptionStatus

_log = logging.getLogger("shipments.delivery")

# After a failed read of the subscriptions, how soon to try again.
STORE_RETRY_SECONDS = 1.0
# A lease is taken over this long after it ran out (the holder's clock may lag).
LEASE_END_MARGIN = 0.05


def process_owner() -> str:
    """A name for this deliverer that no other process, here or elsewhere, has."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:8]}"


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop where it is installed (``uvicorn[standard]`` brings it), else asyncio's.

    Every delivery's sends, reads and wake-ups go through this one loop: uvloop
    cut the CPU of a keep-alive ``POST`` by about a third in the delivery benchmark.
    """
    try:
        import uvloop
    except ImportError:  # not on every platform: asyncio's own loop does the same work
        return None
    return uvloop.new_event_loop


class Deliverer:
    """Starts, runs and stops this process's deliveries."""

    def __init__(
        self,
        store: SubscriptionStore,
        messages: MessageSource,
        senders: Callable[[], Senders],
        rules: DeliveryRules,
        *,
        clock: Clock | None = None,
        owner: str | None = None,
        scan_seconds: float = 1.0,
        observe: DeliveryObserver = ignore_attempt,
        schemes: frozenset[str] | None = None,
    ) -> None:
        self._observe = observe
        # Only subscriptions whose URL has one of these schemes (None: all): another
        # process delivers the rest, e.g. JetStream apart from the webhooks.
        self._schemes = schemes
        self._store = store
        self._messages = messages
        self._make_senders = senders  # made inside the deliverer's loop (clients bind to it)
        self._rules = rules
        self._clock = clock or SystemClock()
        self.owner = owner or process_owner()
        self._scan_seconds = scan_seconds
        self._deliveries: dict[UUID, tuple[SubscriptionDelivery, asyncio.Task[None]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = threading.Event()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._main, name="deliverer", daemon=True)

    def start(self) -> Deliverer:
        self._thread.start()
        self._started.wait(timeout=10)
        return self

    def wake(self) -> None:
        """Look at the subscriptions now (one was added or re-enabled in this process)."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended: nothing to wake
                loop.call_soon_threadsafe(wake.set)

    def stop(self) -> None:
        """Stop every delivery (releasing its lease) and the thread."""
        self._stopping.set()
        self.wake()
        self._thread.join(timeout=30)

    @property
    def delivering(self) -> set[UUID]:
        """The subscriptions this process delivers right now."""
        return {key for key, (_, task) in list(self._deliveries.items()) if not task.done()}

    def _main(self) -> None:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            runner.run(self._run())

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        senders = self._make_senders()
        listener = self._store.listen(self.wake)
        unsignalled = self._scan_seconds if listener is None else UNSIGNALLED_SCAN_SECONDS
        self._started.set()
        try:
            while not self._stopping.is_set():
                self._wake.clear()  # before the scan: a change signalled during it scans again
                lease_ends_in = await self._scan(senders)
                wait = unsignalled if lease_ends_in is None else min(unsignalled, lease_ends_in)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
        finally:
            if listener is not None:
                await asyncio.to_thread(listener.stop)
            await self._stop_deliveries()
            await senders.close()

    async def _scan(self, senders: Senders) -> float | None:
        """Start a delivery for each subscription nobody (alive) delivers.

        Returns the seconds until the first lease held by another process runs out
        (None: no such lease), when this process may take that subscription over.
        """
        for key, (_, task) in list(self._deliveries.items()):
            if task.done():
                del self._deliveries[key]
                if not task.cancelled() and task.exception() is not None:
                    _log.error("delivery of %s failed", key, exc_info=task.exception())
        try:
            subscriptions = await asyncio.to_thread(self._store.all)
        except Exception:  # noqa: BLE001 - the store may be back at the next scan
            _log.warning("cannot read the subscriptions", exc_info=True)
            return STORE_RETRY_SECONDS
        now = self._clock.now()
        lease_ends_in: float | None = None
        for subscription in subscriptions:
            if subscription.id in self._deliveries or (
                subscription.status is SubscriptionStatus.DISABLED
            ):
                continue
            if self._schemes is not None and scheme_of(subscription.url) not in self._schemes:
                continue
            if subscription.leased_to_another(self.owner, now):
                ends_in = max(0.0, (subscription.lease_until or now) - now) + LEASE_END_MARGIN
                lease_ends_in = ends_in if lease_ends_in is None else min(lease_ends_in, ends_in)
                continue
            delivery = SubscriptionDelivery(
                subscription.id,
                store=self._store,
                messages=self._messages,
                senders=senders,
                rules=self._rules,
                clock=self._clock,
                owner=self.owner,
                observe=self._observe,
            )
            task = asyncio.create_task(delivery.run(), name=f"deliver-{subscription.id}")
            self._deliveries[subscription.id] = (delivery, task)
        return lease_ends_in

    async def _stop_deliveries(self) -> None:
        for delivery, _ in self._deliveries.values():
            delivery.stopping = True
        tasks = [task for _, task in self._deliveries.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._deliveries.clear()
