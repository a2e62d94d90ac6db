"""What a subscription keeps of its delivery attempts: the latest, newest first, on every store."""

from __future__ import annotations

from uuid import UUID

import pytest

from api.wiring import Services
from infrastructure.delivery.subscription_store import KEPT_ATTEMPTS
from infrastructure.delivery.subscriptions import DeliveryAttempt

pytestmark = pytest.mark.store


def delivered(subscription_id: UUID, position: int) -> DeliveryAttempt:
    identifier = f"msg_{position}"
    return DeliveryAttempt(subscription_id, position, identifier, 1, 204, None, 1.0, position)


def test_a_commit_of_more_attempts_than_are_kept_keeps_the_latest_newest_first(
    services: Services,
) -> None:
    store = services.subscriptions.subscriptions
    subscription = services.subscriptions.add("http://127.0.0.1:9/hook", after=0)
    assert store.take_lease(subscription.id, "me", 0.0, 1e12)

    first = [delivered(subscription.id, position) for position in range(1, 51)]
    assert store.advance(subscription, "me", 50, first)
    second = [delivered(subscription.id, position) for position in range(51, 301)]
    assert store.advance(subscription, "me", 300, second)

    kept = store.attempts(subscription.id, 1000)
    assert [attempt.position for attempt in kept] == list(range(300, 300 - KEPT_ATTEMPTS, -1))
    assert store.get(subscription.id).position == 300


def test_attempts_of_another_subscription_are_not_trimmed_by_this_ones(
    services: Services,
) -> None:
    store = services.subscriptions.subscriptions
    one = services.subscriptions.add("http://127.0.0.1:9/one", after=0)
    other = services.subscriptions.add("http://127.0.0.1:9/other", after=0)
    for subscription in (one, other):
        assert store.take_lease(subscription.id, "me", 0.0, 1e12)
    assert store.advance(other, "me", 3, [delivered(other.id, n) for n in (1, 2, 3)])

    many = [delivered(one.id, position) for position in range(1, KEPT_ATTEMPTS + 20)]
    assert store.advance(one, "me", KEPT_ATTEMPTS + 19, many)

    assert [attempt.position for attempt in store.attempts(other.id, 10)] == [3, 2, 1]
    assert len(store.attempts(one.id, 1000)) == KEPT_ATTEMPTS
