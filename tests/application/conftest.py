"""The write use case over each store: plain memory (the fast loop), SQLite, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.wiring import build_services
from application.ports import ShipmentStreams
from infrastructure.settings import Settings
from tests.support.in_memory_shipments import InMemoryShipments
from tests.support.stores import store_url

STREAMS = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite", marks=pytest.mark.store),
    pytest.param("postgres", id="postgres", marks=[pytest.mark.store, pytest.mark.postgres]),
]


@pytest.fixture(params=STREAMS)
def streams(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ShipmentStreams]:
    """Where the use case's writes go: the fake, or the real store of a kind."""
    kind: str = request.param
    if kind == "memory":
        yield InMemoryShipments()
        return
    with store_url(kind, str(tmp_path)) as url:
        services = build_services(Settings(database_url=url, snapshot_interval=5))
        try:
            yield services.shipments
        finally:
            services.close()
