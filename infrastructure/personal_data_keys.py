"""Each shipment's personal-data key, stored wrapped by the master key; destroyed on erasure.

A shipment's personal values are sealed under a key of its own
(``personal_data_sealing``), so that forgetting them all — in every event,
snapshot and copy ever made of them — is deleting one row here (crypto-shredding).
The row holds the key wrapped by the master key (``master_key``), bound to its
shipment and key id, so a row copied to another shipment opens nothing.

Keys are looked up by key id (a sealed value names the key that sealed it): after
an erasure a shipment may get a new key for new data, and the values sealed under
the destroyed one stay unreadable. Nothing here caches whether a key exists: a key
destroyed by another process must be missing for this one's next read too. Only
the unwrapping (pure: same row, same key) is remembered.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore, PostgresRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteRecorder
from psycopg.sql import SQL, Identifier

from infrastructure.bounded_cache import BoundedCache
from infrastructure.co_commit import Statement
from infrastructure.master_key import KEY_BYTES, MasterKey

KEYS_TABLE = "personal_data_keys"
MASTER_CHECK_TABLE = "personal_data_master_key"
KEY_ID_BYTES = 16
_UNWRAPPED_KEPT = 10_000


@dataclass(frozen=True)
class StreamKey:
    """One shipment's key: its id (named by what it sealed) and its secret bytes."""

    shipment_id: UUID
    key_id: bytes
    secret: bytes


@dataclass(frozen=True)
class WrappedKey:
    """A key row as stored."""

    shipment_id: UUID
    key_id: bytes
    wrapped: bytes


class KeyTable(ABC):
    """The keys table on one store: statements for the append transaction, and lookups."""

    @abstractmethod
    def insert_statement(self, row: WrappedKey) -> Statement:
        """Store a new key (run in the transaction that appends what it seals)."""

    @abstractmethod
    def insert(self, row: WrappedKey) -> None:
        """Store a new key now, in a transaction of its own."""

    @abstractmethod
    def delete_statement(self, key_id: bytes) -> Statement:
        """Destroy a key (run in the erasure's transaction)."""

    @abstractmethod
    def of_shipments_in(self, cursor: Any, shipment_ids: Collection[UUID]) -> list[WrappedKey]:
        """The keys of these shipments, read in the caller's transaction."""

    @abstractmethod
    def by_ids(self, key_ids: Collection[bytes], cursor: Any = None) -> list[WrappedKey]:
        """The keys with these ids that still exist (one query: in ``cursor``'s
        transaction when given, else on a connection of its own)."""

    @abstractmethod
    def of_shipment(self, shipment_id: UUID) -> list[WrappedKey]:
        """One shipment's keys (its own connection)."""

    @abstractmethod
    def check_value(self) -> bytes | None:
        """The master key's check value kept in the store (None: none yet)."""

    @abstractmethod
    def keep_check_value(self, value: bytes) -> None:
        """Keep the master key's check value, unless one is kept already."""


