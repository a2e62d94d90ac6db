"""An app that delivers to receivers on loopback, retrying at once (no test waits on a clock)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.wiring import Services, build_services
from infrastructure.settings import Settings
from tests.delivery.receivers import Receiver


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Loopback receivers allowed; two immediate retries, then disabled."""
    return Settings(
        database_url=database_url,
        snapshot_interval=5,
        webhook_allow_private=True,
        webhook_retry_schedule="0,0",
        webhook_timeout=5.0,
        webhook_lease_seconds=5.0,
    )


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    """The store's services alone: subscriptions and their attempts, no app, no deliverer."""
    built = build_services(Settings(database_url=database_url, webhook_allow_private=True))
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def subscribe(client: TestClient, receiver: Receiver, **members: Any) -> dict[str, Any]:
    """Subscribe ``receiver`` (its secret kept on it, to verify deliveries with)."""
    response = client.post("/v1/subscriptions", json={"url": receiver.url, **members})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    receiver.secrets.append(created["secret"])
    return created


def write_events(client: TestClient, body: dict[str, Any], shipments: int, patches: int) -> int:
    """Create ``shipments`` shipments and patch each ``patches`` times; the events written."""
    for _ in range(shipments):
        created = client.post("/v1/shipments", json=body)
        assert created.status_code == 201, created.text
        document = created.json()
        for n in range(patches):
            response = client.patch(
                f"/v1/shipments/{document['id']}",
                content=json.dumps({"weightLbs": 100 + n}).encode(),
                headers={
                    "Content-Type": "application/merge-patch+json",
                    "If-Match": f'"{document["eTag"]}"',
                },
            )
            assert response.status_code == 200, response.text
            document = response.json()
    return shipments * (1 + patches)


def feed_positions(client: TestClient) -> list[int]:
    """Every position of the feed, in order."""
    positions: list[int] = []
    after = 0
    while True:
        page = client.get("/v1/events", params={"after": after, "limit": 500}).json()
        positions += [item["position"] for item in page["items"]]
        if page["nextAfter"] is None:
            return positions
        after = page["nextAfter"]
