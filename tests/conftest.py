"""Fixtures shared by every suite: a store per backend and an app client on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from infrastructure.settings import Settings
from tests.support.stores import store_url

STORES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    """Each store-dependent test runs once on SQLite and once on PostgreSQL."""
    kind: str = request.param
    return kind


@pytest.fixture
def database_url(store_kind: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store of the current kind."""
    with store_url(store_kind, str(tmp_path)) as url:
        yield url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, snapshot_interval=5)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app, started and wired to the fresh store, driven in-process."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


NEW_SHIPMENT: dict[str, Any] = {
    "shipmentType": "UHAUL",
    "requestedPickupDate": "2020-05-28",
    "deliveryDate": "2020-06-01",
    "destinationAddress": {
        "streetAddress1": "812 S 129th Street",
        "city": "San Diego",
        "state": "CA",
        "postalCode": "92102",
    },
}


@pytest.fixture
def new_shipment() -> dict[str, Any]:
    """A valid create body (a fresh copy each time)."""
    import copy

    return copy.deepcopy(NEW_SHIPMENT)