class KeyRing:
    """Makes, wraps, finds and unwraps shipments' keys under one master key."""

    def __init__(self, master: MasterKey, table: KeyTable) -> None:
        self.master = master
        self.table = table
        self._unwrapped: BoundedCache[tuple[UUID, bytes, bytes], bytes] = BoundedCache(
            _UNWRAPPED_KEPT
        )

    def verify_master_key(self) -> None:
        """Refuse a master key other than the one the store's keys were wrapped with."""
        kept = self.table.check_value()
        if kept is None:
            self.table.keep_check_value(self.master.check_value())
            kept = self.table.check_value()
        assert kept is not None
        self.master.verify(kept)

    def new_key(self, shipment_id: UUID) -> tuple[StreamKey, Statement]:
        """A fresh key for ``shipment_id`` and the statement that stores it wrapped."""
        key = StreamKey(shipment_id, os.urandom(KEY_ID_BYTES), os.urandom(KEY_BYTES))
        wrapped = self.master.seal(key.secret, _binding(shipment_id, key.key_id))
        return key, self.table.insert_statement(WrappedKey(shipment_id, key.key_id, wrapped))

    def store_new_key(self, shipment_id: UUID) -> StreamKey:
        """A fresh key for ``shipment_id``, stored now (for saves outside the append path)."""
        key = StreamKey(shipment_id, os.urandom(KEY_ID_BYTES), os.urandom(KEY_BYTES))
        wrapped = self.master.seal(key.secret, _binding(shipment_id, key.key_id))
        self.table.insert(WrappedKey(shipment_id, key.key_id, wrapped))
        return key

    def destroy(self, keys: Iterable[StreamKey]) -> list[Statement]:
        """The statements that destroy ``keys`` (and this process forgets them at once)."""
        return [self.table.delete_statement(key.key_id) for key in keys]

    def current_in(
        self, cursor: Any, shipment_ids: Collection[UUID]
    ) -> dict[UUID, list[StreamKey]]:
        """Every key of these shipments, read in the caller's (append) transaction."""
        found: dict[UUID, list[StreamKey]] = {}
        for row in self.table.of_shipments_in(cursor, shipment_ids):
            found.setdefault(row.shipment_id, []).append(self.unwrap(row))
        return found

    def of_shipment(self, shipment_id: UUID) -> list[StreamKey]:
        """One shipment's existing keys (for work outside the append path: snapshots)."""
        return [self.unwrap(row) for row in self.table.of_shipment(shipment_id)]

    def existing(self, key_ids: Collection[bytes], cursor: Any = None) -> dict[bytes, StreamKey]:
        """The keys among ``key_ids`` that still exist, read now (an erased one is absent);
        in ``cursor``'s transaction when given (a caller that holds one must not ask the
        pool for a second connection: on SQLite, with writers queued, none may come)."""
        if not key_ids:
            return {}
        return {row.key_id: self.unwrap(row) for row in self.table.by_ids(key_ids, cursor)}

    def unwrap(self, row: WrappedKey) -> StreamKey:
        """The key a row holds (remembered: the same row always holds the same key)."""
        cache_key = (row.shipment_id, row.key_id, row.wrapped)
        secret = self._unwrapped.get(cache_key)
        if secret is None:
            secret = self.master.open(row.wrapped, _binding(row.shipment_id, row.key_id))
            self._unwrapped.put(cache_key, secret)
        return StreamKey(row.shipment_id, row.key_id, secret)


def _binding(shipment_id: UUID, key_id: bytes) -> bytes:
    """What a wrapped key is bound to: its shipment and its id."""
    return shipment_id.bytes + key_id


class SQLiteKeyTable(SQLiteRecorder, KeyTable):
    """The keys in the SQLite file beside the events."""

    def __init__(self, datastore: SQLiteDatastore) -> None:
        super().__init__(datastore)
        self._insert = f"INSERT INTO {KEYS_TABLE} (key_id, shipment_id, wrapped) VALUES (?, ?, ?)"
        self._delete = f"DELETE FROM {KEYS_TABLE} WHERE key_id = ?"

    def construct_create_table_statements(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {KEYS_TABLE} (key_id BLOB PRIMARY KEY, "
            "shipment_id TEXT NOT NULL, wrapped BLOB NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {KEYS_TABLE}_by_shipment ON {KEYS_TABLE} (shipment_id)",
            f"CREATE TABLE IF NOT EXISTS {MASTER_CHECK_TABLE} ("
            "id INTEGER PRIMARY KEY CHECK (id = 1), check_value BLOB NOT NULL)",
        ]

    def insert_statement(self, row: WrappedKey) -> Statement:
        return Statement(self._insert, (row.key_id, row.shipment_id.hex, row.wrapped))

    def insert(self, row: WrappedKey) -> None:
        statement = self.insert_statement(row)
        with self.datastore.transaction(commit=True) as c:
            c.execute(statement.sql, statement.params)

    def delete_statement(self, key_id: bytes) -> Statement:
        return Statement(self._delete, (key_id,))

    def of_shipments_in(self, cursor: Any, shipment_ids: Collection[UUID]) -> list[WrappedKey]:
        marks = ",".join("?" * len(shipment_ids))
        cursor.execute(
            f"SELECT key_id, shipment_id, wrapped FROM {KEYS_TABLE} WHERE shipment_id IN ({marks})",
            [i.hex for i in shipment_ids],
        )
        return [_row(r) for r in cursor.fetchall()]

    def by_ids(self, key_ids: Collection[bytes], cursor: Any = None) -> list[WrappedKey]:
        marks = ",".join("?" * len(key_ids))
        sql = f"SELECT key_id, shipment_id, wrapped FROM {KEYS_TABLE} WHERE key_id IN ({marks})"
        if cursor is not None:
            cursor.execute(sql, list(key_ids))
            return [_row(r) for r in cursor.fetchall()]
        with self.datastore.transaction(commit=False) as c:
            c.execute(sql, list(key_ids))
            return [_row(r) for r in c.fetchall()]

    def of_shipment(self, shipment_id: UUID) -> list[WrappedKey]:
        with self.datastore.transaction(commit=False) as c:
            return self.of_shipments_in(c, [shipment_id])

    def check_value(self) -> bytes | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT check_value FROM {MASTER_CHECK_TABLE} WHERE id = 1")
            row = c.fetchone()
        return None if row is None else bytes(row["check_value"])

    def keep_check_value(self, value: bytes) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"INSERT INTO {MASTER_CHECK_TABLE} (id, check_value) VALUES (1, ?) "
                "ON CONFLICT (id) DO NOTHING",
                (value,),
            )


