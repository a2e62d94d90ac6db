"""Webhooks delivered from the change feed: every event, in order, signed, at least once."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook

from api.http.app import create_app
from infrastructure.settings import Settings
from tests.delivery.conftest import feed_positions, subscribe, write_events
from tests.delivery.receivers import eventually, running_receiver


def test_every_event_arrives_in_feed_order_with_a_valid_signature(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    with running_receiver() as receiver:
        subscription = subscribe(client, receiver)
        written = write_events(client, new_shipment, shipments=3, patches=4)
        eventually(lambda: len(receiver.accepted()) >= written, what="all events delivered")
        expected = feed_positions(client)[-written:]

        assert receiver.accepted_positions() == expected
        assert all(delivery.verified for delivery in receiver.requests)
        first = receiver.accepted()[0]
        assert first.headers["content-type"] == "application/json"
        assert first.body["type"] == "shipment.created"
        assert first.body["data"]["shipment"]["version"] == 1
        assert first.body["data"]["changes"]["shipmentType"] == {
            "from": None,
            "to": new_shipment["shipmentType"],
        }
        revised = receiver.accepted()[1].body
        assert revised["type"] == "shipment.revised"
        assert revised["data"]["changes"] == {"weightLbs": {"from": None, "to": 100}}
        assert revised["data"]["shipment"]["eTag"]
        eventually(
            lambda: (
                client.get(f"/v1/subscriptions/{subscription['id']}").json()["position"]
                == expected[-1]
            ),
            what="position committed",
        )
        assert client.get(f"/v1/subscriptions/{subscription['id']}").json()["status"] == "active"


def test_a_new_subscription_starts_at_the_head_unless_told_where(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    write_events(client, new_shipment, shipments=1, patches=1)
    with running_receiver() as from_now, running_receiver() as from_start:
        subscribe(client, from_now)
        subscribe(client, from_start, after=0)
        write_events(client, new_shipment, shipments=1, patches=0)
        eventually(lambda: len(from_start.accepted()) >= 3, what="history replayed")
        eventually(lambda: len(from_now.accepted()) >= 1, what="the new event")

        positions = feed_positions(client)
        assert from_start.accepted_positions() == positions
        assert from_now.accepted_positions() == positions[-1:]


def test_types_not_subscribed_are_skipped_and_the_position_still_moves(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    with running_receiver() as receiver:
        subscription = subscribe(client, receiver, types=["shipment.created"])
        write_events(client, new_shipment, shipments=2, patches=2)
        eventually(lambda: len(receiver.accepted()) >= 2, what="two creations")
        head = feed_positions(client)[-1]
        eventually(
            lambda: (
                client.get(f"/v1/subscriptions/{subscription['id']}").json()["position"] == head
            ),
            what="skipped to the head",
        )

        assert [d.body["type"] for d in receiver.accepted()] == ["shipment.created"] * 2
        assert client.get(f"/v1/subscriptions/{subscription['id']}").json()["lag"] == 0


def test_a_failing_receiver_is_retried_then_disabled_and_resumes_where_it_stopped(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    with running_receiver() as receiver:
        receiver.answers = [500, 503, 502]  # the first try and both retries fail
        subscription = subscribe(client, receiver)
        path = f"/v1/subscriptions/{subscription['id']}"
        write_events(client, new_shipment, shipments=1, patches=2)
        eventually(lambda: client.get(path).json()["status"] == "disabled", what="disabled")

        disabled = client.get(path).json()
        assert disabled["lastError"].startswith("HTTP 502")
        assert receiver.accepted() == []
        attempts = client.get(f"{path}/deliveries").json()["items"]
        assert [(a["attempt"], a["status"]) for a in attempts] == [(3, 502), (2, 503), (1, 500)]
        assert len({a["messageId"] for a in attempts}) == 1  # the same message every time

        response = client.patch(
            path,
            json={"status": "active"},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert response.status_code == 200, response.text
        eventually(lambda: len(receiver.accepted()) >= 3, what="delivered after re-enabling")

        assert receiver.accepted_positions() == feed_positions(client)
        assert receiver.accepted()[0].headers["webhook-id"] == attempts[0]["messageId"]
        eventually(lambda: client.get(path).json()["lastError"] is None, what="healthy again")


def test_rewinding_delivers_again_from_the_position_given(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    with running_receiver() as receiver:
        subscription = subscribe(client, receiver, after=0)
        write_events(client, new_shipment, shipments=1, patches=3)
        eventually(lambda: len(receiver.accepted()) >= 4, what="first pass")
        positions = feed_positions(client)

        client.patch(f"/v1/subscriptions/{subscription['id']}", json={"position": positions[1]})
        eventually(lambda: len(receiver.accepted()) >= 6, what="replayed")

        assert receiver.accepted_positions() == positions + positions[2:]


def test_a_dead_receiver_does_not_hold_up_another_subscription(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    import threading

    with running_receiver() as dead, running_receiver() as alive:
        dead.hold = threading.Event()  # never answers while the test runs
        subscribe(client, dead)
        subscribe(client, alive)
        written = write_events(client, new_shipment, shipments=2, patches=2)
        eventually(lambda: len(alive.accepted()) >= written, what="the live receiver served")

        assert alive.accepted_positions() == feed_positions(client)[-written:]
        assert dead.accepted() == []


def test_after_rotation_deliveries_verify_with_the_old_secret_and_the_new(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    with running_receiver() as old_only, running_receiver() as new_only:
        subscription = subscribe(client, old_only)
        rotated = client.post(f"/v1/subscriptions/{subscription['id']}/rotate-secret")
        assert rotated.status_code == 200, rotated.text
        secret = rotated.json()["secret"]
        assert secret.startswith("whsec_") and secret != subscription["secret"]
        new_only.secrets.append(secret)
        client.patch(f"/v1/subscriptions/{subscription['id']}", json={"url": new_only.url})
        write_events(client, new_shipment, shipments=1, patches=0)
        eventually(lambda: len(new_only.accepted()) >= 1, what="delivered after rotation")

        delivery = new_only.requests[0]
        assert delivery.verified  # with the new secret
        Webhook(subscription["secret"]).verify(
            delivery.raw, delivery.headers
        )  # and with the old one
        assert len(delivery.headers["webhook-signature"].split(" ")) == 2


def test_an_answer_that_comes_after_the_time_out_is_sent_again_and_nothing_overtakes_it(
    database_url: str, new_shipment: dict[str, Any]
) -> None:
    """The receiver takes the first delivery (its handler runs) but answers after the sender
    gave up: that event is sent again, and no later event reaches the receiver before it."""
    settings = Settings(
        database_url=database_url,
        webhook_allow_private=True,
        webhook_retry_schedule="0,0,0",
        webhook_timeout=0.5,
    )
    with (
        TestClient(create_app(settings), raise_server_exceptions=False) as client,
        running_receiver() as receiver,
    ):
        receiver.delays = [1.5]  # the first request is answered 1 s after the time-out
        subscription = subscribe(client, receiver)
        written = write_events(client, new_shipment, shipments=2, patches=3)
        expected = feed_positions(client)[-written:]
        eventually(
            lambda: set(receiver.accepted_positions()) >= set(expected), what="all delivered"
        )
        eventually(
            lambda: client.get(f"/v1/subscriptions/{subscription['id']}").json()["lag"] == 0,
            what="position committed",
        )
        attempts = client.get(f"/v1/subscriptions/{subscription['id']}/deliveries").json()

    delivered = receiver.accepted_positions()
    assert list(dict.fromkeys(delivered)) == expected  # first arrivals in feed order
    assert delivered.count(expected[0]) == 2  # the late one, and its retry
    assert len(delivered) == len(expected) + 1  # nothing else twice
    assert all(delivery.verified for delivery in receiver.requests)
    timed_out = [a for a in attempts["items"] if a["position"] == expected[0] and a["error"]]
    assert [a["error"] for a in timed_out] == ["the receiver did not answer in time"]
