"""Delivering one subscription: in feed order, at least once, the position committed after.

This process holds the subscription's lease while it runs
(``SubscriptionStore``). Each round takes the next page of messages after the
position and sends them in order: over HTTP an event is never sent before every
earlier one was delivered or skipped by type; to JetStream several are out at
once, each stored by the stream only right after the one before it
(``nats_sender``). Positions reached are committed with their attempts in one
transaction at most every ``commit_interval_seconds`` (and at once on a failure,
when idle, or when stopping), only while the lease is still held and the row is
as a person last left it (its revision); a crash before the commit re-sends what
followed the last one, which the at-least-once contract allows. Committing every
delivery would cost a write transaction per event per subscription: on SQLite,
whose one writer is shared with the appends, that alone capped delivery at a few
hundred events a second in all. Every second, not every quarter: a deliverer in
a process of its own then took SQLite's write lock from the servers' appends 11
times a second instead of 44 with 11 busy subscriptions, and closed-loop writes
beside it went from 0.78x to 0.84-0.88x their rate without (``bench.delivery_lag
--deliverer process``); a crash re-sends at most a second more, and at rest the
position is committed at once.

The row is read again every ``reread_seconds`` (a person may have disabled it,
changed its URL or moved its position) and whenever a commit finds it changed.
A failure sets the next attempt's time from the schedule (``failing``) or, past
its end, ``disabled``; the row keeps it, so another process that takes over
keeps to it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, replace
from uuid import UUID

from infrastructure.delivery.clock import Clock
from infrastructure.delivery.destinations import scheme_of
from infrastructure.delivery.messages import Message, MessageSource, message_id
from infrastructure.delivery.observation import AttemptObserved, DeliveryObserver, ignore_attempt
from infrastructure.delivery.retry_schedule import RetrySchedule
from infrastructure.delivery.sending import Completion, Senders
from infrastructure.delivery.signing import signature_headers
from infrastructure.delivery.subscription_store import SubscriptionStore
from infrastructure.delivery.subscriptions import (
    DeliveryAttempt,
    Subscription,
    SubscriptionNotFound,
    SubscriptionStatus,
)

_log = logging.getLogger("shipments.delivery")


@dataclass(frozen=True)
class DeliveryRules:
    """How every subscription of a process is delivered."""

    schedule: RetrySchedule
    lease_seconds: float = 30.0
    page_size: int = 100
    idle_wait_seconds: float = 1.0  # how long to wait for new events before looking again
    commit_interval_seconds: float = 1.0  # longest a delivered position waits to be committed
    reread_seconds: float = 1.0  # how soon a person's change reaches a running delivery


@dataclass(frozen=True, slots=True)
class _Sending:
    """A message on its way to the subscription's destination."""

    subscription: Subscription  # the row it was signed and addressed with
    message: Message
    message_id: str
    attempt: int  # which try at this event
    at: float  # the attempt's time (the clock's), as recorded
    started: float  # perf_counter at the start: the attempt's duration
    completion: Completion


