"""Deliveries in ``/metrics``: attempts by outcome, their lag, and each subscription's state."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.delivery.conftest import subscribe, write_events
from tests.delivery.receivers import eventually, running_receiver
from tests.support.prometheus import sample


def test_delivered_attempts_their_lag_and_the_subscription_show_in_the_metrics(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    with running_receiver() as receiver:
        subscription = subscribe(client, receiver)
        written = write_events(client, new_shipment, shipments=2, patches=2)
        eventually(lambda: len(receiver.accepted()) >= written, what="all events delivered")
        key = subscription["id"]
        eventually(
            lambda: client.get(f"/v1/subscriptions/{key}").json()["lag"] == 0,
            what="position committed",
        )
        text = client.get("/metrics").text

    delivered = sample(
        text, "shipments_delivery_attempts_total", scheme="http", outcome="delivered"
    )
    assert delivered >= written
    assert sample(text, "shipments_delivery_attempts_total", outcome="failed") == 0
    assert sample(text, "shipments_delivery_lag_seconds_count", scheme="http") >= written
    assert sample(text, "shipments_delivery_attempt_duration_seconds_count", scheme="http") >= (
        written
    )
    assert sample(text, "shipments_subscription_lag_events", subscription=key) == 0
    assert sample(text, "shipments_subscription_status", subscription=key, status="active") == 1
    assert sample(text, "shipments_subscription_status", subscription=key, status="disabled") == 0
    assert sample(text, "shipments_subscription_delivering_here", subscription=key) == 1
    position = client.get(f"/v1/subscriptions/{key}").json()["position"]
    assert sample(text, "shipments_subscription_position", subscription=key) == position


def test_failed_attempts_are_counted_as_failed(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    with running_receiver() as receiver:
        receiver.answers = [500, 500, 500]  # the first try and both retries of "0,0"
        subscription = subscribe(client, receiver)
        write_events(client, new_shipment, shipments=1, patches=0)
        key = subscription["id"]
        eventually(
            lambda: client.get(f"/v1/subscriptions/{key}").json()["status"] == "disabled",
            what="disabled after the schedule",
        )
        text = client.get("/metrics").text

    assert sample(text, "shipments_delivery_attempts_total", scheme="http", outcome="failed") == 3
    assert sample(text, "shipments_delivery_lag_seconds_count", scheme="http") == 0
    assert sample(text, "shipments_subscription_status", subscription=key, status="disabled") == 1
    assert sample(text, "shipments_subscription_lag_events", subscription=key) == 1
