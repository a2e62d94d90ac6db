"""The event-store application: the library's ``Application`` configured for shipments."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder

from domain.shipment import Shipment
from infrastructure.database_url import DatabaseTarget, parse_database_url
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
        super().__init__(env=library_env(settings, self.target))
        if self.target.dialect == "sqlite":
            # The library's SQLite factory reads no pool size from its environment;
            # its default (5) is below the server's thread pool, and every request
            # over it would open and close a connection of its own.
            pool = self.factory.datastore.pool  # type: ignore[attr-defined]
            pool.pool_size = settings.pool_size
            pool.max_overflow = settings.pool_max_overflow

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_domain_transcodings(transcoder)

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