class SubscriptionDelivery:
    """Runs one subscription while this process holds its lease."""

    def __init__(
        self,
        subscription_id: UUID,
        *,
        store: SubscriptionStore,
        messages: MessageSource,
        senders: Senders,
        rules: DeliveryRules,
        clock: Clock,
        owner: str,
        observe: DeliveryObserver = ignore_attempt,
    ) -> None:
        self.subscription_id = subscription_id  # Store calls run in threads: never block the loop.
        self._observe = observe
        self._store = store
        self._messages = messages
        self._senders = senders
        self._rules = rules
        self._clock = clock
        self._owner = owner
        self._lease_until = 0.0
        self._row: Subscription | None = None  # as last read or committed
        self._read_at = 0.0
        self._position = 0  # delivered (or skipped) up to here; committed or pending
        self._pending: list[DeliveryAttempt] = []
        self._pending_since: float | None = None
        self.stopping = False

    async def run(self) -> None:
        """Deliver until disabled, deleted, stopped, or the lease is lost."""
        try:
            while not self.stopping:
                if not await self._round():
                    return
        finally:
            await self._commit()
            await asyncio.to_thread(self._store.release_lease, self.subscription_id, self._owner)

    async def _round(self) -> bool:
        """One page (or one wait); False when this process should stop delivering."""
        subscription = await self._subscription()
        if subscription is None or subscription.status is SubscriptionStatus.DISABLED:
            return False
        if not await self._renew():
            return False
        now = self._clock.now()
        if subscription.next_attempt_at is not None and subscription.next_attempt_at > now:
            await self._clock.sleep(
                min(subscription.next_attempt_at - now, self._rules.reread_seconds)
            )
            self._row = None  # look at the row again: a person may have re-enabled it
            return True
        page = self._messages.rendered_after(self._position, self._rules.page_size)
        if page is None:
            page = await asyncio.to_thread(
                self._messages.after, self._position, self._rules.page_size
            )
        if page:
            await self._deliver_page(subscription, page)
        if self._pending_since is not None:
            due = self._pending_since + self._rules.commit_interval_seconds - self._clock.now()
            if due <= 0 or not page:
                if due > 0 and await self._messages.wait_beyond(self._position, due):
                    return True  # more to send first; the commit stays due
                await self._commit()
            return True
        if not page:
            wait = min(self._rules.idle_wait_seconds, self._rules.reread_seconds)
            await self._messages.wait_beyond(self._position, wait)
        return True

    async def _subscription(self) -> Subscription | None:
        """The row, read again when it may have changed (None: deleted)."""
        now = self._clock.now()
        if self._row is None or now - self._read_at >= self._rules.reread_seconds:
            await self._commit()
            try:
                self._row = await asyncio.to_thread(self._store.get, self.subscription_id)
            except SubscriptionNotFound:
                return None
            self._read_at = now
            self._position = self._row.position
        return self._row

    async def _deliver_page(self, subscription: Subscription, page: list[Message]) -> None:
        """Send the page in order, stopping at the first failure (committed at once).

        Up to the sender's window of messages are out at once (JetStream, whose
        stream refuses one whose predecessor it lacks; webhooks one at a time).
        What came of them is taken in feed order, so a position is reached only
        when every message before it was delivered or skipped by type.
        """
        window = self._senders.window(subscription.url)
        queued: deque[tuple[Message, _Sending | None]] = deque()  # None: skipped by type
        out = 0
        follows: str | None = None  # the id of the last message still out
        for message in page:
            if self.stopping:
                break
            if not subscription.wants(message.type):
                if queued:
                    queued.append((message, None))
                else:
                    self._reached(message.position, None)
                continue
            if out >= window:
                if not await self._settle_first(queued):
                    return
                out -= 1
            if not out:
                follows = None  # every message before this one is answered
            if not await self._renew():
                return
            sending = await self._send(self._row or subscription, message, follows)
            queued.append((message, sending))
            follows = sending.message_id
            out += 1
        while queued:
            if not await self._settle_first(queued):
                return

    async def _settle_first(self, queued: deque[tuple[Message, _Sending | None]]) -> bool:
        """Reach the queue up to its first message out, once that was answered.

        False when it failed: committed at once, and what followed it is
        dropped (JetStream refuses it; it is sent again on the next try).
        """
        while queued:
            message, sending = queued.popleft()
            if sending is None:
                self._reached(message.position, None)
                continue
            attempt = await self._answered(sending)
            if attempt.error is not None:
                queued.clear()
                await self._commit()
                await self._failed(attempt)
                return False
            self._reached(message.position, attempt)
            break
        while queued and queued[0][1] is None:
            self._reached(queued.popleft()[0].position, None)
        return True

    def _reached(self, position: int, attempt: DeliveryAttempt | None) -> None:
        self._position = position
        if attempt is not None:
            self._pending.append(attempt)
        if self._pending_since is None:
            self._pending_since = self._clock.now()

    async def _commit(self) -> None:
        """Commit the position reached and its attempts (nothing when nothing is pending)."""
        row = self._row
        if self._pending_since is None or row is None:
            return
        attempts, self._pending, self._pending_since = self._pending, [], None
        committed = await asyncio.to_thread(
            self._store.advance, row, self._owner, self._position, attempts
        )
        if committed:
            self._row = replace(
                row,
                position=self._position,
                status=SubscriptionStatus.ACTIVE,
                failures=0,
                next_attempt_at=None,
                last_error=None,
            )
        else:
            self._row = None  # changed by a person, or the lease lost: read it again

    async def _send(
        self, subscription: Subscription, message: Message, follows: str | None
    ) -> _Sending:
        """Start sending one message, signed with the subscription's current secrets."""
        identifier = message_id(subscription.id, message.position)
        now = self._clock.now()
        headers = signature_headers(
            subscription.signing_secrets(now), identifier, int(now), message.body
        )
        # The row's failures count tries at the event right after its position only:
        # this one, when nothing is out before it and nothing was reached since.
        right_after = follows is None and self._position == subscription.position
        failures = subscription.failures if right_after else 0
        started = time.perf_counter()
        completion = await self._senders.send_ahead(
            subscription.url, message.body, headers, follows=follows
        )
        return _Sending(subscription, message, identifier, failures + 1, now, started, completion)

    async def _answered(self, sending: _Sending) -> DeliveryAttempt:
        """What came of a message sent: observed, and recorded as an attempt."""
        result = await sending.completion()
        seconds = time.perf_counter() - sending.started
        delivered = result.error is None
        message = sending.message
        self._observe(
            AttemptObserved(
                scheme=scheme_of(sending.subscription.url),
                delivered=delivered,
                seconds=seconds,
                lag_seconds=time.time() - message.recorded_at
                if delivered and message.recorded_at is not None
                else None,
            )
        )
        return DeliveryAttempt(
            subscription_id=sending.subscription.id,
            position=message.position,
            message_id=sending.message_id,
            attempt=sending.attempt,
            status_code=result.status_code,
            error=result.error,
            duration_ms=round(seconds * 1000, 3),
            at=sending.at,
        )

    async def _failed(self, attempt: DeliveryAttempt) -> None:
        """``failing`` until the next try, or ``disabled`` once the schedule is spent."""
        row = self._row
        if row is None:
            return
        wait = self._rules.schedule.wait_after(attempt.attempt)
        if wait is None:
            status, next_at = SubscriptionStatus.DISABLED, None
            _log.warning(
                "subscription %s disabled after %d failed attempts at position %d",
                row.id,
                attempt.attempt,
                attempt.position,
            )
        else:
            status, next_at = SubscriptionStatus.FAILING, attempt.at + wait
        await asyncio.to_thread(self._store.failed, row, self._owner, attempt, status, next_at)
        self._row = None  # read the failure back (and any change a person made meanwhile)

    async def _renew(self) -> bool:
        """Keep the lease (renewed when a third of it is gone); False when another has it."""
        now = self._clock.now()
        if now < self._lease_until - self._rules.lease_seconds * 2 / 3:
            return True
        until = now + self._rules.lease_seconds
        held = await asyncio.to_thread(
            self._store.take_lease, self.subscription_id, self._owner, now, until
        )
        self._lease_until = until if held else 0.0
        return bool(held)
