"""The shipment view: one row per shipment, current state, served by GET.

The view is a tracking recorder of the library (its position in the event log
commits with its rows), with one class per store. The write path keeps it
current inside the append transaction (``statements_for``), so a write is
visible to every reader the moment it is acknowledged; updates are keyed by
version, so applying one twice or late never moves a row backwards.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking, TrackingRecorder

from domain.shipment import Shipment
from infrastructure.co_commit import CurrentRow, Statement
from projections.shipment_document import encode_document, restore_shipment
from projections.shipment_list import (
    ListPage,
    ListQuery,
)

VIEW_TABLE = "shipment_view"
VIEW_COLUMNS = (
    "id",
    "version",
    "status",
    "shipment_type",
    "destination_state",
    "delivery_date",
    "created_at",
    "updated_at",
    "document",
)
POSTGRES_TYPES = (
    "uuid",
    "bigint",
    "text",
    "text",
    "text",
    "date",
    "timestamptz",
    "timestamptz",
    "bytea",
)


@dataclass(frozen=True)
class ViewRow:
    """One shipment as the view stores it: filter columns plus the encoded document."""

    id: UUID
    version: int
    status: str
    shipment_type: str
    destination_state: str | None
    delivery_date: date | None
    created_at: datetime
    updated_at: datetime
    document: bytes

    @classmethod
    def of(cls, shipment: Shipment) -> ViewRow:
        """The row for ``shipment`` at its current version."""
        details = shipment.details
        destination = details.destination_address
        return cls(
            id=shipment.id,
            version=shipment.version,
            status=shipment.status.value,
            shipment_type=details.shipment_type.value,
            destination_state=destination.state if destination else None,
            delivery_date=details.delivery_date,
            created_at=shipment.created_on.astimezone(UTC),
            updated_at=shipment.modified_on.astimezone(UTC),
            document=encode_document(shipment),
        )


class ShipmentView(TrackingRecorder, ABC):
    """What the API and the projections need from the view, on any store."""

    table: str

    @property
    def tracking_name(self) -> str:
        """The name its position in the event log is tracked under (its table's)."""
        return self.table

    @property
    def projected_in(self) -> tuple[str, str] | None:
        """(schema, table) where the store can compare events with rows; None where it can't."""
        return None

    # Set by each store's class: its datastore and the upsert statement, keyed by version.
    datastore: Any
    _upsert_sql: Any

    def statements_for(self, shipment: Shipment) -> Sequence[Statement]:
        """Statements that bring the row up to ``shipment``'s version (run by the caller)."""
        row = ViewRow.of(shipment)
        return [Statement(self._upsert_sql, self._params(row), document=row.document)]

    def restore(self, row: CurrentRow) -> Shipment:
        """The shipment a row describes: its document is a snapshot at the row's version."""
        version, document = row
        return restore_shipment(version, document)

    @abstractmethod
    def read_current(self, cursor: Any, shipment_ids: Sequence[UUID]) -> dict[UUID, CurrentRow]:
        """The rows of these shipments in the caller's append transaction, locked until it ends."""

    def upsert(self, rows: Sequence[ViewRow], tracking: Tracking | None) -> None:
        """Write rows (newer versions only) and, atomically, the tracking position."""
        with self.datastore.transaction(commit=True) as cursor:
            self.write(cursor, rows, tracking)

    def write(self, cursor: Any, rows: Sequence[ViewRow], tracking: Tracking | None) -> None:
        """``upsert`` inside the caller's transaction (a rebuild's swap)."""
        if rows:
            cursor.executemany(self._upsert_sql, [self._params(row) for row in rows])
        if tracking is not None:
            self._insert_tracking(cursor, tracking)

    @abstractmethod
    def bulk_insert(self, rows: Sequence[ViewRow]) -> None:
        """Insert rows of shipments the table has no row for, fast (a rebuild's shadow)."""

    @abstractmethod
    def _params(self, row: ViewRow) -> tuple[Any, ...]:
        """The row's values in this store's column types, in ``VIEW_COLUMNS`` order."""

    @abstractmethod
    def _insert_tracking(self, cursor: Any, tracking: Tracking) -> None:
        """The library's tracking insert (provided by each store's tracking recorder)."""

    @abstractmethod
    def get(self, shipment_id: UUID) -> tuple[int, bytes] | None:
        """The current version and encoded document of one shipment."""

    @abstractmethod
    def versions(self, shipment_ids: Collection[UUID]) -> dict[UUID, int]:
        """The version each of these shipments has in the view (absent: no row)."""

    @abstractmethod
    def list_page(self, query: ListQuery) -> ListPage:
        """One page of the list, read through the index that serves its filters and sort."""

    @abstractmethod
    def for_table(self, table: str, *, deferred_indexes: bool) -> ShipmentView:
        """The same view kept in another table: a rebuild builds into one, then swaps it in."""

    @abstractmethod
    def create_indexes(self) -> None:
        """Create the list's indexes (deferred in a rebuild until the bulk load is done)."""
