"""When each version of each shipment was recorded: the index behind ``?asOf=``.

The stored events keep their timestamps inside the serialised state, where no
database index can reach them, so "which version was current at instant T" would
mean reading the whole stream. This table, (shipment, version, recorded_at)
with an index on (shipment, recorded_at), answers it with one indexed query
whatever the stream's length. The write path keeps it current inside the append
transaction (``statements_for``, like the shipment view); rows for streams
written before it existed are added on demand (see ``projections.as_of``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore, PostgresRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteRecorder
from psycopg.sql import SQL, Identifier

from domain.shipment import Shipment
from infrastructure.co_commit import Statement

VERSION_INDEX_TABLE = "shipment_versions"


@dataclass(frozen=True)
class RecordedVersion:
    """One version of one shipment and the instant its event was recorded."""

    shipment_id: UUID
    version: int
    recorded_at: datetime


def pending_versions(shipment: Shipment) -> list[RecordedVersion]:
    """The versions that saving ``shipment`` will append."""
    return [
        RecordedVersion(shipment.id, event.originator_version, event.timestamp)
        for event in shipment.pending_events
    ]


class VersionIndex(ABC):
    """What the as-of lookup needs from the index, on any store."""

    def statements_for(self, shipment: Shipment) -> Sequence[Statement]:
        """Index rows for the events about to be appended (run in the append transaction)."""
        return [self._insert_statement(row) for row in pending_versions(shipment)]

    @abstractmethod
    def _insert_statement(self, row: RecordedVersion) -> Statement:
        """An insert that leaves an existing row alone (re-indexing is harmless)."""

    @abstractmethod
    def add(self, rows: Sequence[RecordedVersion]) -> None:
        """Index versions outside a write (streams recorded before the index existed)."""

    @abstractmethod
    def next_indexed_version(self, shipment_id: UUID, after: int) -> int | None:
        """The lowest indexed version above ``after``, or None when there is none."""

    @abstractmethod
    def version_at(self, shipment_id: UUID, instant: datetime) -> int | None:
        """The version last recorded at or before ``instant``; None if none was."""


class SQLiteVersionIndex(SQLiteRecorder, VersionIndex):
    """The index as a table in the SQLite file next to the events.

    Instants are stored as fixed-width UTC text, so text order is time order.
    """

    def __init__(self, datastore: SQLiteDatastore) -> None:
        super().__init__(datastore)
        self._insert_sql = (
            f"INSERT INTO {VERSION_INDEX_TABLE} (shipment_id, version, recorded_at) "
            "VALUES (?, ?, ?) ON CONFLICT (shipment_id, version) DO NOTHING"
        )

    def construct_create_table_statements(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {VERSION_INDEX_TABLE} ("
            "shipment_id TEXT NOT NULL, version INTEGER NOT NULL, recorded_at TEXT NOT NULL, "
            "PRIMARY KEY (shipment_id, version))",
            f"CREATE INDEX IF NOT EXISTS {VERSION_INDEX_TABLE}_by_time "
            f"ON {VERSION_INDEX_TABLE} (shipment_id, recorded_at, version)",
        ]

    def _insert_statement(self, row: RecordedVersion) -> Statement:
        return Statement(self._insert_sql, self._params(row))

    def add(self, rows: Sequence[RecordedVersion]) -> None:
        with self.datastore.transaction(commit=True) as c:
            for row in rows:
                c.execute(self._insert_sql, self._params(row))

    def next_indexed_version(self, shipment_id: UUID, after: int) -> int | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT version FROM {VERSION_INDEX_TABLE} "
                "WHERE shipment_id = ? AND version > ? ORDER BY version LIMIT 1",
                (shipment_id.hex, after),
            )
            row = c.fetchone()
        return None if row is None else int(row["version"])

    def version_at(self, shipment_id: UUID, instant: datetime) -> int | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT version FROM {VERSION_INDEX_TABLE} "
                "WHERE shipment_id = ? AND recorded_at <= ? "
                "ORDER BY recorded_at DESC, version DESC LIMIT 1",
                (shipment_id.hex, _sortable(instant)),
            )
            row = c.fetchone()
        return None if row is None else int(row["version"])

    @staticmethod
    def _params(row: RecordedVersion) -> tuple[Any, ...]:
        return (row.shipment_id.hex, row.version, _sortable(row.recorded_at))


class PostgresVersionIndex(PostgresRecorder, VersionIndex):
    """The index as a table in the PostgreSQL schema of the events."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        super().__init__(datastore)
        table = SQL("{}.{}").format(Identifier(datastore.schema), Identifier(VERSION_INDEX_TABLE))
        self.sql_create_statements.extend(
            [
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    "shipment_id uuid NOT NULL, version bigint NOT NULL, "
                    "recorded_at timestamptz NOT NULL, PRIMARY KEY (shipment_id, version))"
                ).format(table),
                SQL(
                    "CREATE INDEX IF NOT EXISTS {} ON {} (shipment_id, recorded_at, version)"
                ).format(Identifier(f"{VERSION_INDEX_TABLE}_by_time"), table),
            ]
        )
        self._insert_sql = SQL(
            "INSERT INTO {} (shipment_id, version, recorded_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (shipment_id, version) DO NOTHING"
        ).format(table)
        self._next_sql = SQL(
            "SELECT version FROM {} WHERE shipment_id = %s AND version > %s "
            "ORDER BY version LIMIT 1"
        ).format(table)
        self._version_at_sql = SQL(
            "SELECT version FROM {} WHERE shipment_id = %s AND recorded_at <= %s "
            "ORDER BY recorded_at DESC, version DESC LIMIT 1"
        ).format(table)

    def _insert_statement(self, row: RecordedVersion) -> Statement:
        return Statement(self._insert_sql, (row.shipment_id, row.version, row.recorded_at))

    def add(self, rows: Sequence[RecordedVersion]) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.executemany(
                self._insert_sql, [(r.shipment_id, r.version, r.recorded_at) for r in rows]
            )

    def next_indexed_version(self, shipment_id: UUID, after: int) -> int | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._next_sql, (shipment_id, after), prepare=True)
            row = curs.fetchone()
        return None if row is None else int(row["version"])

    def version_at(self, shipment_id: UUID, instant: datetime) -> int | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._version_at_sql, (shipment_id, instant), prepare=True)
            row = curs.fetchone()
        return None if row is None else int(row["version"])


def _sortable(instant: datetime) -> str:
    """UTC, fixed width, microseconds: text comparison equals time comparison."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
