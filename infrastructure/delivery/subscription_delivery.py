"""Delivering one subscription: in feed order, at least once, the position committed after.

This process holds the subscription's lease while it runs (``SubscriptionStore``).
Each round reads the row (a person may have changed it), then the next page of
messages after its position, and sends them one after the other: an event is
never sent before every earlier one was delivered or skipped by type. After the
page (or the first failure) one transaction commits the new position with the
attempts, and only while the lease is still held and the row unchanged; a crash
before it re-sends the page, which the at-least-once contract allows. A failure
sets the next attempt's time from the schedule (``failing``) or, past its end,
``disabled``; the row keeps it, so another process that takes over keeps to it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from uuid import UUID

from infrastructure.delivery.clock import Clock
from infrastructure.delivery.messages import Message, MessageSource, message_id
from infrastructure.delivery.retry_schedule import RetrySchedule
from infrastructure.delivery.sending import Senders
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
    ) -> None:
        self.subscription_id = subscription_id  # Store calls run in threads: never block the loop.
        self._store = store
        self._messages = messages
        self._senders = senders
        self._rules = rules
        self._clock = clock
        self._owner = owner
        self._lease_until = 0.0
        self.stopping = False

    async def run(self) -> None:
        """Deliver until disabled, deleted, stopped, or the lease is lost."""
        try:
            while not self.stopping:
                if not await self._round():
                    return
        finally:
            await asyncio.to_thread(self._store.release_lease, self.subscription_id, self._owner)

    async def _round(self) -> bool:
        """One look at the row and the next page; False when this process should stop."""
        try:
            subscription = await asyncio.to_thread(self._store.get, self.subscription_id)
        except SubscriptionNotFound:
            return False
        if subscription.status is SubscriptionStatus.DISABLED or not await self._renew():
            return False
        now = self._clock.now()
        if subscription.next_attempt_at is not None and subscription.next_attempt_at > now:
            await self._clock.sleep(
                min(subscription.next_attempt_at - now, self._rules.lease_seconds / 3)
            )
            return True
        page = await asyncio.to_thread(
            self._messages.after, subscription.position, self._rules.page_size
        )
        if not page:
            wait = min(self._rules.idle_wait_seconds, self._rules.lease_seconds / 3)
            await self._messages.wait_beyond(subscription.position, wait)
            return True
        await self._deliver_page(subscription, page)
        return True

    async def _deliver_page(self, subscription: Subscription, page: list[Message]) -> None:
        """Send the page in order; commit once, at its end or at its first failure."""
        delivered: list[DeliveryAttempt] = []
        position = subscription.position
        for message in page:
            if self.stopping:
                break
            if not subscription.wants(message.type):
                position = message.position
                continue
            if not await self._renew():
                return
            attempt = await self._attempt(subscription, message)
            if attempt.error is None:
                delivered.append(attempt)
                position = message.position
                continue
            if position != subscription.position or delivered:
                await asyncio.to_thread(
                    self._store.advance, subscription, self._owner, position, delivered
                )
                subscription = replace(subscription, position=position)
            await self._failed(subscription, attempt)
            return
        if position != subscription.position:
            await asyncio.to_thread(
                self._store.advance, subscription, self._owner, position, delivered
            )

    async def _attempt(self, subscription: Subscription, message: Message) -> DeliveryAttempt:
        """Send one message, signed with the subscription's current secrets."""
        identifier = message_id(subscription.id, message.position)
        now = self._clock.now()
        headers = signature_headers(
            subscription.signing_secrets(now), identifier, int(now), message.body
        )
        started = time.perf_counter()
        result = await self._senders.send(subscription.url, message.body, headers)
        return DeliveryAttempt(
            subscription_id=subscription.id,
            position=message.position,
            message_id=identifier,
            attempt=subscription.failures + 1,
            status_code=result.status_code,
            error=result.error,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            at=now,
        )

    async def _failed(self, subscription: Subscription, attempt: DeliveryAttempt) -> None:
        """``failing`` until the next try, or ``disabled`` once the schedule is spent."""
        wait = self._rules.schedule.wait_after(attempt.attempt)
        if wait is None:
            status, next_at = SubscriptionStatus.DISABLED, None
            _log.warning(
                "subscription %s disabled after %d failed attempts at position %d",
                subscription.id,
                attempt.attempt,
                attempt.position,
            )
        else:
            status, next_at = SubscriptionStatus.FAILING, attempt.at + wait
        await asyncio.to_thread(
            self._store.failed, subscription, self._owner, attempt, status, next_at
        )

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
