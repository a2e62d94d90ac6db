"""The library's SQLite and PostgreSQL application recorders, extended.

Each creates the idempotency table beside the events table; the write path
appends through them in its own transaction, with the rows that commit with
the events (``infrastructure.append_sessions``, ``infrastructure.group_commit``).

The PostgreSQL one also appends without the library's table lock and in-transaction
``NOTIFY``, which made every append of every process wait for the one before it
to flush; its readers of the log read below a gap-safe horizon instead
(``infrastructure.log_horizon``), and followers are woken after commit
(``infrastructure.commit_signals``).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from eventsourcing.persistence import (
    ApplicationRecorder,
    Notification,
    OperationalError,
    StoredEvent,
    Subscription,
)
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from infrastructure.commit_signals import CommitSignal
from infrastructure.log_horizon import InFlightAppends, SettledPositions, settled_run
from infrastructure.sqlite_subscription import (
    CommitsElsewhere,
    ListeningPollingSubscription,
    PollingSubscription,
)
from infrastructure.store_retries import retry_once_unless_timed_out

IDEMPOTENCY_TABLE = "idempotency_keys"
ViewTable = tuple[str, str]
"""A view table's schema and name, whose rows carry each shipment's ``id`` and ``version``."""
PageReader = Callable[[Any, int, int, int], list[Notification]]
"""Reads the log's rows after a position, up to another, at most so many."""


@dataclass(frozen=True)
class UnprojectedPage:
    """Events a view lacks (and the page's last event), and whether the page was full."""

    notifications: list[Notification]
    full: bool


# Versions and log positions are signed 64-bit integers in both stores; a larger
# number names nothing (and must never reach a driver, which would fail on it).
MAX_POSITION = 2**63 - 1


