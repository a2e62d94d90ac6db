"""Deliverers hear of subscription changes instead of reading them every second.

An idle deliverer reads the subscriptions only when told of a change (PostgreSQL:
a NOTIFY; SQLite: a commit elsewhere, seen in ``PRAGMA data_version``), when a
lease it saw runs out, or every ``UNSIGNALLED_SCAN_SECONDS``; a subscription
added by another process is picked up at once all the same.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.wiring import build_services
from infrastructure.delivery.deliverer import Deliverer
from infrastructure.delivery.subscription_store import SubscriptionStore
from infrastructure.settings import Settings
from tests.delivery.receivers import eventually, running_receiver


def counted_reads(store: SubscriptionStore, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The times of each read of every subscription, from now on."""
    reads: list[float] = []
    read_all = store.all

    def counted() -> Any:
        reads.append(time.monotonic())
        return read_all()

    monkeypatch.setattr(store, "all", counted)
    return reads


def test_an_idle_deliverer_does_not_read_the_subscriptions(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    reads = counted_reads(services.subscriptions.subscriptions, monkeypatch)
    time.sleep(1.0)  # the start's looks: the first scan, and the listener's once connected
    settled = len(reads)
    time.sleep(3.0)  # three of the old scans
    # At most one late look of the start (a slow connection under load); a deliverer
    # that polled read three times.
    assert len(reads) - settled <= 1


def test_a_subscription_added_by_another_process_is_delivered_at_once(
    client: TestClient, settings: Settings, new_shipment: dict[str, Any]
) -> None:
    deliverer: Deliverer = client.app.state.deliverer  # type: ignore[attr-defined]
    other = build_services(settings)  # another process's store, pool and connections
    try:
        with running_receiver() as receiver:
            head = other.subscriptions.head()
            added = other.subscriptions.subscriptions.add(receiver.url, [], None, head, time.time())
            receiver.secrets.append(added.secret)
            eventually(lambda: added.id in deliverer.delivering, timeout=5.0, what="picked up")
            created = client.post("/v1/shipments", json=new_shipment)
            assert created.status_code == 201
            eventually(lambda: len(receiver.accepted()) == 1, what="delivered")
            assert receiver.accepted()[0].verified
    finally:
        other.close()
