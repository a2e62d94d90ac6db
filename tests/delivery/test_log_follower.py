"""One follower of the log per process: streams and deliverers read it from memory."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from fastapi.testclient import TestClient

from api.http.event_stream import follow_feed
from infrastructure.change_feed import ChangeFeed, FeedPage
from infrastructure.log_follower import LogFollower
from tests.delivery.conftest import feed_positions, write_events
from tests.delivery.receivers import eventually


class CountedFeed(ChangeFeed):
    """The change feed, counting its reads of the store."""

    reads = 0

    def read(self, after: int, limit: int) -> FeedPage:
        self.reads += 1
        return super().read(after, limit)


def test_the_follower_holds_every_event_since_it_started_in_order(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    follower: LogFollower = client.app.state.log_follower  # type: ignore[attr-defined]
    start = follower.last_position

    write_events(client, new_shipment, shipments=3, patches=3)
    positions = feed_positions(client)
    eventually(lambda: follower.last_position == positions[-1], what="follower caught up")

    entries = follower.entries_after(start, 100)
    assert entries is not None
    assert [entry.position for entry in entries] == [p for p in positions if p > start]
    assert follower.entries_after(start - 1, 100) is None or start == 0


def test_a_following_stream_waits_in_memory_and_reads_nothing_from_the_store(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    follower: LogFollower = client.app.state.log_follower  # type: ignore[attr-defined]
    feed = CountedFeed(services.store)
    # The follower takes its starting point in its own thread; a stream opened before
    # that reads the store, rightly. The app may be up first (nothing waits for it).
    eventually(
        lambda: follower.entries_after(follower.last_position, 1) is not None,
        what="the follower has its starting point",
    )
    head = follower.last_position

    async def follow() -> list[dict[str, Any]]:
        items = []
        async for item in follow_feed(feed, head, limit=4, follower=follower):
            items.append(item)
        return items

    writer = threading.Thread(
        target=lambda: write_events(client, new_shipment, shipments=1, patches=3)
    )
    writer.start()
    items = asyncio.run(follow())
    writer.join()

    assert [item["position"] for item in items] == feed_positions(client)[-4:]
    assert feed.reads == 0