class PostgresKeyTable(PostgresRecorder, KeyTable):
    """The keys in the PostgreSQL schema of the events."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        super().__init__(datastore)
        table = SQL("{}.{}").format(Identifier(datastore.schema), Identifier(KEYS_TABLE))
        check = SQL("{}.{}").format(Identifier(datastore.schema), Identifier(MASTER_CHECK_TABLE))
        self.sql_create_statements.extend(
            [
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} (key_id bytea PRIMARY KEY, "
                    "shipment_id uuid NOT NULL, wrapped bytea NOT NULL)"
                ).format(table),
                SQL("CREATE INDEX IF NOT EXISTS {} ON {} (shipment_id)").format(
                    Identifier(f"{KEYS_TABLE}_by_shipment"), table
                ),
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    "id integer PRIMARY KEY CHECK (id = 1), check_value bytea NOT NULL)"
                ).format(check),
            ]
        )
        self._insert = SQL(
            "INSERT INTO {} (key_id, shipment_id, wrapped) VALUES (%s, %s, %s)"
        ).format(table)
        self._delete = SQL("DELETE FROM {} WHERE key_id = %s").format(table)
        self._of_shipments = SQL(
            "SELECT key_id, shipment_id, wrapped FROM {} WHERE shipment_id = ANY(%s)"
        ).format(table)
        self._by_ids = SQL(
            "SELECT key_id, shipment_id, wrapped FROM {} WHERE key_id = ANY(%s)"
        ).format(table)
        self._check = SQL("SELECT check_value FROM {} WHERE id = 1").format(check)
        self._keep_check = SQL(
            "INSERT INTO {} (id, check_value) VALUES (1, %s) ON CONFLICT (id) DO NOTHING"
        ).format(check)

    def insert_statement(self, row: WrappedKey) -> Statement:
        return Statement(self._insert, (row.key_id, row.shipment_id, row.wrapped))

    def insert(self, row: WrappedKey) -> None:
        statement = self.insert_statement(row)
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(statement.sql, statement.params)

    def delete_statement(self, key_id: bytes) -> Statement:
        return Statement(self._delete, (key_id,))

    def of_shipments_in(self, cursor: Any, shipment_ids: Collection[UUID]) -> list[WrappedKey]:
        cursor.execute(self._of_shipments, (list(shipment_ids),), prepare=True)
        return [_row(r) for r in cursor.fetchall()]

    def by_ids(self, key_ids: Collection[bytes], cursor: Any = None) -> list[WrappedKey]:
        if cursor is not None:
            cursor.execute(self._by_ids, (list(key_ids),), prepare=True)
            return [_row(r) for r in cursor.fetchall()]
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._by_ids, (list(key_ids),), prepare=True)
            return [_row(r) for r in curs.fetchall()]

    def of_shipment(self, shipment_id: UUID) -> list[WrappedKey]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            return self.of_shipments_in(curs, [shipment_id])

    def check_value(self) -> bytes | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._check)
            row = curs.fetchone()
        return None if row is None else bytes(row["check_value"])

    def keep_check_value(self, value: bytes) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._keep_check, (value,))


def _row(row: Any) -> WrappedKey:
    shipment_id = row["shipment_id"]
    return WrappedKey(
        shipment_id if isinstance(shipment_id, UUID) else UUID(shipment_id),
        bytes(row["key_id"]),
        bytes(row["wrapped"]),
    )


def key_table_of(datastore: PostgresDatastore | SQLiteDatastore, *, create_table: bool) -> KeyTable:
    """The keys table of the events' own store."""
    table: PostgresKeyTable | SQLiteKeyTable = (
        PostgresKeyTable(datastore)
        if isinstance(datastore, PostgresDatastore)
        else SQLiteKeyTable(datastore)
    )
    if create_table:
        table.create_table()
    return table
