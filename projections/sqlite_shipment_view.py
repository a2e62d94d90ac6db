"""The shipment view in SQLite, in the file next to the events (see ``shipment_view``)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

from infrastructure.co_commit import CurrentRow
from infrastructure.errors import store_errors
from projections.shipment_list import (
    SQLITE_DELIVERY_KEY,
    SQLITE_LIST,
    ListedRow,
    ListPage,
    ListQuery,
    list_indexes,
    list_statement,
    page_of,
)
from projections.shipment_view import VIEW_COLUMNS, VIEW_TABLE, ShipmentView, ViewRow

# Rows per INSERT statement: 9 parameters each, under SQLite's oldest limit of 999.
BULK_ROWS = 110


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
        self._row_marks = f"({placeholders})"
        self.document_query = f"SELECT version, document FROM {table} WHERE id = ?"

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

    def get(self, shipment_id: UUID) -> tuple[int, bytes] | None:
        # One statement in autocommit mode is its own consistent snapshot; an
        # explicit BEGIN/ROLLBACK around it would double the cost of a GET.
        with store_errors(), self.datastore.get_connection(commit=False) as conn:
            cursor = conn.cursor()
            try:
                cursor.execute(self.document_query, (shipment_id.hex,))
                row = cursor.fetchone()
            finally:
                cursor.sqlite_cursor.close()
        return None if row is None else (int(row["version"]), bytes(row["document"]))

    def read_current(self, cursor: Any, shipment_ids: Sequence[UUID]) -> dict[UUID, CurrentRow]:
        # The caller's transaction holds SQLite's write lock (BEGIN IMMEDIATE): no
        # other writer can change these rows before it commits.
        marks = ", ".join("?" * len(shipment_ids))
        cursor.execute(
            f"SELECT id, version, document FROM {self.table} WHERE id IN ({marks})",
            [shipment_id.hex for shipment_id in shipment_ids],
        )
        return {
            UUID(hex=row["id"]): (int(row["version"]), bytes(row["document"]))
            for row in cursor.fetchall()
        }

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

    def bulk_insert(self, rows: Sequence[ViewRow]) -> None:
        # Multi-row INSERTs in one short transaction: SQLite has one writer at a
        # time, so each process holds the write lock only while its rows go in.
        params = [self._params(row) for row in rows]
        with self.datastore.transaction(commit=True) as c:
            for start in range(0, len(params), BULK_ROWS):
                chunk = params[start : start + BULK_ROWS]
                values = ", ".join([self._row_marks] * len(chunk))
                c.execute(
                    f"INSERT INTO {self.table} ({', '.join(VIEW_COLUMNS)}) VALUES {values}",
                    [value for row in chunk for value in row],
                )

    def _params(self, row: ViewRow) -> tuple[Any, ...]:
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


def _indexed_columns(create_index_sql: str) -> str:
    """The column list of a ``CREATE INDEX … ON table (columns)`` statement."""
    on_table = create_index_sql.split(" ON ", 1)[-1]
    return on_table[on_table.index("(") + 1 : on_table.rindex(")")].strip()
