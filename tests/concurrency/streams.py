"""The event store itself, read directly: the ground truth the HTTP answers are checked against."""

from __future__ import annotations

from uuid import UUID

from infrastructure.event_store import ShipmentStore
from infrastructure.settings import Settings


def recorded_versions(database_url: str, shipment_id: str) -> list[int]:
    """The position of every event stored in the shipment's stream, oldest first."""
    store = ShipmentStore(Settings(database_url=database_url, create_tables=False))
    try:
        return [
            event.originator_version for event in store.recorder.select_events(UUID(shipment_id))
        ]
    finally:
        store.close()
