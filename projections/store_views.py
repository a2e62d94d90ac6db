"""The shipment view of a store: the class for its kind, built by the store's own factory."""

from __future__ import annotations

from typing import cast

from eventsourcing.postgres import PostgresDatastore

from infrastructure.event_store import ShipmentStore
from projections.postgres_shipment_view import PostgresShipmentView
from projections.shipment_view import ShipmentView
from projections.sqlite_shipment_view import SQLiteShipmentView


def shipment_view_of(store: ShipmentStore) -> ShipmentView:
    """The shipment view in the store's database (its table created if the store creates tables)."""
    datastore = store.factory.datastore  # type: ignore[attr-defined]
    view_class = (
        PostgresShipmentView if isinstance(datastore, PostgresDatastore) else SQLiteShipmentView
    )
    return cast(ShipmentView, store.factory.tracking_recorder(view_class))
