"""The scale benchmark's fill: events through the append path, with the write path's rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from api.wiring import build_services
from bench.scale_fill import events_per_shipment, fill
from infrastructure.settings import Settings
from projections.lag import projection_status
from tests.support.view_consistency import assert_view_matches_events


def test_events_are_spread_evenly_and_every_shipment_has_one() -> None:
    counts = [events_per_shipment(7, 30, n) for n in range(7)]
    assert sum(counts) == 30
    assert max(counts) - min(counts) <= 1
    assert [events_per_shipment(5, 2, n) for n in range(5)] == [1] * 5


def test_a_fill_in_two_processes_leaves_a_view_that_matches_its_events(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/fill.db", projection_runner=False)
    build_services(settings).close()

    result = fill(settings, shipments=30, events=95, processes=2)

    assert len(set(result.shipment_ids)) == 30
    assert result.events == 95
    assert_view_matches_events(settings.database_url)
    services = build_services(settings)
    try:
        status = projection_status(services.store, services.view)
        assert status.head == 95 and status.position == 95
        first = UUID(result.shipment_ids[0])
        found = services.view.get(first)
        assert found is not None and found[0] == events_per_shipment(30, 95, 0)
        indexed = services.version_index.version_at(first, datetime.now(UTC))
        assert indexed == found[0]
    finally:
        services.close()
