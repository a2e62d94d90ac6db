"""A subscription whose sender lets messages go out ahead: order, failures and attempts.

The sender is scripted (which message fails, what each was told it follows),
the subscription and its attempts are in a real store; no receiver, no clock.
"""

from __future__ import annotations

import asyncio
from functools import partial

import pytest

from api.wiring import Services
from infrastructure.delivery.messages import Message, message_id
from infrastructure.delivery.retry_schedule import RetrySchedule
from infrastructure.delivery.sending import Completion, Senders, SendResult
from infrastructure.delivery.subscription_delivery import DeliveryRules, SubscriptionDelivery
from infrastructure.delivery.subscriptions import (
    DeliveryAttempt,
    Subscription,
    SubscriptionStatus,
)

pytestmark = pytest.mark.store

URL = "nats://127.0.0.1:9/scripted"
OWNER = "this-test"


class ScriptedSender:
    """Answers every message at once, except the positions told to fail."""

    def __init__(self, window: int, failing: set[int]) -> None:
        self._window = window
        self.failing = failing
        self.sent: list[tuple[str, str | None]] = []  # (message id, the id it follows)

    def window(self, url: str) -> int:
        return self._window

    async def send_ahead(
        self, url: str, body: bytes, headers: dict[str, str], *, follows: str | None
    ) -> Completion:
        identifier = headers["webhook-id"]
        self.sent.append((identifier, follows))
        position = int(identifier.rsplit("_", 1)[1])
        failed = position in self.failing
        return partial(_answer, SendResult(None, "scripted failure" if failed else None))

    async def close(self) -> None:
        pass


async def _answer(result: SendResult) -> SendResult:
    return result


class Feed:
    """Six events in memory, every one at hand; waiting beyond the last ends the delivery."""

    def __init__(self, types: dict[int, str]) -> None:
        self.delivery: SubscriptionDelivery | None = None
        self._messages = [
            Message(position, types.get(position, "shipment.revised"), b"{}")
            for position in range(1, 7)
        ]

    def after(self, position: int, limit: int) -> list[Message]:
        return [message for message in self._messages if message.position > position][:limit]

    def rendered_after(self, position: int, limit: int) -> list[Message] | None:
        return self.after(position, limit)

    async def wait_beyond(self, position: int, timeout: float) -> bool:
        assert self.delivery is not None
        if not self.after(position, 1):
            self.delivery.stopping = True
        await asyncio.sleep(0)
        return False


class StopWhenWaiting:
    """A clock whose every pause (a retry's wait, an idle wait) ends the delivery."""

    def __init__(self) -> None:
        self.delivery: SubscriptionDelivery | None = None
        self._now = 1_000_000.0

    def now(self) -> float:
        self._now += 0.001
        return self._now

    async def sleep(self, seconds: float) -> None:
        assert self.delivery is not None
        self.delivery.stopping = True
        await asyncio.sleep(0)


def deliver(
    services: Services, subscription: Subscription, sender: ScriptedSender, feed: Feed
) -> None:
    """Run the delivery until it waits for a retry's time or beyond the end of the feed."""
    clock = StopWhenWaiting()
    delivery = SubscriptionDelivery(
        subscription.id,
        store=services.subscriptions.subscriptions,
        messages=feed,
        senders=Senders({"nats": sender}),
        rules=DeliveryRules(schedule=RetrySchedule.parse("60,60,60"), idle_wait_seconds=0.0),
        clock=clock,
        owner=OWNER,
    )
    clock.delivery = feed.delivery = delivery
    asyncio.run(asyncio.wait_for(delivery.run(), timeout=30))


def attempts(services: Services, subscription: Subscription) -> list[tuple[int, int, bool]]:
    """(position, attempt, delivered), oldest first."""
    kept = services.subscriptions.subscriptions.attempts(subscription.id, 100)
    return [(attempt.position, attempt.attempt, attempt.succeeded) for attempt in kept[::-1]]


def ids(subscription: Subscription, *positions: int) -> list[str]:
    return [message_id(subscription.id, position) for position in positions]


def test_messages_out_ahead_follow_each_other_and_stop_at_the_first_failure(
    services: Services,
) -> None:
    subscription = services.subscriptions.add(URL, after=0)
    sender = ScriptedSender(window=4, failing={3})

    deliver(services, subscription, sender, Feed({}))

    sent = ids(subscription, *range(1, 7))  # 5 and 6 went as 1 and 2 were answered
    assert sender.sent == list(zip(sent, [None, *sent[:-1]], strict=True))
    row = services.subscriptions.subscriptions.get(subscription.id)
    assert (row.position, row.status, row.failures) == (2, SubscriptionStatus.FAILING, 1)
    assert attempts(services, subscription) == [(1, 1, True), (2, 1, True), (3, 1, False)]


def test_a_retry_counts_tries_only_at_the_event_that_failed(services: Services) -> None:
    """The row failed twice at event 1: its retry is try 3, the next one out is try 1."""
    store = services.subscriptions.subscriptions
    subscription = services.subscriptions.add(URL, after=0)
    assert store.take_lease(subscription.id, OWNER, 0.0, 1e12)
    for attempt in (1, 2):
        failure = DeliveryAttempt(subscription.id, 1, "m", attempt, None, "down", 1.0, 0.0)
        row = store.get(subscription.id)
        assert store.failed(row, OWNER, failure, SubscriptionStatus.FAILING, 0.0)

    deliver(services, subscription, ScriptedSender(window=4, failing={2}), Feed({}))

    assert attempts(services, subscription)[2:] == [(1, 3, True), (2, 1, False)]
    row = store.get(subscription.id)
    assert (row.position, row.failures) == (1, 1)


def test_events_skipped_by_type_between_messages_out_are_reached_in_order(
    services: Services,
) -> None:
    subscription = services.subscriptions.add(URL, types=["shipment.revised"], after=0)
    sender = ScriptedSender(window=4, failing=set())
    skipped = {2: "shipment.created", 3: "shipment.created", 6: "shipment.created"}

    deliver(services, subscription, sender, Feed(skipped))

    one, four, five = ids(subscription, 1, 4, 5)
    assert sender.sent == [(one, None), (four, one), (five, four)]
    assert services.subscriptions.subscriptions.get(subscription.id).position == 6
    assert [position for position, _, _ in attempts(services, subscription)] == [1, 4, 5]


def test_one_at_a_time_nothing_is_sent_ahead(services: Services) -> None:
    subscription = services.subscriptions.add(URL, after=0)
    sender = ScriptedSender(window=1, failing=set())

    deliver(services, subscription, sender, Feed({}))

    assert sender.sent == [(identifier, None) for identifier in ids(subscription, *range(1, 7))]
    assert services.subscriptions.subscriptions.get(subscription.id).position == 6
