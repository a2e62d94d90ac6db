"""Subscriptions behind the log follower's memory read each page of the store once, not each."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from api.wiring import Services
from domain.details import ShipmentDetails
from domain.values import ShipmentType
from infrastructure.log_follower import LogFollower
from infrastructure.shipment_service import WriteContext
from projections.delivery_messages import FeedMessages
from tests.delivery.receivers import eventually


@pytest.fixture
def behind(services: Services) -> Iterator[LogFollower]:
    """30 events, then a follower whose memory starts after them (all 30 are behind it)."""
    details = ShipmentDetails(shipment_type=ShipmentType.PPM)
    for _ in range(30):
        services.shipments.create(details, WriteContext("test", None))
    follower = LogFollower(services.store).start()
    try:
        follower.want()
        eventually(lambda: follower.following, what="the follower started")
        yield follower
    finally:
        follower.stop()


def count_reads(messages: FeedMessages, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Where ``messages`` read pages of the change feed from the store from now on (its
    own reader: the follower reads the log too, and is not what is counted)."""
    feed: Any = messages._feed  # the one reader of the store it has
    read = feed.read
    starts: list[int] = []

    def counted(after: int, limit: int) -> Any:
        starts.append(after)
        return read(after, limit)

    monkeypatch.setattr(feed, "read", counted)
    return starts


def test_subscriptions_at_one_position_share_one_read_of_the_store(
    services: Services, behind: LogFollower, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages = FeedMessages(services.store, behind)
    reads = count_reads(messages, monkeypatch)

    first = [messages.after(0, 10) for _ in range(3)]  # three subscriptions, all at 0

    assert reads == [0]
    assert first[0] == first[1] == first[2]
    assert len(first[0]) == 10
    positions = [message.position for message in first[0]]
    assert positions == sorted(positions)


def test_a_subscription_walks_what_others_read_and_reads_only_past_it(
    services: Services, behind: LogFollower, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages = FeedMessages(services.store, behind)
    reads = count_reads(messages, monkeypatch)
    ahead = messages.after(0, 10) + messages.after(0, 10)  # the second walks the first
    ahead += messages.after(ahead[-1].position, 10)  # a subscription further on: read
    assert reads == [0, 10]

    # On the event loop, without a thread hop: what was read, from any position in it.
    assert messages.rendered_after(0, 20) == ahead[:10] + ahead[20:]
    assert messages.rendered_after(ahead[4].position, 3) == ahead[5:8]
    # Past what was read nothing is known: the caller reads the store.
    assert messages.rendered_after(ahead[-1].position, 10) is None
    rest = messages.after(ahead[-1].position, 100)
    assert reads == [0, 10, 20]
    assert [m.position for m in rest] == sorted(m.position for m in rest)
    assert len(ahead[:10] + ahead[20:] + rest) == 30
