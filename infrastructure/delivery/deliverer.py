"""The deliverer of one process: every subscription it can lease, each in a task of its own.

It runs its own event loop in a thread of its own, so deliveries never compete
with requests for the server's loop, and a command-line process or a benchmark
runs it the same way. It reads the subscriptions and starts a
``SubscriptionDelivery`` for each that is not disabled and not leased by another
live process (that task keeps the lease while it runs), up to its fair share
when other deliverers are alive (``delivery_shares``) — when one changes
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
from infrastructure.delivery.delivery_shares import fair_share, handed_over
from infrastructure.delivery.destinations import scheme_of
from infrastructure.delivery.messages import MessageSource
from infrastructure.delivery.observation import DeliveryObserver, ignore_attempt
from infrastructure.delivery.sending import Senders
from infrastructure.delivery.subscription_delivery import DeliveryRules, SubscriptionDelivery
from infrastructure.delivery.subscription_signals import UNSIGNALLED_SCAN_SECONDS
from infrastructure.delivery.subscription_store import SubscriptionStore
from infrastructure.delivery.subscriptions import Subscription, SubscriptionStatus

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
        # Deliverers share the subscriptions with the live peers of the same scope.
        self._scope = "*" if schemes is None else ",".join(sorted(schemes))
        self._presence_due_at = 0.0  # when to say again that this deliverer is present
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
                look_again_in = await self._scan(senders)
                wait = unsignalled if look_again_in is None else min(unsignalled, look_again_in)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
        finally:
            if listener is not None:
                await asyncio.to_thread(listener.stop)
            if self._presence_due_at:
                with contextlib.suppress(Exception):  # else its presence simply runs out
                    await asyncio.to_thread(self._store.absent, self.owner)
            await self._stop_deliveries()
            await senders.close()

    async def _say_present(self, now: float) -> None:
        """Renew this deliverer's presence when a third of it is gone (as leases are).

        Only while there is something to share: an idle deliverer writes nothing.
        """
        if self._presence_due_in() > 0:
            return
        lease = self._rules.lease_seconds
        try:
            await asyncio.to_thread(self._store.present, self.owner, self._scope, now, now + lease)
        except Exception:  # noqa: BLE001 - uncounted, its peers take more, never less: safe
            _log.warning("cannot say this deliverer is present", exc_info=True)
            self._presence_due_at = now + STORE_RETRY_SECONDS
            return
        self._presence_due_at = now + lease / 3

    def _presence_due_in(self) -> float:
        return max(0.0, self._presence_due_at - self._clock.now())

    async def _scan(self, senders: Senders) -> float | None:
        """Start a delivery for each subscription nobody (alive) delivers, up to this
        deliverer's share, and hand over what it holds beyond it.

        Returns the seconds until something may change that no signal tells of (None:
        nothing): the first lease held by another process runs out, when this one may
        take that subscription over, or a peer's presence does, when the share grows.
        """
        for key, (_, task) in list(self._deliveries.items()):
            if task.done():
                del self._deliveries[key]
                if not task.cancelled() and task.exception() is not None:
                    _log.error("delivery of %s failed", key, exc_info=task.exception())
        now = self._clock.now()
        try:
            subscriptions, peers = await asyncio.to_thread(self._roll, now)
        except Exception:  # noqa: BLE001 - the store may be back at the next scan
            _log.warning("cannot read the subscriptions", exc_info=True)
            return STORE_RETRY_SECONDS
        ours = [subscription for subscription in subscriptions if self._in_scope(subscription)]
        if ours:
            await self._say_present(now)
        share = fair_share(len(ours), 1 + len(peers))
        held = [key for key, (delivery, _) in self._deliveries.items() if not delivery.stopping]
        for key in handed_over(held, share):
            self._deliveries[key][0].stopping = True  # commits, then releases its lease
        taken = min(len(held), share)
        # When a peer stops counting (it died) this one's share grows; and its own
        # presence is renewed while it has subscriptions.
        look_again_in = min((until - now + LEASE_END_MARGIN for until in peers), default=None)
        if ours:
            due_in = self._presence_due_in()
            look_again_in = due_in if look_again_in is None else min(look_again_in, due_in)
        for subscription in ours:
            if taken >= share:
                break
            if subscription.id in self._deliveries:
                continue
            if subscription.leased_to_another(self.owner, now):
                ends_in = max(0.0, (subscription.lease_until or now) - now) + LEASE_END_MARGIN
                look_again_in = ends_in if look_again_in is None else min(look_again_in, ends_in)
                continue
            taken += 1
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
        return look_again_in

    def _roll(self, now: float) -> tuple[list[Subscription], list[float]]:
        """The subscriptions, and when each other live deliverer of this scope stops counting."""
        return self._store.all(), self._store.peers(self._scope, now, besides=self.owner)

    def _in_scope(self, subscription: Subscription) -> bool:
        """Not disabled, and of the schemes this deliverer delivers."""
        if subscription.status is SubscriptionStatus.DISABLED:
            return False
        return self._schemes is None or scheme_of(subscription.url) in self._schemes

    async def _stop_deliveries(self) -> None:
        for delivery, _ in self._deliveries.values():
            delivery.stopping = True
        tasks = [task for _, task in self._deliveries.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._deliveries.clear()
