"""The append transaction, per store: read and lock the current state, then append.

``Application.save`` builds the events before its transaction opens, so a write
saved through it was decided on state read earlier, and a race with another
writer can only be learnt from the store's refusal (and then decided again).
The group committer instead decides *inside* the transaction, on state read
there with the shipments' rows locked, so the append is at the version it was
decided on by construction. That needs the transaction open before the events
exist; these classes open it and, for the events themselves, call the recorder's
own insert, so the events table and its positions are the library's; followers
are woken after the commit (``committed``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteTransaction
from psycopg.sql import SQL

from infrastructure.co_commit import Statement, runs_of_same_sql
from infrastructure.recorders import PostgresShipmentRecorder, SQLiteShipmentRecorder

# The two-key advisory locks live apart from the one-key ones the projection
# leadership takes; this first key names ours.
_IDEMPOTENCY_LOCK_SPACE = 0x5348


class AppendSession(Protocol):
    """How the committer runs one batch's transaction on its store."""

    def transaction(self) -> Any:
        """A context manager: a cursor in a new write transaction, committed on a clean exit."""
        ...

    def lock_keys(self, cursor: Any, keys: Sequence[tuple[str, str]]) -> None:
        """Hold these Idempotency-Keys until commit (in one global order: no deadlock)."""
        ...

    def write(
        self, cursor: Any, statements: Sequence[Statement], events: Sequence[StoredEvent]
    ) -> None:
        """Run the co-committed statements, then append the events with the library's insert."""
        ...

    def committed(self) -> None:
        """Tell this process's subscribers that new events are there."""
        ...


class PostgresAppendSession:
    """A pipelined transaction on the library's pool, under a lock time-out."""

    def __init__(self, recorder: PostgresShipmentRecorder, lock_timeout_seconds: float) -> None:
        self._recorder = recorder
        self._set_lock_timeout = SQL(
            f"SET LOCAL lock_timeout = '{max(1, int(lock_timeout_seconds * 1000))}ms'"
        )
        self._lock_key = SQL("SELECT pg_advisory_xact_lock(%s, hashtext(%s))")

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        # The library's connection context translates driver errors into its own
        # (IntegrityError, OperationalError…), as for its own saves. The whole
        # transaction is pipelined, as the library's own insert is: BEGIN, the lock
        # time-out and the first read go out together, and so do the writes and COMMIT.
        error: BaseException | None = None
        with self._recorder.datastore.get_connection() as conn:
            with conn.pipeline():
                try:
                    with conn.transaction(), conn.cursor() as curs:
                        curs.execute(self._set_lock_timeout, prepare=True)
                        yield curs
                except Exception as raised:  # noqa: BLE001 - re-raised once the pipeline is closed
                    error = raised
            if error is not None:
                raise error

    def lock_keys(self, cursor: Any, keys: Sequence[tuple[str, str]]) -> None:
        for principal, key in sorted(set(keys)):
            cursor.execute(
                self._lock_key, (_IDEMPOTENCY_LOCK_SPACE, f"{principal}\n{key}"), prepare=True
            )

    def write(
        self, cursor: Any, statements: Sequence[Statement], events: Sequence[StoredEvent]
    ) -> None:
        # A nested pipeline block syncs on exit: a refused insert raises here (as the
        # library's own insert makes it), not later at COMMIT as some other error.
        with cursor.connection.pipeline():
            for sql, params in runs_of_same_sql(statements):
                if len(params) == 1:
                    cursor.execute(sql, params[0], prepare=True)
                else:
                    cursor.executemany(sql, params)
            if events:
                # The library's insert, without a table lock or NOTIFY: appends in
                # flight overlap, and readers keep to the gap-safe horizon.
                self._recorder._insert_stored_events(cursor, events)

    def committed(self) -> None:
        self._recorder.committed()


class _ImmediateTransaction(SQLiteTransaction):
    """The library's SQLite transaction (and its error translation), begun IMMEDIATE.

    A deferred transaction that reads and then writes fails at once when another
    connection wrote in between; IMMEDIATE takes SQLite's one write lock first
    (waiting up to the busy time-out), so what the committer reads stays current.
    """

    def __enter__(self) -> Any:
        cursor = self.connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        return cursor


class SQLiteAppendSession:
    """A transaction holding SQLite's write lock from its first statement."""

    def __init__(self, recorder: SQLiteShipmentRecorder) -> None:
        self._recorder = recorder

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        datastore = self._recorder.datastore
        with (
            datastore.get_connection(commit=True) as connection,
            _ImmediateTransaction(connection, commit=True) as cursor,
            cursor,
        ):
            yield cursor

    def lock_keys(self, cursor: Any, keys: Sequence[tuple[str, str]]) -> None:
        """Nothing to do: the write lock already serialises every append transaction."""

    def write(
        self, cursor: Any, statements: Sequence[Statement], events: Sequence[StoredEvent]
    ) -> None:
        for sql, params in runs_of_same_sql(statements):
            cursor.executemany(sql, params)
        if events:
            self._recorder._insert_events(cursor, events)

    def committed(self) -> None:
        self._recorder.committed()