class SQLiteShipmentRecorder(SQLiteApplicationRecorder):
    """SQLite recorder whose append transaction also runs the co-committed writes."""

    # How soon a subscriber sees an event appended by another process. Each look is a
    # ``PRAGMA data_version`` (``CommitsElsewhere``); the log is read only after a commit.
    poll_interval_seconds = 0.02
    # ... and while another process keeps committing (``sqlite_subscription.LookPace``).
    busy_poll_interval_seconds = 0.005
    # Shortest time between two reads of a subscriber (see ``PollingSubscription._pull``).
    min_pull_interval_seconds = 0.2

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)
        self._subscriptions: weakref.WeakSet[PollingSubscription] = weakref.WeakSet()

    def subscribe(
        self,
        gt: int | None = None,
        topics: Sequence[str] = (),
        *,
        projected_in: ViewTable | None = None,
        min_pull_interval_seconds: float | None = None,
    ) -> Subscription[ApplicationRecorder]:
        """Follow the log (the library leaves this unimplemented for SQLite): see
        ``infrastructure.sqlite_subscription``. Every event is read (``projected_in``
        is PostgreSQL's saving: SQLite reads its own file, without a round trip).
        ``min_pull_interval_seconds``: a follower that must see each commit at once
        (``infrastructure.log_follower``) reads without the runner's pause."""
        subscription = PollingSubscription(
            self,
            gt,
            topics,
            poll_interval_seconds=self.poll_interval_seconds,
            min_pull_interval_seconds=self.min_pull_interval_seconds
            if min_pull_interval_seconds is None
            else min_pull_interval_seconds,
            # In memory there is one process only, whose commits wake the subscription.
            commits_elsewhere=None
            if self.datastore.pool.is_sqlite_memory_mode
            else CommitsElsewhere(self.datastore.pool.db_name),
            busy_poll_interval_seconds=self.busy_poll_interval_seconds,
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

    def committed(self) -> None:
        """Events were committed (SQLite has one writer: only this process's followers to wake)."""
        self.wake_subscribers()

    def settled_head(self) -> int:
        """The highest position (0 for none): one writer commits positions in order."""
        return self.max_notification_id() or 0

    def close(self) -> None:
        """Nothing of its own to stop."""

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


class PostgresShipmentRecorder(PostgresApplicationRecorder):
    """PostgreSQL recorder: co-committed writes, appends that never wait for each other.

    Appends keep the library's insert (its composite type, its numbering by the
    ``notification_id`` sequence) but not its ``LOCK TABLE … IN EXCLUSIVE MODE`` nor
    its ``NOTIFY`` in the transaction: both serialise every append of every process
    across its commit's flush. Positions may then commit out of order, so every read
    of the log (``select_notifications``: the change feed, its SSE stream, the
    projection runner, a rebuild) goes through ``log_horizon``'s rule, and a head
    that a rebuild starts from is a settled one (``settled_head``).
    """

    # How soon a follower looks again without a signal after a read stopped short of a
    # position still in flight (``log_horizon``): no signal may come for it.
    poll_interval_seconds = 0.5
    # How long a follower trusts the signals alone (LISTEN, and this process's wake)
    # before it looks anyway: a process killed between its commit and its NOTIFY
    # sends none. At rest this is the only read a follower makes.
    unsignalled_poll_seconds = 30.0
    # Shortest time between two reads of a subscriber (see ``PollingSubscription._pull``).
    min_pull_interval_seconds = 0.2
    # Longest a reader waits for appends in flight before delivering what is settled.
    gap_wait_seconds = 1.0

    # Bounded retries, so an unreachable store answers 503 within its time-out.
    select_events = retry_once_unless_timed_out(PostgresApplicationRecorder.select_events)
    max_notification_id = retry_once_unless_timed_out(
        PostgresApplicationRecorder.max_notification_id
    )

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        if datastore.enable_db_functions:
            raise ValueError(
                "POSTGRES_ENABLE_DB_FUNCTIONS is not supported: its insert function NOTIFYs "
                "inside the append transaction"
            )
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
        self._in_flight = InFlightAppends(self.datastore.schema, self.events_table_name)
        self._settled = SettledPositions()
        self._reads = threading.local()  # per reading thread: did its last read stop short?
        self._page_sql = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {schema}.{table} WHERE notification_id > %s AND notification_id <= %s "
            "ORDER BY notification_id LIMIT %s"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        self._body_sql = SQL(
            "SELECT state FROM {schema}.{table} WHERE notification_id = %s"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        self._unprojected_sql: dict[ViewTable, Any] = {}
        self._signal = CommitSignal(datastore, self.channel_name)
        self._subscriptions: weakref.WeakSet[ListeningPollingSubscription] = weakref.WeakSet()

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        # The library's insert without its table lock and NOTIFY (see the class docstring).
        PostgresAggregateRecorder._insert_stored_events(self, curs, stored_events, **kwargs)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's insert (``Application.save``), then the after-commit wake."""
        notification_ids: Sequence[int] | None = self._insert_with_retries(stored_events, **kwargs)
        self.committed()
        return notification_ids

    _insert_with_retries = retry_once_unless_timed_out(PostgresApplicationRecorder.insert_events)

    def committed(self) -> None:
        """Events were committed: wake this process's followers now, and other processes'."""
        for subscription in list(self._subscriptions):
            subscription.wake()
        self._signal.committed()

    def subscribe(
        self,
        gt: int | None = None,
        topics: Sequence[str] = (),
        *,
        projected_in: ViewTable | None = None,
        min_pull_interval_seconds: float | None = None,
    ) -> Subscription[ApplicationRecorder]:
        """The library's subscription; with ``projected_in`` only what that view lacks.

        See ``select_unprojected``: every event the view's row is behind, and the
        last event of each page (so the follower's position moves on).
        ``min_pull_interval_seconds`` as for SQLite.
        """
        subscription = ListeningPollingSubscription(
            self,
            gt,
            topics,
            poll_interval_seconds=self.poll_interval_seconds,
            min_pull_interval_seconds=self.min_pull_interval_seconds
            if min_pull_interval_seconds is None
            else min_pull_interval_seconds,
            projected_in=projected_in,
        )
        self._subscriptions.add(subscription)
        return subscription

    @retry_once_unless_timed_out
    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        """The library's read of the log by position, stopping short of any position in flight.

        ``topics`` are filtered after the horizon is found, since holes can only be
        told among all positions.
        """
        after = 0 if start is None else (start - 1 if inclusive_of_start else start)
        upto = MAX_POSITION if stop is None else stop
        with self.datastore.get_connection() as connection, connection.cursor() as cursor:
            selected = self._settled_rows(cursor, after, upto, limit, self._page)
        if topics:
            selected = [row for row in selected if row.topic in topics]
        return selected

    @retry_once_unless_timed_out
    def select_unprojected(self, after: int, limit: int, view: ViewTable) -> UnprojectedPage:
        """The settled events after ``after`` that ``view`` has not projected yet, and a marker.

        What the projection runner follows. The write path projects nearly every event
        in its own transaction, so reading and decoding each one again was most of what
        following the log cost. Here the database compares each event with its view row
        and sends the body only of events the row is behind; of the rest only the last
        is sent, whole, so the runner's position moves up to it.
        """
        with self.datastore.get_connection() as connection, connection.cursor() as cursor:
            page = self._unprojected_page(view)
            rows = self._settled_rows(cursor, after, MAX_POSITION, limit, page)
            wanted = [row for row in rows[:-1] if row.state is not None]
            if rows:
                last = rows[-1]
                if last.state is None:
                    cursor.execute(self._body_sql, (last.id,), prepare=True)
                    body = cursor.fetchone()
                    last = replace(last, state=bytes(body["state"]) if body else b"")
                wanted.append(last)
        return UnprojectedPage(wanted, full=len(rows) >= limit)

    def _settled_rows(
        self, cursor: Cursor[DictRow], after: int, upto: int, limit: int, page: PageReader
    ) -> list[Notification]:
        """A page of the log after ``after``, cut below any position still in flight."""
        # Read before the rows: a position another thread finds final only after this
        # read may have committed after it, so only holes below a position known final
        # beforehand are rolled back. (Taken after, this let a reader pass a committed
        # event for good when the projection runner settled it in between.)
        final_before_read = self._settled.below
        rows = page(cursor, after, upto, limit)
        settled = settled_run(after, rows)
        if settled < len(rows):
            top = rows[-1].id
            if top <= final_before_read:
                settled = len(rows)  # holes below a final position are rolled back
            elif self._in_flight.wait_out(cursor, self.gap_wait_seconds):
                # Every append that could fill a hole has ended: all up to the
                # top read is final now, and a second read shows it.
                rows = page(cursor, after, top, limit)
                settled = len(rows)
                self._settled.raise_to(top)
        elif rows and after <= self._settled.below:
            self._settled.raise_to(rows[-1].id)
        self._reads.stopped_short = settled < len(rows)
        return rows[:settled]

    def last_read_stopped_short(self) -> bool:
        """Whether this thread's last read of the log left out rows behind a position in flight."""
        return bool(getattr(self._reads, "stopped_short", False))

    def _unprojected_page(self, view: ViewTable) -> PageReader:
        sql = self._unprojected_sql.get(view)
        if sql is None:
            sql = SQL(
                "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, "
                "CASE WHEN v.version IS NULL OR v.version < e.originator_version "
                "THEN e.state END AS state "
                "FROM {schema}.{events} e LEFT JOIN {view_schema}.{view} v "
                "ON v.id = e.originator_id "
                "WHERE e.notification_id > %s AND e.notification_id <= %s "
                "ORDER BY e.notification_id LIMIT %s"
            ).format(
                schema=Identifier(self.datastore.schema),
                events=Identifier(self.events_table_name),
                view_schema=Identifier(view[0]),
                view=Identifier(view[1]),
            )
            self._unprojected_sql[view] = sql

        def page(cursor: Cursor[DictRow], after: int, upto: int, limit: int) -> list[Notification]:
            return self._rows(cursor, sql, after, upto, limit)

        return page

    def settled_head(self, wait_seconds: float = 10.0) -> int:
        """The highest position below which nothing can commit any more (0 for none).

        What a rebuild reads up to before catching up by position: a head read while
        a lower position is in flight would let that event fall between the two.
        """
        with self.datastore.get_connection() as connection, connection.cursor() as cursor:
            cursor.execute(self.max_notification_id_statement)
            row = cursor.fetchone()
            head = int(row["max"] or 0) if row else 0
            if not self._in_flight.wait_out(cursor, wait_seconds):
                raise OperationalError("appends in flight did not end in time")
        self._settled.raise_to(head)
        return head

    def _page(
        self, cursor: Cursor[DictRow], after: int, upto: int, limit: int
    ) -> list[Notification]:
        return self._rows(cursor, self._page_sql, after, upto, limit)

    @staticmethod
    def _rows(
        cursor: Cursor[DictRow], sql: Any, after: int, upto: int, limit: int
    ) -> list[Notification]:
        cursor.execute(sql, (after, upto, limit), prepare=True)
        return [
            Notification(
                id=row["notification_id"],
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=None if row["state"] is None else bytes(row["state"]),  # type: ignore[arg-type]
            )
            for row in cursor.fetchall()
        ]

    def close(self) -> None:
        """Stop the after-commit signal (the datastore is closed by the library)."""
        self._signal.close()
