"""The library's SQLite and PostgreSQL application recorders, extended by one hook.

Each runs the ``co_commit`` statements handed to ``Application.save`` in the
transaction that appends the events (see ``infrastructure.co_commit``), and
creates the idempotency table beside the events table.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, StoredEvent, Subscription
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from infrastructure.co_commit import CO_COMMIT_KWARG, Statement
from infrastructure.sqlite_subscription import PollingSubscription
from infrastructure.store_retries import retry_once_unless_timed_out

IDEMPOTENCY_TABLE = "idempotency_keys"


class SQLiteShipmentRecorder(SQLiteApplicationRecorder):
    """SQLite recorder whose append transaction also runs the co-committed writes."""

    # How soon a subscriber sees an event appended by another process.
    poll_interval_seconds = 0.05

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)
        self._subscriptions: weakref.WeakSet[PollingSubscription] = weakref.WeakSet()

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        """Follow the log (the library leaves this unimplemented for SQLite): see
        ``infrastructure.sqlite_subscription``."""
        subscription = PollingSubscription(
            self, gt, topics, poll_interval_seconds=self.poll_interval_seconds
        )
        self._subscriptions.add(subscription)
        return subscription

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super().insert_events(stored_events, **kwargs)
        self.wake_subscribers()
        return notification_ids

    def wake_subscribers(self) -> None:
        """New events are committed: this process's subscribers look now, not at their next poll."""
        for subscription in list(self._subscriptions):
            subscription.wake()

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {IDEMPOTENCY_TABLE} ("
            "principal TEXT NOT NULL, idempotency_key TEXT NOT NULL, "
            "fingerprint TEXT NOT NULL, shipment_id TEXT NOT NULL, "
            "version INTEGER NOT NULL, status_code INTEGER NOT NULL, "
            "created_at TEXT NOT NULL, "
            "PRIMARY KEY (principal, idempotency_key))",
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        statement: Statement
        for statement in kwargs.get(CO_COMMIT_KWARG, ()):
            c.execute(statement.sql, statement.params)
        return notification_ids


class PostgresShipmentRecorder(PostgresApplicationRecorder):
    """PostgreSQL recorder whose append transaction also runs the co-committed writes."""

    # Bounded retries, so an unreachable store answers 503 within its time-out.
    insert_events = retry_once_unless_timed_out(PostgresApplicationRecorder.insert_events)
    select_events = retry_once_unless_timed_out(PostgresApplicationRecorder.select_events)
    select_notifications = retry_once_unless_timed_out(
        PostgresApplicationRecorder.select_notifications
    )
    max_notification_id = retry_once_unless_timed_out(
        PostgresApplicationRecorder.max_notification_id
    )

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{table} ("
                "principal text NOT NULL, idempotency_key text NOT NULL, "
                "fingerprint text NOT NULL, shipment_id uuid NOT NULL, "
                "version bigint NOT NULL, status_code integer NOT NULL, "
                "created_at timestamptz NOT NULL, "
                "PRIMARY KEY (principal, idempotency_key))"
            ).format(schema=Identifier(self.datastore.schema), table=Identifier(IDEMPOTENCY_TABLE))
        )

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        # Runs before the library takes its table lock and inserts the events, in
        # the same transaction. Row locks taken here come before the table lock in
        # every transaction, so two appends can never wait on each other in a cycle.
        super()._insert_events(curs, stored_events, **kwargs)
        for sql, params in runs_of_same_sql(kwargs.get(CO_COMMIT_KWARG, ())):
            if len(params) == 1:
                curs.execute(sql, params[0], prepare=True)
            else:
                # A group-committed batch repeats each statement once per write; one
                # executemany converts the query once instead of once per row.
                curs.executemany(sql, params)


def runs_of_same_sql(
    statements: Sequence[Statement],
) -> list[tuple[Any, list[Sequence[Any] | Mapping[str, Any]]]]:
    """Consecutive statements with the same SQL object, as (sql, [params, …]) in order."""
    runs: list[tuple[Any, list[Sequence[Any] | Mapping[str, Any]]]] = []
    for statement in statements:
        if runs and runs[-1][0] is statement.sql:
            runs[-1][1].append(statement.params)
        else:
            runs.append((statement.sql, [statement.params]))
    return runs
