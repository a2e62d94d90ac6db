"""The event-store application: the library's ``Application`` configured for shipments."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application, ProjectorFunction, project_aggregate
from eventsourcing.persistence import EventStore, InfrastructureFactory, JSONTranscoder
from eventsourcing.sqlite import SQLiteConnectionPool
from eventsourcing.utils import Environment

from domain.shipment import Shipment
from infrastructure.database_url import DatabaseTarget, parse_database_url
from infrastructure.master_key import MasterKey, resolve_master_key
from infrastructure.personal_data_keys import KeyRing, key_table_of
from infrastructure.personal_data_sealing import OpeningEventStore, SealingMapper
from infrastructure.recorders import (
    MAX_POSITION,
    PostgresShipmentRecorder,
    SQLiteShipmentRecorder,
)
from infrastructure.settings import Settings
from infrastructure.store_retries import FailFastPostgresFactory
from infrastructure.transcodings import register_domain_transcodings

__all__ = ["MAX_POSITION", "ShipmentStore", "library_env"]


class ShipmentStore(Application[UUID]):
    """Streams of shipment events, snapshots and the global notification log."""

    name = "ShipmentStore"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Shipment: 100}

    def __init__(self, settings: Settings) -> None:
        # Kept so that work spread over other processes can open the same store.
        self.settings = settings
        self.target: DatabaseTarget = parse_database_url(
            settings.database_url, timeout_seconds=settings.store_timeout_seconds
        )
        # Instance attribute on purpose: the interval is a setting, not a constant.
        self.snapshotting_intervals = {Shipment: settings.snapshot_interval}  # type: ignore[misc]
        # Resolved before the library builds its mapper (``construct_mapper``), which seals with it.
        self.master_key: MasterKey = resolve_master_key(settings, self.target)
        super().__init__(env=library_env(settings, self.target))
        self.mapper.keys.verify_master_key()
        if self.target.dialect == "sqlite":
            # The library's SQLite factory reads no pool size from its environment;
            # its default (5) is below the server's thread pool, and every request
            # over it would open and close a connection of its own.
            pool = self.factory.datastore.pool  # type: ignore[attr-defined]
            pool.pool_size = settings.pool_size
            pool.max_overflow = settings.pool_max_overflow

    def construct_factory(self, env: Environment) -> InfrastructureFactory:
        factory = super().construct_factory(env)
        datastore = getattr(factory, "datastore", None)
        if datastore is not None and isinstance(datastore.pool, SQLiteConnectionPool):
            _zero_freed_pages(datastore.pool)
        return factory

    def construct_mapper(self) -> SealingMapper:
        datastore = self.factory.datastore  # type: ignore[attr-defined]
        table = key_table_of(datastore, create_table=self.settings.create_tables)
        return SealingMapper(self.construct_transcoder(), KeyRing(self.master_key, table))

    def construct_event_store(self) -> EventStore[UUID]:
        return OpeningEventStore(self.mapper, self.recorder)

    def construct_snapshot_store(self) -> EventStore[UUID]:
        return OpeningEventStore(self.mapper, self.factory.aggregate_recorder(purpose="snapshots"))

    def take_snapshot(
        self,
        aggregate_id: UUID,
        version: int | None = None,
        projector_func: ProjectorFunction[Any, Any] = project_aggregate,
    ) -> None:
        """The library's snapshot, sealed under the key the state's values were sealed with.

        The keys are read before and after the state: when they differ, an erasure
        (and perhaps new data under a new key) came in between, and the snapshot is
        not taken (it only saves reading). Otherwise a later erasure destroys the
        key it is sealed with, as it does for the events.
        """
        mapper = self.mapper
        before = mapper.keys.of_shipment(aggregate_id)
        aggregate = self.repository.get(
            aggregate_id, version=version, projector_func=projector_func
        )
        snapshot = Shipment.Snapshot.take(aggregate)
        after = mapper.keys.of_shipment(aggregate_id)
        if before != after or (mapper.needs_key(snapshot) and not after):
            return
        assert self.snapshots is not None
        stored = mapper.seal(snapshot, after[0] if after else None)
        self.snapshots.recorder.insert_events([stored])

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_domain_transcodings(transcoder)

    mapper: SealingMapper

    @property
    def dialect(self) -> str:
        return self.target.dialect

    @property
    def shipment_recorder(self) -> PostgresShipmentRecorder | SQLiteShipmentRecorder:
        """The recorder with this service's additions (settled head, after-commit wake)."""
        recorder = self.recorder
        assert isinstance(recorder, PostgresShipmentRecorder | SQLiteShipmentRecorder)
        return recorder

    def close(self) -> None:
        self.shipment_recorder.close()
        super().close()


def library_env(settings: Settings, target: DatabaseTarget) -> dict[str, str]:
    """The eventsourcing environment for one store, derived from our settings only."""
    recorder = SQLiteShipmentRecorder if target.dialect == "sqlite" else PostgresShipmentRecorder
    env = {
        **target.library_env,
        "APPLICATION_RECORDER_TOPIC": f"{recorder.__module__}:{recorder.__qualname__}",
        "CREATE_TABLE": "y" if settings.create_tables else "n",
        "IS_SNAPSHOTTING_ENABLED": "y",
    }
    if target.dialect == "postgres":
        factory = FailFastPostgresFactory
        env["PERSISTENCE_MODULE"] = f"{factory.__module__}:{factory.__qualname__}"
        env["POSTGRES_POOL_SIZE"] = str(settings.pool_size)
        env["POSTGRES_MAX_OVERFLOW"] = str(settings.pool_max_overflow)
    return env


def _zero_freed_pages(pool: SQLiteConnectionPool) -> None:
    """Every connection of the pool with ``secure_delete`` on: SQLite then overwrites what
    an update or delete frees (an old view document, a destroyed key) with zeros, so no
    erased value lingers in the file's free space."""
    create = pool._create_connection

    def create_zeroing() -> Any:
        connection = create()
        connection._sqlite_conn.execute("PRAGMA secure_delete = ON")
        return connection

    pool._create_connection = create_zeroing  # type: ignore[method-assign]
