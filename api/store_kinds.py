"""What the service builds differently on SQLite and on PostgreSQL, one object per store.

The wiring asks the store's kind for each part instead of testing the store's
type at every turn (as the list view asks its dialect, ``projections.shipment_list``).
"""

from __future__ import annotations

from typing import Any, Protocol

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from infrastructure.append_sessions import (
    AppendSession,
    PostgresAppendSession,
    SQLiteAppendSession,
)
from infrastructure.event_store import ShipmentStore
from infrastructure.recorders import PostgresShipmentRecorder, SQLiteShipmentRecorder
from infrastructure.settings import Settings
from projections.document_reads import DocumentReads, PostgresDocumentReads, SQLiteDocumentReads
from projections.postgres_shipment_view import PostgresShipmentView
from projections.shipment_view import ShipmentView
from projections.sqlite_shipment_view import SQLiteShipmentView
from projections.version_index import PostgresVersionIndex, SQLiteVersionIndex, VersionIndex


class StoreKind(Protocol):
    """The parts of the service that differ by store."""

    def commits_in_flight(self, settings: Settings) -> int:
        """How many batches of writes may be committing at once."""
        ...

    def append_session(self, store: ShipmentStore, settings: Settings) -> AppendSession:
        """The append transaction of the store's own recorder."""
        ...

    def version_index(self, store: ShipmentStore, *, create_table: bool) -> VersionIndex:
        """The as-of index in the events' own database (``projections.version_index``)."""
        ...

    async def document_reads(
        self, store: ShipmentStore, view: ShipmentView, settings: Settings
    ) -> DocumentReads | None:
        """The event-loop reader of the view's documents, or None where there can be none."""
        ...


class SQLiteKind:
    """One writer at a time; reads on a connection of the event loop's own."""

    def commits_in_flight(self, settings: Settings) -> int:
        return 1  # SQLite has one write lock: a second batch in flight would only wait

    def append_session(self, store: ShipmentStore, settings: Settings) -> AppendSession:
        recorder = store.recorder
        assert isinstance(recorder, SQLiteShipmentRecorder)
        return SQLiteAppendSession(recorder)

    def version_index(self, store: ShipmentStore, *, create_table: bool) -> VersionIndex:
        index = SQLiteVersionIndex(_datastore(store))
        if create_table:
            index.create_table()
        return index

    async def document_reads(
        self, store: ShipmentStore, view: ShipmentView, settings: Settings
    ) -> DocumentReads | None:
        pool = _datastore(store).pool
        if not isinstance(view, SQLiteShipmentView) or pool.is_sqlite_memory_mode:
            return None  # an in-memory database is seen by its own connections only
        return SQLiteDocumentReads(pool.db_name, view.document_query)


class PostgresKind:
    """Batches of writes committing side by side; reads through an async pool."""

    def commits_in_flight(self, settings: Settings) -> int:
        return settings.commits_in_flight

    def append_session(self, store: ShipmentStore, settings: Settings) -> AppendSession:
        recorder = store.recorder
        assert isinstance(recorder, PostgresShipmentRecorder)
        return PostgresAppendSession(recorder, settings.store_timeout_seconds)

    def version_index(self, store: ShipmentStore, *, create_table: bool) -> VersionIndex:
        index = PostgresVersionIndex(_datastore(store))
        if create_table:
            index.create_table()
        return index

    async def document_reads(
        self, store: ShipmentStore, view: ShipmentView, settings: Settings
    ) -> DocumentReads | None:
        assert isinstance(view, PostgresShipmentView)
        return await PostgresDocumentReads.open(
            dict(_datastore(store).pool.kwargs),
            view.documents_query,
            max_size=settings.pool_size + settings.pool_max_overflow,
            timeout=settings.store_timeout_seconds,
        )


def store_kind_of(store: ShipmentStore) -> StoreKind:
    """The kind of the store the settings named."""
    return PostgresKind() if store.dialect == "postgres" else SQLiteKind()


def _datastore(store: ShipmentStore) -> Any:
    datastore: PostgresDatastore | SQLiteDatastore = store.factory.datastore  # type: ignore[attr-defined]
    return datastore
