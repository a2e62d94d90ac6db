"""Builds the service's objects from settings, once per process, and closes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from infrastructure.append_sessions import (
    AppendSession,
    PostgresAppendSession,
    SQLiteAppendSession,
)
from infrastructure.delivery.administration import SubscriptionAdministration
from infrastructure.delivery.subscription_store import SubscriptionStore
from infrastructure.event_store import ShipmentStore
from infrastructure.group_commit import GroupCommitter
from infrastructure.idempotency import IdempotencyLedger
from infrastructure.recorders import PostgresShipmentRecorder, SQLiteShipmentRecorder
from infrastructure.settings import Settings
from infrastructure.shipment_service import ShipmentService
from projections.document_reads import (
    DocumentReads,
    PostgresDocumentReads,
    SQLiteDocumentReads,
)
from projections.postgres_shipment_view import PostgresShipmentView
from projections.shipment_view import ShipmentView
from projections.sqlite_shipment_view import SQLiteShipmentView
from projections.store_views import shipment_view_of
from projections.version_index import PostgresVersionIndex, SQLiteVersionIndex, VersionIndex


@dataclass
class Services:
    """Everything a request handler or a command needs, built from one Settings."""

    settings: Settings
    store: ShipmentStore
    view: ShipmentView
    shipments: ShipmentService
    version_index: VersionIndex
    committer: GroupCommitter
    subscriptions: SubscriptionAdministration

    def close(self) -> None:
        self.shipments.close()
        self.store.close()


def build_services(settings: Settings) -> Services:
    """Connect to the configured store (creating tables if allowed) and wire the service."""
    store = ShipmentStore(settings)
    datastore = store.factory.datastore  # type: ignore[attr-defined]
    view = shipment_view_of(store)
    ledger = IdempotencyLedger(datastore, timedelta(hours=settings.idempotency_ttl_hours))
    version_index = _version_index(datastore, create_table=settings.create_tables)
    committer = GroupCommitter(
        store,
        _append_session(store, settings),
        view,
        [view, version_index],
        ledger,
        max_batch=settings.group_commit_max_batch if settings.group_commit else 1,
        cache_size=settings.aggregate_cache_size,
        in_flight=settings.commits_in_flight if store.dialect == "postgres" else 1,
    )
    service = ShipmentService(store, ledger, committer)
    subscriptions = SubscriptionStore(datastore)
    if settings.create_tables:
        subscriptions.create_tables()
    return Services(
        settings=settings,
        store=store,
        view=view,
        shipments=service,
        version_index=version_index,
        committer=committer,
        subscriptions=SubscriptionAdministration(
            subscriptions, store, allow_private=settings.webhook_allow_private
        ),
    )


async def open_document_reads(services: Services) -> DocumentReads | None:
    """The event-loop reader of the view's documents, or None where there can be none.

    Opened inside the running loop (the app's lifespan): an async pool belongs to it.
    """
    view = services.view
    datastore = services.store.factory.datastore  # type: ignore[attr-defined]
    if isinstance(view, PostgresShipmentView):
        return await PostgresDocumentReads.open(
            dict(datastore.pool.kwargs),
            view.documents_query,
            max_size=services.settings.pool_size + services.settings.pool_max_overflow,
            timeout=services.settings.store_timeout_seconds,
        )
    if isinstance(view, SQLiteShipmentView) and not datastore.pool.is_sqlite_memory_mode:
        return SQLiteDocumentReads(datastore.pool.db_name, view.document_query)
    return None


def _append_session(store: ShipmentStore, settings: Settings) -> AppendSession:
    """The append transaction of the store's own recorder."""
    recorder = store.recorder
    if isinstance(recorder, PostgresShipmentRecorder):
        return PostgresAppendSession(recorder, settings.store_timeout_seconds)
    assert isinstance(recorder, SQLiteShipmentRecorder)
    return SQLiteAppendSession(recorder)


def _version_index(
    datastore: PostgresDatastore | SQLiteDatastore, *, create_table: bool
) -> VersionIndex:
    """The as-of index in the events' own database (see ``projections.version_index``)."""
    index: PostgresVersionIndex | SQLiteVersionIndex = (
        PostgresVersionIndex(datastore)
        if isinstance(datastore, PostgresDatastore)
        else SQLiteVersionIndex(datastore)
    )
    if create_table:
        index.create_table()
    return index
