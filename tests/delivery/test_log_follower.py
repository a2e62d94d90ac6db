"""One follower of the log per process: streams and deliverers read it from memory."""

from __future__ import annotations

import asyncio
import threading
import time
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
    follower.want()
    eventually(lambda: follower.following, what="follower started")
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
    follower.want()
    eventually(lambda: follower.following, what="follower started")
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


def test_nobody_reading_the_follower_reads_nothing_and_a_reader_wakes_it(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    follower = LogFollower(services.store, idle_seconds=0.3).start()
    try:
        write_events(client, new_shipment, shipments=2, patches=1)
        assert not follower.following
        assert follower.last_position == 0

        assert follower.entries_after(0, 10) is None  # not following yet: read the store
        eventually(lambda: follower.following, what="a reader woke the follower")
        start = follower.last_position
        write_events(client, new_shipment, shipments=1, patches=2)
        positions = feed_positions(client)
        eventually(lambda: follower.last_position == positions[-1], what="follower caught up")
        entries = follower.entries_after(start, 100)
        assert entries is not None
        assert [entry.position for entry in entries] == [p for p in positions if p > start]
    finally:
        follower.stop()


def test_a_paused_follower_catches_up_from_where_it_stopped(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    follower = LogFollower(services.store, idle_seconds=0.3).start()
    try:
        follower.want()
        eventually(lambda: follower.following, what="follower started")
        paused_at = follower.last_position
        eventually(lambda: not follower.following, what="follower paused with nobody reading")

        write_events(client, new_shipment, shipments=2, patches=2)
        assert follower.last_position == paused_at  # it read nothing while paused
        positions = feed_positions(client)

        entries = follower.entries_after(paused_at, 100)  # wakes it; nothing new in memory yet
        assert entries == []
        eventually(lambda: follower.last_position == positions[-1], what="follower caught up")
        entries = follower.entries_after(paused_at, 100)
        assert entries is not None
        assert [entry.position for entry in entries] == [p for p in positions if p > paused_at]
    finally:
        follower.stop()


def test_a_waiting_stream_keeps_the_follower_following(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    follower = LogFollower(services.store, idle_seconds=0.2).start()
    follower.want()
    eventually(lambda: follower.following, what="follower started")
    head = follower.last_position

    def write_after_five_idle_periods() -> None:
        time.sleep(1.0)
        write_events(client, new_shipment, shipments=1, patches=0)

    async def wait_for_the_write() -> bool:
        return await follower.wait_beyond(head, timeout=30.0)

    writer = threading.Thread(target=write_after_five_idle_periods)
    try:
        writer.start()
        # Had it paused while the stream waited, nothing would wake the stream.
        assert asyncio.run(wait_for_the_write()) is True
    finally:
        writer.join()
        follower.stop()
