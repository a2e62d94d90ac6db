"""Builds the service's objects from settings, once per process, and closes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from api.store_kinds import store_kind_of
from infrastructure.append_sessions import AppendSession
from infrastructure.delivery.administration import SubscriptionAdministration
from infrastructure.delivery.subscription_store import SubscriptionStore
from infrastructure.event_store import ShipmentStore
from infrastructure.group_commit import GroupCommitter
from infrastructure.idempotency import IdempotencyLedger
from infrastructure.settings import Settings
from infrastructure.shipment_service import ShipmentService
from projections.document_reads import DocumentReads
from projections.shipment_view import ShipmentView
from projections.store_views import shipment_view_of
from projections.version_index import VersionIndex


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
    kind = store_kind_of(store)
    datastore = store.factory.datastore  # type: ignore[attr-defined]
    view = shipment_view_of(store)
    ledger = IdempotencyLedger(datastore, timedelta(hours=settings.idempotency_ttl_hours))
    version_index = kind.version_index(store, create_table=settings.create_tables)
    committer = GroupCommitter(
        store,
        kind.append_session(store, settings),
        view,
        [view, version_index],
        ledger,
        max_batch=settings.group_commit_max_batch if settings.group_commit else 1,
        recent_states_size=settings.recent_states_size,
        in_flight=kind.commits_in_flight(settings),
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
    kind = store_kind_of(services.store)
    return await kind.document_reads(services.store, services.view, services.settings)


def append_session(store: ShipmentStore, settings: Settings) -> AppendSession:
    """The append transaction of the store's own recorder (for tools that append in bulk)."""
    return store_kind_of(store).append_session(store, settings)
