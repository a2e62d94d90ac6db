"""The deliverer of one process: every subscription it can lease, each in a task of its own.

It runs its own event loop in a thread of its own, so deliveries never compete
with requests for the server's loop, and a command-line process or a benchmark
runs it the same way. Every ``scan_seconds`` it reads the subscriptions and
starts a ``SubscriptionDelivery`` for each that is not disabled and not leased by
another live process; that task keeps the lease while it runs. Tasks are
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
from infrastructure.delivery.messages import MessageSource
from infrastructure.delivery.sending import Senders
from infrastructure.delivery.subscription_delivery import DeliveryRules, SubscriptionDelivery
from infrastructure.delivery.subscription_store import SubscriptionStore
from infrastructure.delivery.subscriptions import SubscriptionStatus

_log = logging.getLogger("shipments.delivery")


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
    ) -> None:
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
        self._started.set()
        try:
            while not self._stopping.is_set():
                await self._scan(senders)
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._scan_seconds)
        finally:
            await self._stop_deliveries()
            await senders.close()

    async def _scan(self, senders: Senders) -> None:
        """Start a delivery for each subscription nobody (alive) delivers."""
        for key, (_, task) in list(self._deliveries.items()):
            if task.done():
                del self._deliveries[key]
                if not task.cancelled() and task.exception() is not None:
                    _log.error("delivery of %s failed", key, exc_info=task.exception())
        try:
            subscriptions = await asyncio.to_thread(self._store.all)
        except Exception:  # noqa: BLE001 - the store may be back at the next scan
            _log.warning("cannot read the subscriptions", exc_info=True)
            return
        now = self._clock.now()
        for subscription in subscriptions:
            if (
                subscription.id in self._deliveries
                or subscription.status is SubscriptionStatus.DISABLED
                or subscription.leased_to_another(self.owner, now)
            ):
                continue
            delivery = SubscriptionDelivery(
                subscription.id,
                store=self._store,
                messages=self._messages,
                senders=senders,
                rules=self._rules,
                clock=self._clock,
                owner=self.owner,
            )
            task = asyncio.create_task(delivery.run(), name=f"deliver-{subscription.id}")
            self._deliveries[subscription.id] = (delivery, task)

    async def _stop_deliveries(self) -> None:
        for delivery, _ in self._deliveries.values():
            delivery.stopping = True
        tasks = [task for _, task in self._deliveries.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._deliveries.clear()
