"""Does the view say what the events say? Replays every stream and compares.

The shipments compared are those the view has a row for *and* those the event
log has a stream for, so a missing row and a row without a stream both show.
For each, the stream is replayed through the store's repository and its row is
computed afresh; every column and every document field that differs is a
``ViewDifference``. An empty list means the view can be trusted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.application import AggregateNotFoundError
from psycopg.sql import SQL, Identifier

from domain.shipment import Shipment
from infrastructure.event_store import MAX_POSITION, ShipmentStore
from projections.postgres_shipment_view import PostgresShipmentView
from projections.shipment_view import ShipmentView, ViewRow

ROW_COLUMNS = (
    "version",
    "status",
    "shipment_type",
    "destination_state",
    "delivery_date",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class ViewDifference:
    """One way the view disagrees with the replayed stream of one shipment."""

    shipment_id: UUID
    field: str
    in_view: Any
    in_events: Any

    def __str__(self) -> str:
        return f"{self.shipment_id} {self.field}: view={self.in_view!r} events={self.in_events!r}"


def view_differences(store: ShipmentStore, view: ShipmentView) -> list[ViewDifference]:
    """Every difference between ``view`` and a replay of the event log (empty: none)."""
    view_rows = _view_rows(view)
    differences: list[ViewDifference] = []
    for shipment_id in sorted(set(view_rows) | set(_stream_ids(store, view))):
        try:
            # With a version the repository replays from the store, never from a
            # process's cache (which may lag other writers: event_store.library_env).
            replayed: Shipment | None = store.repository.get(shipment_id, version=MAX_POSITION)
        except AggregateNotFoundError:
            replayed = None
        differences += _compare(shipment_id, view_rows.get(shipment_id), replayed)
    return differences


def _compare(
    shipment_id: UUID, stored: dict[str, Any] | None, replayed: Shipment | None
) -> Iterator[ViewDifference]:
    if stored is None or replayed is None:
        yield ViewDifference(
            shipment_id,
            "row",
            "present" if stored is not None else "missing",
            "present" if replayed is not None else "missing",
        )
        return
    expected = ViewRow.of(replayed)
    for column in ROW_COLUMNS:
        if _plain(stored[column]) != _plain(getattr(expected, column)):
            yield ViewDifference(shipment_id, column, stored[column], getattr(expected, column))
    in_view = orjson.loads(stored["document"])
    in_events = orjson.loads(expected.document)
    for name in sorted(set(in_view) | set(in_events)):
        if in_view.get(name) != in_events.get(name):
            yield ViewDifference(
                shipment_id, f"document.{name}", in_view.get(name), in_events.get(name)
            )


def _plain(value: Any) -> Any:
    """Dates and times as the text SQLite stores (PostgreSQL returns objects, in its time zone)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value.isoformat() if isinstance(value, date) else value


def _view_rows(view: ShipmentView) -> dict[UUID, dict[str, Any]]:
    columns = ", ".join(("id", *ROW_COLUMNS, "document"))
    if isinstance(view, PostgresShipmentView):
        query = SQL(f"SELECT {columns} FROM {{}}.{{}}").format(
            Identifier(view.datastore.schema), Identifier(view.table)
        )
        with view.datastore.transaction(commit=False) as curs:
            curs.execute(query)
            return {row["id"]: dict(row) for row in curs.fetchall()}
    with view.datastore.transaction(commit=False) as c:
        c.execute(f"SELECT {columns} FROM {view.table}")
        return {UUID(hex=row["id"]): dict(row) for row in c.fetchall()}


def _stream_ids(store: ShipmentStore, view: ShipmentView) -> list[UUID]:
    events = store.recorder.events_table_name  # type: ignore[attr-defined]
    if isinstance(view, PostgresShipmentView):
        query = SQL("SELECT DISTINCT originator_id FROM {}.{}").format(
            Identifier(view.datastore.schema), Identifier(events)
        )
        with view.datastore.transaction(commit=False) as curs:
            curs.execute(query)
            return [row["originator_id"] for row in curs.fetchall()]
    with view.datastore.transaction(commit=False) as c:
        c.execute(f"SELECT DISTINCT originator_id FROM {events}")
        return [UUID(hex=row["originator_id"]) for row in c.fetchall()]
