"""The baseline's storage: one row per shipment, ``(id, version, document)``.

Optimistic concurrency the classic CRUD way: ``UPDATE … WHERE id = ? AND
version = ?`` and a rowcount of 0 means another writer got there first.
PostgreSQL goes through an async psycopg pool in autocommit mode (each call is
one statement, so one round trip); SQLite through ``sqlite3`` with one
connection per worker thread, WAL journal and the default synchronous level —
the same durability as the event store's own SQLite recorder.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit
from uuid import UUID

import anyio.to_thread
import psycopg
from psycopg_pool import AsyncConnectionPool

CREATE_POSTGRES_TABLE = (
    "CREATE TABLE IF NOT EXISTS shipments "
    "(id uuid PRIMARY KEY, version integer NOT NULL, document json NOT NULL)"
)
CREATE_SQLITE_TABLE = (
    "CREATE TABLE IF NOT EXISTS shipments "
    "(id TEXT PRIMARY KEY, version INTEGER NOT NULL, document TEXT NOT NULL) WITHOUT ROWID"
)


class Documents(Protocol):
    """What the baseline's routes need from a store."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> None: ...
    async def get(self, shipment_id: UUID) -> tuple[int, str] | None: ...
    async def insert(self, shipment_id: UUID, document: str) -> None: ...
    async def update(self, shipment_id: UUID, expected_version: int, document: str) -> bool: ...


class PostgresDocuments:
    """Shipment rows in PostgreSQL, through an async connection pool."""

    def __init__(self, conninfo: str, schema: str | None, min_size: int, max_size: int) -> None:
        kwargs: dict[str, Any] = {"autocommit": True}
        if schema:
            kwargs["options"] = f"-c search_path={schema}"
        self._pool = AsyncConnectionPool(
            conninfo, kwargs=kwargs, min_size=min_size, max_size=max_size, open=False
        )

    async def open(self) -> None:
        await self._pool.open(wait=True)

    async def close(self) -> None:
        await self._pool.close()

    async def ping(self) -> None:
        async with self._pool.connection() as conn:
            await conn.execute("SELECT 1")

    async def get(self, shipment_id: UUID) -> tuple[int, str] | None:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT version, document::text FROM shipments WHERE id = %s", (shipment_id,)
            )
            row: tuple[int, str] | None = await cursor.fetchone()
            return row

    async def insert(self, shipment_id: UUID, document: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO shipments (id, version, document) VALUES (%s, 1, %s)",
                (shipment_id, document),
            )

    async def update(self, shipment_id: UUID, expected_version: int, document: str) -> bool:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "UPDATE shipments SET document = %s, version = version + 1 "
                "WHERE id = %s AND version = %s",
                (document, shipment_id, expected_version),
            )
            return cursor.rowcount == 1


class SQLiteDocuments:
    """Shipment rows in a SQLite file; calls run in worker threads, one connection each."""

    def __init__(self, path: str, busy_timeout_ms: int = 5000) -> None:
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    async def open(self) -> None:
        await self.ping()

    async def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()

    async def ping(self) -> None:
        await anyio.to_thread.run_sync(self._execute, "SELECT 1", ())

    async def get(self, shipment_id: UUID) -> tuple[int, str] | None:
        return await anyio.to_thread.run_sync(self._get, str(shipment_id))

    async def insert(self, shipment_id: UUID, document: str) -> None:
        await anyio.to_thread.run_sync(
            self._execute,
            "INSERT INTO shipments (id, version, document) VALUES (?, 1, ?)",
            (str(shipment_id), document),
        )

    async def update(self, shipment_id: UUID, expected_version: int, document: str) -> bool:
        changed = await anyio.to_thread.run_sync(
            self._execute,
            "UPDATE shipments SET document = ?, version = version + 1 WHERE id = ? AND version = ?",
            (document, str(shipment_id), expected_version),
        )
        return changed == 1

    def _get(self, shipment_id: str) -> tuple[int, str] | None:
        row: tuple[int, str] | None = (
            self._connection()
            .execute("SELECT version, document FROM shipments WHERE id = ?", (shipment_id,))
            .fetchone()
        )
        return row

    def _execute(self, sql: str, parameters: tuple[Any, ...]) -> int:
        return self._connection().execute(sql, parameters).rowcount

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            connection.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection


def open_documents(database_url: str, pool_size: int = 10, pool_max: int = 20) -> Documents:
    """The store a ``sqlite:///…`` or ``postgresql://…?schema=…`` URL names."""
    parts = urlsplit(database_url)
    if parts.scheme == "sqlite":
        return SQLiteDocuments(unquote(parts.path)[1:])
    schema, conninfo = _postgres_conninfo(database_url)
    return PostgresDocuments(conninfo, schema, pool_size, pool_max)


def create_table(database_url: str) -> None:
    """Create the shipments table once, before any worker starts."""
    parts = urlsplit(database_url)
    if parts.scheme == "sqlite":
        with sqlite3.connect(unquote(parts.path)[1:], isolation_level=None) as connection:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute(CREATE_SQLITE_TABLE)
        connection.close()
        return
    schema, conninfo = _postgres_conninfo(database_url)
    options = f"-c search_path={schema}" if schema else None
    with psycopg.connect(conninfo, autocommit=True, options=options) as conn:
        conn.execute(CREATE_POSTGRES_TABLE)


def _postgres_conninfo(database_url: str) -> tuple[str | None, str]:
    """Split our ``?schema=`` convention off a PostgreSQL URL that psycopg understands."""
    parts = urlsplit(database_url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"unsupported database URL {database_url!r}")
    schema = parse_qs(parts.query).get("schema", [None])[0]
    return schema, urlunsplit(parts._replace(query=""))
