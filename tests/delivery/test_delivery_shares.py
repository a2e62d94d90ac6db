"""Several deliverers on one store share the subscriptions instead of the first taking all.

The arithmetic is pure; the presence rows and the sharing itself run on the real
store (SQLite and PostgreSQL) with real receivers: a second deliverer that comes
up takes half, one that stops hands its half back, and through both hand-overs
every event reaches every receiver once, in feed order.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.subscription_deliverer import start_deliverer
from api.wiring import Services, build_services
from infrastructure.delivery.deliverer import Deliverer
from infrastructure.delivery.delivery_shares import fair_share, handed_over
from infrastructure.settings import Settings
from tests.conftest import NEW_SHIPMENT
from tests.delivery.conftest import feed_positions, subscribe, write_events
from tests.delivery.receivers import Receiver, eventually, running_receiver

RECEIVERS = 6


def test_the_shares_of_all_peers_cover_every_subscription() -> None:
    for subscriptions in range(0, 40):
        for peers in range(1, 9):
            share = fair_share(subscriptions, peers)
            assert share * peers >= subscriptions  # none left undelivered
            assert (share - 1) * peers < subscriptions or share == 0  # the least that covers
    assert fair_share(11, 2) == 6
    assert fair_share(5, 0) == 5  # a deliverer that cannot count its peers takes all


def test_what_is_held_beyond_the_share_is_the_last_taken() -> None:
    first, second, third = uuid4(), uuid4(), uuid4()
    assert handed_over([first, second, third], 1) == [second, third]
    assert handed_over([first, second], 2) == []
    assert handed_over([first], 0) == [first]


@pytest.mark.store
def test_a_deliverer_counts_while_its_presence_lasts(services: Services) -> None:
    store = services.subscriptions.subscriptions
    store.present("a", "*", now=100.0, until=130.0)
    store.present("b", "*", now=100.0, until=110.0)
    store.present("c", "nats", now=100.0, until=130.0)
    assert sorted(store.peers("*", now=105.0)) == [110.0, 130.0]
    assert store.peers("*", now=111.0) == [130.0]  # b lapsed: it stopped counting
    assert store.peers("nats", now=105.0) == [130.0]  # another scope is not a peer
    store.present("b", "*", now=112.0, until=142.0)  # back after lapsing: a new row
    store.present("a", "*", now=115.0, until=145.0)  # renewed in place
    assert sorted(store.peers("*", now=120.0)) == [142.0, 145.0]
    assert store.peers("*", now=120.0, besides="a") == [142.0]  # the asking one's peers
    store.absent("a")
    assert store.peers("*", now=120.0) == [142.0]


@pytest.fixture
def writing_client(settings: Settings) -> Iterator[TestClient]:
    """The app without a deliverer of its own: the test's deliverers do the delivering."""
    quiet = settings.model_copy(update={"deliverer": False})
    with TestClient(create_app(quiet), raise_server_exceptions=False) as test_client:
        yield test_client


@contextmanager
def running_deliverer(settings: Settings) -> Iterator[Deliverer]:
    """A deliverer with services of its own, as another process on the store would have."""
    services = build_services(settings)
    deliverer = start_deliverer(services, settings, follower=None)
    assert deliverer is not None
    try:
        yield deliverer
    finally:
        deliverer.stop()
        services.close()


def subscribed_receivers(stack: ExitStack, client: TestClient) -> list[Receiver]:
    """``RECEIVERS`` receivers, each subscribed from the feed's start, until ``stack`` ends."""
    receivers = [stack.enter_context(running_receiver()) for _ in range(RECEIVERS)]
    for receiver in receivers:
        subscribe(client, receiver, after=0)
    return receivers


def every_event_once_in_order(receivers: list[Receiver], positions: list[int]) -> bool:
    return all(receiver.accepted_positions() == positions for receiver in receivers)


@pytest.mark.store
@pytest.mark.slow
def test_a_second_deliverer_takes_half_and_hands_it_back_when_it_stops(
    writing_client: TestClient, settings: Settings
) -> None:
    with ExitStack() as stack:
        receivers = subscribed_receivers(stack, writing_client)
        first = stack.enter_context(running_deliverer(settings))
        eventually(lambda: len(first.delivering) == RECEIVERS, what="the first takes all")
        write_events(writing_client, NEW_SHIPMENT, shipments=2, patches=2)

        with running_deliverer(settings) as second:
            eventually(
                lambda: len(first.delivering) == len(second.delivering) == RECEIVERS // 2,
                what="each delivers half",
            )
            assert not first.delivering & second.delivering
            write_events(writing_client, NEW_SHIPMENT, shipments=2, patches=2)
            positions = feed_positions(writing_client)
            eventually(
                lambda: every_event_once_in_order(receivers, positions),
                what="every event at every receiver once, in order, across the hand-over",
            )

        eventually(lambda: len(first.delivering) == RECEIVERS, what="the half handed back")
        write_events(writing_client, NEW_SHIPMENT, shipments=2, patches=2)
        positions = feed_positions(writing_client)
        eventually(
            lambda: every_event_once_in_order(receivers, positions),
            what="every event at every receiver once, in order, after the second stopped",
        )
        assert all(delivery.verified for receiver in receivers for delivery in receiver.accepted())


@pytest.mark.store
def test_a_peer_that_stops_saying_it_is_present_stops_counting(
    writing_client: TestClient, settings: Settings, services: Services
) -> None:
    """A peer that died sends no signal: its presence runs out, and the share grows then."""
    with ExitStack() as stack:
        receivers = subscribed_receivers(stack, writing_client)
        store = services.subscriptions.subscriptions  # the peer's presence, said from here

        def peer_alive_and_half_taken() -> bool:
            now = time.time()
            store.present("a-peer", "*", now, now + 2.0)  # alive while this test says so
            return len(deliverer.delivering) == RECEIVERS // 2

        deliverer = stack.enter_context(running_deliverer(settings))
        eventually(peer_alive_and_half_taken, what="half, beside a live peer")
        # The peer says nothing more, as if it died: no signal, its presence runs out.
        eventually(lambda: len(deliverer.delivering) == RECEIVERS, what="all, once it lapsed")
        write_events(writing_client, NEW_SHIPMENT, shipments=1, patches=2)
        positions = feed_positions(writing_client)
        eventually(lambda: every_event_once_in_order(receivers, positions), what="delivered")
