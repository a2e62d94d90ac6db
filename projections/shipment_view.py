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
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from psycopg.sql import SQL, Identifier

from domain.shipment import Shipment
from infrastructure.co_commit import Statement
from infrastructure.errors import store_errors
from infrastructure.store_retries import retry_once_unless_timed_out
from projections.shipment_document import encode_document
from projections.shipment_list import (
    POSTGRES_DELIVERY_KEY,
    POSTGRES_LIST,
    SQLITE_DELIVERY_KEY,
    SQLITE_LIST,
    ListedRow,
    ListPage,
    ListQuery,
    list_indexes,
    list_statement,
    page_of,
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
_POSTGRES_TYPES = (
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

    @abstractmethod
    def statements_for(self, shipment: Shipment) -> Sequence[Statement]:
        """Statements that bring the row up to ``shipment``'s version (run by the caller)."""

    @abstractmethod
    def get(self, shipment_id: UUID) -> tuple[int, bytes] | None:
        """The current version and encoded document of one shipment."""

    @abstractmethod
    def upsert(self, rows: Sequence[ViewRow], tracking: Tracking | None) -> None:
        """Write rows (newer versions only) and, atomically, the tracking position."""

    @abstractmethod
    def write(self, cursor: Any, rows: Sequence[ViewRow], tracking: Tracking | None) -> None:
        """``upsert`` inside the caller's transaction (a rebuild's swap)."""

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


class SQLiteShipmentView(SQLiteTrackingRecorder, ShipmentView):
    """The shipment view in the SQLite file next to the events."""

    def __init__(
        self,
        datastore: SQLiteDatastore,
        table: str = VIEW_TABLE,
        *,
        deferred_indexes: bool = False,
        **kwargs: Any,
    ) -> None:
        # Set before the base class builds the CREATE statements from them.
        self.table = table
        self.deferred_indexes = deferred_indexes
        super().__init__(datastore, **kwargs)
        placeholders = ", ".join("?" * len(VIEW_COLUMNS))
        updates = ", ".join(f"{c} = excluded.{c}" for c in VIEW_COLUMNS[1:])
        self._upsert_sql = (
            f"INSERT INTO {table} ({', '.join(VIEW_COLUMNS)}) VALUES ({placeholders}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates} "
            f"WHERE {table}.version < excluded.version"
        )
        self._get_sql = f"SELECT version, document FROM {table} WHERE id = ?"

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {self.table} ("
            "id TEXT PRIMARY KEY, version INTEGER NOT NULL, status TEXT NOT NULL, "
            "shipment_type TEXT NOT NULL, destination_state TEXT, delivery_date TEXT, "
            "created_at TEXT NOT NULL, updated_at TEXT NOT NULL, document BLOB NOT NULL)",
        ]

    def create_table(self) -> None:
        super().create_table()
        if not self.deferred_indexes:
            self.create_indexes()

    def create_indexes(self) -> None:
        # SQLite cannot rename an index, and a rebuilt table keeps the index names
        # it was built with; so an index is recognised by its columns, not its name.
        with self.datastore.transaction(commit=True) as c:
            c.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index'")
            indexes = c.fetchall()
            names = {index["name"] for index in indexes}
            present = {
                _indexed_columns(index["sql"])
                for index in indexes
                if index["tbl_name"] == self.table and index["sql"]
            }
            for suffix, columns in list_indexes(SQLITE_DELIVERY_KEY):
                if columns in present:
                    continue
                name = f"{self.table}_{suffix}"
                while name in names:
                    name += "_"
                names.add(name)
                c.execute(f"CREATE INDEX {name} ON {self.table} ({columns})")

    def for_table(self, table: str, *, deferred_indexes: bool) -> SQLiteShipmentView:
        return SQLiteShipmentView(self.datastore, table, deferred_indexes=deferred_indexes)

    def statements_for(self, shipment: Shipment) -> Sequence[Statement]:
        return [Statement(self._upsert_sql, self._params(ViewRow.of(shipment)))]

    def get(self, shipment_id: UUID) -> tuple[int, bytes] | None:
        # One statement in autocommit mode is its own consistent snapshot; an
        # explicit BEGIN/ROLLBACK around it would double the cost of a GET.
        with store_errors(), self.datastore.get_connection(commit=False) as conn:
            cursor = conn.cursor()
            try:
                cursor.execute(self._get_sql, (shipment_id.hex,))
                row = cursor.fetchone()
            finally:
                cursor.sqlite_cursor.close()
        return None if row is None else (int(row["version"]), bytes(row["document"]))

    def upsert(self, rows: Sequence[ViewRow], tracking: Tracking | None) -> None:
        with self.datastore.transaction(commit=True) as c:
            self.write(c, rows, tracking)

    def write(self, cursor: Any, rows: Sequence[ViewRow], tracking: Tracking | None) -> None:
        if rows:
            cursor.executemany(self._upsert_sql, [self._params(row) for row in rows])
        if tracking is not None:
            self._insert_tracking(cursor, tracking)

    def versions(self, shipment_ids: Collection[UUID]) -> dict[UUID, int]:
        if not shipment_ids:
            return {}
        marks = ", ".join("?" * len(shipment_ids))
        with store_errors(), self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT id, version FROM {self.table} WHERE id IN ({marks})",
                [shipment_id.hex for shipment_id in shipment_ids],
            )
            return {UUID(hex=row["id"]): int(row["version"]) for row in c.fetchall()}

    def list_page(self, query: ListQuery) -> ListPage:
        sql, params = list_statement(query, SQLITE_LIST)
        with store_errors(), self.datastore.transaction(commit=False) as c:
            c.execute(sql.format(table=self.table), params)
            rows = [
                ListedRow(
                    shipment_id=UUID(hex=row["id"]),
                    updated_at=datetime.fromisoformat(row["updated_at"]),
                    delivery_date=(
                        date.fromisoformat(row["delivery_date"]) if row["delivery_date"] else None
                    ),
                    document=bytes(row["document"]),
                )
                for row in c.fetchall()
            ]
        return page_of(rows, query)

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

    # Bounded retries, so an unreachable store answers 503 within its time-out.
    insert_tracking = retry_once_unless_timed_out(PostgresTrackingRecorder.insert_tracking)
    max_tracking_id = retry_once_unless_timed_out(PostgresTrackingRecorder.max_tracking_id)
    has_tracking_id = retry_once_unless_timed_out(PostgresTrackingRecorder.has_tracking_id)

    def __init__(
        self,
        datastore: PostgresDatastore,
        table: str = VIEW_TABLE,
        *,
        deferred_indexes: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(datastore, **kwargs)
        self.table = table
        self.deferred_indexes = deferred_indexes
        self._qualified = SQL("{}.{}").format(Identifier(datastore.schema), Identifier(table))
        table_sql = self._qualified
        columns = SQL(", ").join(Identifier(c) for c in VIEW_COLUMNS)
        placeholders = SQL(", ").join(SQL("%s") for _ in VIEW_COLUMNS)
        updates = SQL(", ").join(
            SQL("{0} = EXCLUDED.{0}").format(Identifier(c)) for c in VIEW_COLUMNS[1:]
        )
        self._upsert_sql = SQL(
            "INSERT INTO {table} ({columns}) VALUES ({placeholders}) "
            "ON CONFLICT (id) DO UPDATE SET {updates} WHERE {name}.version < EXCLUDED.version"
        ).format(
            table=table_sql,
            columns=columns,
            placeholders=placeholders,
            updates=updates,
            name=Identifier(table),
        )
        self._get_sql = SQL("SELECT version, document FROM {} WHERE id = %s").format(table_sql)
        self._versions_sql = SQL("SELECT id, version FROM {} WHERE id = ANY(%s)").format(table_sql)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                "id uuid PRIMARY KEY, version bigint NOT NULL, status text NOT NULL, "
                "shipment_type text NOT NULL, destination_state text, delivery_date date, "
                "created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, "
                "document bytea NOT NULL)"
            ).format(table_sql)
        )
        self.index_statements = [
            SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(
                Identifier(f"{table}_{suffix}"), table_sql, SQL(columns)
            )
            for suffix, columns in list_indexes(POSTGRES_DELIVERY_KEY)
        ]
        if not deferred_indexes:
            self.sql_create_statements.extend(self.index_statements)

    def create_indexes(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            for statement in self.index_statements:
                curs.execute(statement)

    def for_table(self, table: str, *, deferred_indexes: bool) -> PostgresShipmentView:
        return PostgresShipmentView(
            self.datastore,
            table,
            deferred_indexes=deferred_indexes,
            tracking_table_name=self.tracking_table_name,
        )

    def statements_for(self, shipment: Shipment) -> Sequence[Statement]:
        return [Statement(self._upsert_sql, self._params(ViewRow.of(shipment)))]

    def get(self, shipment_id: UUID) -> tuple[int, bytes] | None:
        with store_errors(), self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._get_sql, (shipment_id,), prepare=True)
            row = curs.fetchone()
        return None if row is None else (int(row["version"]), bytes(row["document"]))

    def upsert(self, rows: Sequence[ViewRow], tracking: Tracking | None) -> None:
        with self.datastore.transaction(commit=True) as curs:
            self.write(curs, rows, tracking)

    def write(self, cursor: Any, rows: Sequence[ViewRow], tracking: Tracking | None) -> None:
        if rows:
            cursor.executemany(self._upsert_sql, [self._params(row) for row in rows])
        if tracking is not None:
            self._insert_tracking(cursor, tracking)

    def versions(self, shipment_ids: Collection[UUID]) -> dict[UUID, int]:
        if not shipment_ids:
            return {}
        with store_errors(), self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._versions_sql, (list(shipment_ids),), prepare=True)
            return {row["id"]: int(row["version"]) for row in curs.fetchall()}

    def list_page(self, query: ListQuery) -> ListPage:
        sql, params = list_statement(query, POSTGRES_LIST)
        statement = SQL(sql).format(table=self._qualified)
        with store_errors(), self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, params, prepare=True)
            rows = [
                ListedRow(
                    shipment_id=row["id"],
                    updated_at=row["updated_at"],
                    delivery_date=row["delivery_date"],
                    document=bytes(row["document"]),
                )
                for row in curs.fetchall()
            ]
        return page_of(rows, query)

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


def _indexed_columns(create_index_sql: str) -> str:
    """The column list of a ``CREATE INDEX … ON table (columns)`` statement."""
    on_table = create_index_sql.split(" ON ", 1)[-1]
    return on_table[on_table.index("(") + 1 : on_table.rindex(")")].strip()
