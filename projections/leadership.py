"""Who may run a view: one holder at a time, across processes and hosts.

Every server process starts a runner for each view; only the holder of the
view's lock runs it, the others stand by and try again now and then. The lock
belongs to a live process, never to a record that a crash could leave behind:

- PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) held on a
  dedicated connection. When the holder dies its connection closes and the
  server releases the lock (TCP keepalives bound how long a vanished host keeps it).
- SQLite: an OS file lock (``flock``) on a file beside the database. The kernel
  releases it when the holder's process ends, however it ends.

The lock is about efficiency, not correctness: view writes are keyed by
version and tracking positions only move forward, so two runners overlapping
for a moment (a holder that lost its connection but has not noticed yet) cannot
corrupt the view.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import select
import time
from abc import ABC, abstractmethod
from typing import IO, Any

import psycopg

from infrastructure.event_store import ShipmentStore

_log = logging.getLogger("shipments.projections")

# How often a holder asks PostgreSQL whether its session is still there, when its
# socket gave no sign of the session's end (a peer that vanished says nothing).
FULL_CHECK_SECONDS = 30.0


class Leadership(ABC):
    """A lock that at most one live runner holds."""

    @abstractmethod
    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; True if we hold it now."""

    @abstractmethod
    def still_held(self) -> bool:
        """Whether we still hold it (a lost database connection loses it)."""

    @abstractmethod
    def release(self) -> None:
        """Give it up (others may take it at once)."""

    @abstractmethod
    def close(self) -> None:
        """Release it and free what holding it needed."""


def _readable(connection: psycopg.Connection[Any]) -> bool:
    """Whether the server sent something unasked (it ends a session that way), or it is gone."""
    try:
        readable, _, _ = select.select([connection.fileno()], [], [], 0)
    except (OSError, ValueError, psycopg.Error):
        return True  # closed under us: the query that follows will say so
    return bool(readable)


class AdvisoryLock(Leadership):
    """A PostgreSQL session advisory lock on a connection of its own."""

    def __init__(self, connect_kwargs: dict[str, Any], key: int) -> None:
        self._connect_kwargs = connect_kwargs
        self._key = key
        self._connection: psycopg.Connection[Any] | None = None
        self._held = False
        self._checked_at = 0.0

    def try_acquire(self) -> bool:
        if self._held:
            return self.still_held()
        try:
            connection = self._connect()
            row = connection.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
        except psycopg.Error as error:
            _log.warning("cannot reach PostgreSQL for the projection lock: %s", error)
            self._disconnect()
            return False
        self._held = bool(row and row[0])
        self._checked_at = time.monotonic()
        return self._held

    def still_held(self) -> bool:
        """Asked every second by an idle runner: answered without a query when nothing changed.

        A session that the server ended (a restart, ``pg_terminate_backend``) makes its
        socket readable (the server's goodbye, then end of file): only then, and every
        ``FULL_CHECK_SECONDS``, is the connection asked. Otherwise every idle process
        would query once a second for a lock that is about efficiency only.
        """
        if not self._held or self._connection is None:
            return False
        now = time.monotonic()
        if not _readable(self._connection) and now - self._checked_at < FULL_CHECK_SECONDS:
            return True
        self._checked_at = now
        try:
            self._connection.execute("SELECT 1")
        except psycopg.Error:
            self._held = False
            self._disconnect()
        return self._held

    def release(self) -> None:
        if self._held and self._connection is not None:
            try:
                self._connection.execute("SELECT pg_advisory_unlock(%s)", (self._key,))
            except psycopg.Error:
                self._disconnect()  # closing the session releases it anyway
        self._held = False

    def close(self) -> None:
        self.release()
        self._disconnect()

    def _connect(self) -> psycopg.Connection[Any]:
        if self._connection is None or self._connection.closed:
            self._connection = psycopg.connect(**self._connect_kwargs, autocommit=True)
            # Let the server notice a vanished holder (and free the lock) within seconds.
            self._connection.execute("SET tcp_keepalives_idle = 5")
            self._connection.execute("SET tcp_keepalives_interval = 2")
            self._connection.execute("SET tcp_keepalives_count = 3")
        return self._connection

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class FileLock(Leadership):
    """An exclusive ``flock`` on a file; held per open file, released by the kernel on exit."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._file: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        if self._file is not None:
            return True
        lock_file = open(self._path, "ab")  # noqa: SIM115 - held open while the lock is held
        try:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.close()
            return False
        self._file = lock_file
        return True

    def still_held(self) -> bool:
        return self._file is not None

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def close(self) -> None:
        self.release()


def leadership_for(store: ShipmentStore, name: str) -> Leadership:
    """The lock named ``name`` for the store's database (one per view, one per rebuild)."""
    env = store.target.library_env
    if store.target.dialect == "sqlite":
        return FileLock(f"{os.path.abspath(env['SQLITE_DBNAME'])}.{name}.lock")
    schema = env.get("POSTGRES_SCHEMA", "public")
    # Advisory locks are per database: the schema is part of the name, so two
    # stores sharing a database (as the tests' schemas do) never share a lock.
    digest = hashlib.blake2b(f"shipments/{schema}/{name}".encode(), digest_size=8).digest()
    connect_kwargs = {
        "dbname": env["POSTGRES_DBNAME"],
        "host": env["POSTGRES_HOST"],
        "port": env["POSTGRES_PORT"],
        "user": env["POSTGRES_USER"],
        "password": env["POSTGRES_PASSWORD"],
        "connect_timeout": env.get("POSTGRES_CONNECT_TIMEOUT", "5"),
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 2,
        "keepalives_count": 3,
    }
    return AdvisoryLock(connect_kwargs, int.from_bytes(digest, "big", signed=True))
