"""The shipment view in PostgreSQL, in the schema of the events (see ``shipment_view``)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg.sql import SQL, Identifier

from infrastructure.co_commit import CurrentRow
from infrastructure.errors import store_errors
from infrastructure.store_retries import retry_once_unless_timed_out
from projections.shipment_list import (
    POSTGRES_DELIVERY_KEY,
    POSTGRES_LIST,
    ListedRow,
    ListPage,
    ListQuery,
    list_indexes,
    list_statement,
    page_of,
)
from projections.shipment_view import (
    POSTGRES_TYPES,
    VIEW_COLUMNS,
    VIEW_TABLE,
    ShipmentView,
    ViewRow,
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
        self._copy_sql = SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(table_sql, columns)
        self.document_query = SQL("SELECT version, document FROM {} WHERE id = %s").format(
            table_sql
        )
        # The event-loop reader's query: the documents of every id a batch of reads names.
        self.documents_query = SQL(
            "SELECT id, version, document FROM {} WHERE id = ANY(%s)"
        ).format(table_sql)
        # In id order, so that concurrent batches lock shared rows in one order.
        self._current_for_update = SQL(
            "SELECT id, version, document FROM {} WHERE id = ANY(%s) ORDER BY id FOR UPDATE"
        ).format(table_sql)
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

    @property
    def projected_in(self) -> tuple[str, str] | None:
        return (self.datastore.schema, self.table)

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

    def get(self, shipment_id: UUID) -> tuple[int, bytes] | None:
        with store_errors(), self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.document_query, (shipment_id,), prepare=True)
            row = curs.fetchone()
        return None if row is None else (int(row["version"]), bytes(row["document"]))

    def read_current(self, cursor: Any, shipment_ids: Sequence[UUID]) -> dict[UUID, CurrentRow]:
        cursor.execute(self._current_for_update, (list(shipment_ids),), prepare=True)
        return {row["id"]: (int(row["version"]), bytes(row["document"])) for row in cursor}

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

    def bulk_insert(self, rows: Sequence[ViewRow]) -> None:
        # COPY in binary: no statement per row, no conversion to text and back.
        with self.datastore.transaction(commit=True) as curs, curs.copy(self._copy_sql) as copy:
            copy.set_types(POSTGRES_TYPES)
            for row in rows:
                copy.write_row(self._params(row))

    def _params(self, row: ViewRow) -> tuple[Any, ...]:
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
