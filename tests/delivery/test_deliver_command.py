"""``shipments deliver``: a process that only delivers, beside servers that do not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.subscription_deliverer import start_deliverer
from infrastructure.settings import Settings
from tests.delivery.conftest import feed_positions, subscribe, write_events
from tests.delivery.receivers import eventually, running_receiver
from tests.support.prometheus import sample
from tests.support.servers import free_port

pytestmark = pytest.mark.slow

NATS = frozenset({"nats"})
WEB = frozenset({"http", "https"})


@pytest.fixture
def settings(database_url: str) -> Settings:
    """A server that leaves delivery to other processes."""
    return Settings(database_url=database_url, webhook_allow_private=True, deliverer=False)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def test_a_deliver_process_delivers_what_the_servers_leave_and_stops_on_sigterm(
    client: TestClient, database_url: str, new_shipment: dict[str, Any]
) -> None:
    metrics_address = f"127.0.0.1:{free_port()}"
    environment = {
        **os.environ,
        "SHIPMENTS_DATABASE_URL": database_url,
        "SHIPMENTS_WEBHOOK_ALLOW_PRIVATE": "true",
        "SHIPMENTS_DELIVERY_METRICS_ADDRESS": metrics_address,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "deliver"],
        env=environment,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with running_receiver() as receiver:
            subscription = subscribe(client, receiver)
            written = write_events(client, new_shipment, shipments=2, patches=2)
            eventually(lambda: len(receiver.accepted()) >= written, what="all delivered")
            assert receiver.accepted_positions() == feed_positions(client)[-written:]
            assert all(delivery.verified for delivery in receiver.requests)
            # Its attempts are counted where they are made: in its own metrics.
            text = httpx.get(f"http://{metrics_address}/metrics").text
            delivered = sample(
                text, "shipments_delivery_attempts_total", scheme="http", outcome="delivered"
            )
            assert delivered >= written
            process.send_signal(signal.SIGTERM)
            _, errors = process.communicate(timeout=30)
        assert process.returncode == 0, errors
        assert "delivering as" in errors
        assert "stopped" in errors
        # It let go of the subscription as it stopped: another process may take it at once.
        listed = client.get(f"/v1/subscriptions/{subscription['id']}").json()
        assert listed["lag"] == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_deliverers_for_some_schemes_leave_the_other_subscriptions_to_other_processes(
    client: TestClient, settings: Settings, new_shipment: dict[str, Any]
) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    follower = client.app.state.log_follower  # type: ignore[attr-defined]
    delivering = settings.model_copy(update={"deliverer": True})
    with running_receiver() as receiver:
        subscription = subscribe(client, receiver)
        # As `shipments deliver --schemes nats`: started first, it scans first.
        jetstream_only = start_deliverer(services, delivering, follower, schemes=NATS)
        webhooks_only = start_deliverer(services, delivering, follower, schemes=WEB)
        assert jetstream_only is not None and webhooks_only is not None
        try:
            written = write_events(client, new_shipment, shipments=1, patches=2)
            eventually(lambda: len(receiver.accepted()) >= written, what="all delivered")
            assert receiver.accepted_positions() == feed_positions(client)[-written:]
            assert webhooks_only.delivering == {UUID(subscription["id"])}
            assert jetstream_only.delivering == set()
        finally:
            jetstream_only.stop()
            webhooks_only.stop()


def test_an_unknown_scheme_is_a_usage_error() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "api.cli", "deliver", "--schemes", "https,ftp"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 2
    assert "unknown scheme(s) ftp; choose from http, https, nats" in finished.stderr
