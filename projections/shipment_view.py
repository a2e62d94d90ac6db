"""The shipment view: one row per shipment, current state, served by GET.

The view is a tracking recorder of the library (its position in the event log
commits with its rows), with one class per store. The write path keeps it
current inside the append transaction (``statements_for``), so a write is
visible to every reader the moment it is acknowledged; updates are keyed by
version, so applying one twice or late never moves a row backwards.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from psycopg.sql import SQL, Identifier

from domain.shipment import Shipment
from infrastructure.co_commit import Statement
from projections.shipment_document import encode_document

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


class ShipmentView(ABC):
    """What the API and the projections need from the view, on any store."""

    @abstractmethod
    def statements_for(self, shipment: Shipment) -> Sequence[Statement]:
        """Statements that bring the row up to ``shipment``'s version (run by the caller)."""

    @abstractmethod
    def get(self, shipment_id: UUID) -> tuple[int, bytes] | None:
        """The current version and encoded document of one shipment."""

    @abstractmethod
    def upsert(self, rows: Sequence[ViewRow], tracking: Tracking | None) -> None:
        """Write rows (newer versions only) and, atomically, the tracking position."""


class SQLiteShipmentView(SQLiteTrackingRecorder, ShipmentView):
    """The shipment view in the SQLite file next to the events."""

    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        placeholders = ", ".join("?" * len(VIEW_COLUMNS))
        updates = ", ".join(f"{c} = excluded.{c}" for c in VIEW_COLUMNS[1:])
        self._upsert_sql = (
            f"INSERT INTO {VIEW_TABLE} ({', '.join(VIEW_COLUMNS)}) VALUES ({placeholders}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates} "
            f"WHERE {VIEW_TABLE}.version < excluded.version"
        )

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {VIEW_TABLE} ("
            "id TEXT PRIMARY KEY, version INTEGER NOT NULL, status TEXT NOT NULL, "
            "shipment_type TEXT NOT NULL, destination_state TEXT, delivery_date TEXT, "
            "created_at TEXT NOT NULL, updated_at TEXT NOT NULL, document BLOB NOT NULL)",
        ]

    def statements_for(self, shipment: Shipment) -> Sequence[Statement]:
        return [Statement(self._upsert_sql, self._params(ViewRow.of(shipment)))]

    def get(self, shipment_id: UUID) -> tuple[int, bytes] | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT version, document FROM {VIEW_TABLE} WHERE id = ?", (shipment_id.hex,)
            )
            row = c.fetchone()
        return None if row is None else (int(row["version"]), bytes(row["document"]))

    def upsert(self, rows: Sequence[ViewRow], tracking: Tracking | None) -> None:
        with self.datastore.transaction(commit=True) as c:
            for row in rows:
                c.execute(self._upsert_sql, self._params(row))
            if tracking is not None:
                self._insert_tracking(c, tracking)

    @staticmethod
    def _params(row: ViewRow) -> tuple[Any, ...]:
        return (
            row.id.hex,
            row.version,
            row.status,
            row.shipment_type,
            row.destination_state,
            row.delivery_date.isoformat() if row.delivery_date else None,
            row.created_at.isoformat(),
            row.updated_at.isoformat(),
            row.document,
        )


class PostgresShipmentView(PostgresTrackingRecorder, ShipmentView):
    """The shipment view in PostgreSQL, in the schema of the events."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        table = SQL("{}.{}").format(Identifier(datastore.schema), Identifier(VIEW_TABLE))
        columns = SQL(", ").join(Identifier(c) for c in VIEW_COLUMNS)
        placeholders = SQL(", ").join(SQL("%s") for _ in VIEW_COLUMNS)
        updates = SQL(", ").join(
            SQL("{0} = EXCLUDED.{0}").format(Identifier(c)) for c in VIEW_COLUMNS[1:]
        )
        self._upsert_sql = SQL(
            "INSERT INTO {table} ({columns}) VALUES ({placeholders}) "
            "ON CONFLICT (id) DO UPDATE SET {updates} WHERE {name}.version < EXCLUDED.version"
        ).format(
            table=table,
            columns=columns,
            placeholders=placeholders,
            updates=updates,
            name=Identifier(VIEW_TABLE),
        )
        self._get_sql = SQL("SELECT version, document FROM {} WHERE id = %s").format(table)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                "id uuid PRIMARY KEY, version bigint NOT NULL, status text NOT NULL, "
                "shipment_type text NOT NULL, destination_state text, delivery_date date, "
                "created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, "
                "document bytea NOT NULL)"
            ).format(table)
        )

    def statements_for(self, shipment: Shipment) -> Sequence[Statement]:
        return [Statement(self._upsert_sql, self._params(ViewRow.of(shipment)))]

    def get(self, shipment_id: UUID) -> tuple[int, bytes] | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._get_sql, (shipment_id,), prepare=True)
            row = curs.fetchone()
        return None if row is None else (int(row["version"]), bytes(row["document"]))

    def upsert(self, rows: Sequence[ViewRow], tracking: Tracking | None) -> None:
        with self.datastore.transaction(commit=True) as curs:
            for row in rows:
                curs.execute(self._upsert_sql, self._params(row), prepare=True)
            if tracking is not None:
                self._insert_tracking(curs, tracking)

    @staticmethod
    def _params(row: ViewRow) -> tuple[Any, ...]:
        return (
            row.id,
            row.version,
            row.status,
            row.shipment_type,
            row.destination_state,
            row.delivery_date,
            row.created_at,
            row.updated_at,
            row.document,
        )
