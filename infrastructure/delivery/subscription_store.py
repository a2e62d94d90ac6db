"""Subscriptions and their latest delivery attempts, in the events' own database.

One implementation for both stores: the statements are plain SQL both accept,
written with ``%s`` placeholders (SQLite's ``?`` substituted), and only the
tables' DDL differs. Every change that must not race with a deliverer is one
``UPDATE … WHERE`` that says what it expects (the lease holder, the revision a
person last made) and ``RETURNING`` whether it matched, so it needs no locks
held across a delivery.

Which process delivers a subscription is a **lease** on its row (owner, expiry),
not a PostgreSQL advisory lock: the same statement works on SQLite, across
processes and hosts; a crashed holder's lease simply runs out; and the deliverer
commits a position only while it still holds the lease (``WHERE lease_owner``),
so a holder that stalled past its expiry cannot move a position another moved.

Deliverers also say they are alive (``present``, a row each with an expiry like a
lease's), so that each can count its live peers and take only its share of the
subscriptions (``delivery_shares``) instead of the first one up taking them all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from infrastructure.delivery.subscription_signals import (
    ChangeListener,
    CommitWatcher,
    Listener,
    notify_changed,
)
from infrastructure.delivery.subscriptions import (
    ROTATION_OVERLAP_SECONDS,
    DeliveryAttempt,
    Subscription,
    SubscriptionChanges,
    SubscriptionNotFound,
    SubscriptionStatus,
    new_secret,
)
from infrastructure.errors import store_errors

SUBSCRIPTIONS_TABLE = "subscriptions"
DELIVERIES_TABLE = "subscription_deliveries"
DELIVERERS_TABLE = "subscription_deliverers"
# Attempts kept per subscription (the API shows the latest; older ones are trimmed).
KEPT_ATTEMPTS = 200
# Longest error text kept: a short excerpt, never a receiver's whole answer.
ERROR_EXCERPT_CHARS = 300

_COLUMNS = (
    "id, url, types, description, status, position, created_at, secret, previous_secret, "
    "previous_secret_until, revision, failures, next_attempt_at, last_error, last_attempt_at"
)
_READ_COLUMNS = _COLUMNS + ", lease_owner, lease_until"


class SubscriptionStore:
    """Adds, changes and reads subscriptions; leases and positions for the deliverers."""

    def __init__(self, datastore: SQLiteDatastore | PostgresDatastore) -> None:
        self._datastore = datastore
        self._postgres = isinstance(datastore, PostgresDatastore)
        if isinstance(datastore, PostgresDatastore):
            schema = '"' + datastore.schema.replace('"', '""') + '".'
        else:
            schema = ""
        self._subscriptions = f"{schema}{SUBSCRIPTIONS_TABLE}"
        self._deliveries = f"{schema}{DELIVERIES_TABLE}"
        self._deliverers = f"{schema}{DELIVERERS_TABLE}"

    # -- tables ---------------------------------------------------------------------------

    def create_tables(self) -> None:
        """Create the tables if missing (idempotent: a store made before one was added gets it)."""
        serial = (
            "bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
            if self._postgres
            else "INTEGER PRIMARY KEY AUTOINCREMENT"
        )
        with self._cursor(commit=True) as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self._subscriptions} ("
                "id TEXT PRIMARY KEY, url TEXT NOT NULL, types TEXT NOT NULL, "
                "description TEXT, status TEXT NOT NULL, position BIGINT NOT NULL, "
                "created_at DOUBLE PRECISION NOT NULL, secret TEXT NOT NULL, "
                "previous_secret TEXT, previous_secret_until DOUBLE PRECISION, "
                "revision BIGINT NOT NULL, failures INTEGER NOT NULL, "
                "next_attempt_at DOUBLE PRECISION, last_error TEXT, "
                "last_attempt_at DOUBLE PRECISION, lease_owner TEXT, "
                "lease_until DOUBLE PRECISION)"
            )
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self._deliveries} ("
                f"seq {serial}, subscription_id TEXT NOT NULL, position BIGINT NOT NULL, "
                "message_id TEXT NOT NULL, attempt INTEGER NOT NULL, status_code INTEGER, "
                "error TEXT, duration_ms DOUBLE PRECISION NOT NULL, "
                "at DOUBLE PRECISION NOT NULL)"
            )
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {DELIVERIES_TABLE}_by_subscription "
                f"ON {self._deliveries} (subscription_id, seq)"
            )
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self._deliverers} ("
                "owner TEXT PRIMARY KEY, scope TEXT NOT NULL, "
                "seen_until DOUBLE PRECISION NOT NULL)"
            )

    # -- what people do -------------------------------------------------------------------

    def add(
        self,
        url: str,
        types: Sequence[str],
        description: str | None,
        position: int,
        now: float,
    ) -> Subscription:
        """A new, active subscription that delivers what comes after ``position``."""
        subscription = Subscription(
            id=uuid4(),
            url=url,
            types=tuple(types),
            description=description,
            status=SubscriptionStatus.ACTIVE,
            position=position,
            created_at=now,
            secret=new_secret(),
            previous_secret=None,
            previous_secret_until=None,
            revision=1,
            failures=0,
            next_attempt_at=None,
            last_error=None,
            last_attempt_at=None,
        )
        with self._cursor(commit=True) as cursor:
            self._execute(
                cursor,
                f"INSERT INTO {self._subscriptions} ({_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    str(subscription.id),
                    url,
                    json.dumps(list(types)),
                    description,
                    subscription.status.value,
                    position,
                    now,
                    subscription.secret,
                    None,
                    None,
                    1,
                    0,
                    None,
                    None,
                    None,
                ),
            )
            self._signal_change(cursor)
        return subscription

    def get(self, subscription_id: UUID) -> Subscription:
        """The subscription, or ``SubscriptionNotFound``."""
        with self._cursor(commit=False) as cursor:
            self._execute(
                cursor,
                f"SELECT {_READ_COLUMNS} FROM {self._subscriptions} WHERE id = %s",
                (str(subscription_id),),
            )
            row = cursor.fetchone()
        if row is None:
            raise SubscriptionNotFound(subscription_id)
        return _subscription(row)

    def all(self) -> list[Subscription]:
        """Every subscription, oldest first."""
        with self._cursor(commit=False) as cursor:
            self._execute(
                cursor,
                f"SELECT {_READ_COLUMNS} FROM {self._subscriptions} ORDER BY created_at, id",
                (),
            )
            rows = cursor.fetchall()
        return [_subscription(row) for row in rows]

    def change(self, subscription_id: UUID, changes: SubscriptionChanges) -> Subscription:
        """Apply a person's changes; a new revision makes a deliverer re-read the row.

        Re-enabling (status ``active``) or moving the position starts the event at the
        position afresh: no failures counted, no retry pending.
        """
        sets: list[str] = ["revision = revision + 1"]
        params: list[Any] = []
        if changes.url is not None:
            sets.append("url = %s")
            params.append(changes.url)
        if changes.types is not None:
            sets.append("types = %s")
            params.append(json.dumps(list(changes.types)))
        if changes.description is not None or changes.clear_description:
            sets.append("description = %s")
            params.append(changes.description)
        if changes.position is not None:
            sets.append("position = %s")
            params.append(changes.position)
        if changes.status is not None:
            sets.append("status = %s")
            params.append(changes.status.value)
        if changes.status is SubscriptionStatus.ACTIVE or changes.position is not None:
            sets.append("failures = 0, next_attempt_at = NULL")
        with self._cursor(commit=True) as cursor:
            self._execute(
                cursor,
                f"UPDATE {self._subscriptions} SET {', '.join(sets)} WHERE id = %s RETURNING id",
                (*params, str(subscription_id)),
            )
            if cursor.fetchone() is None:
                raise SubscriptionNotFound(subscription_id)
            self._signal_change(cursor)
        return self.get(subscription_id)

    def rotate_secret(self, subscription_id: UUID, now: float) -> str:
        """A new secret; the old one still signs deliveries for 24 hours."""
        secret = new_secret()
        with self._cursor(commit=True) as cursor:
            self._execute(
                cursor,
                f"UPDATE {self._subscriptions} SET previous_secret = secret, secret = %s, "
                "previous_secret_until = %s, revision = revision + 1 WHERE id = %s RETURNING id",
                (secret, now + ROTATION_OVERLAP_SECONDS, str(subscription_id)),
            )
            if cursor.fetchone() is None:
                raise SubscriptionNotFound(subscription_id)
        return secret

    def remove(self, subscription_id: UUID) -> bool:
        """Forget the subscription and its attempts; False when there was none."""
        with self._cursor(commit=True) as cursor:
            self._execute(
                cursor,
                f"DELETE FROM {self._deliveries} WHERE subscription_id = %s",
                (str(subscription_id),),
            )
            self._execute(
                cursor,
                f"DELETE FROM {self._subscriptions} WHERE id = %s RETURNING id",
                (str(subscription_id),),
            )
            removed = cursor.fetchone() is not None
            self._signal_change(cursor)
            return removed

    def attempts(self, subscription_id: UUID, limit: int) -> list[DeliveryAttempt]:
        """The latest delivery attempts, newest first."""
        with self._cursor(commit=False) as cursor:
            self._execute(
                cursor,
                "SELECT position, message_id, attempt, status_code, error, duration_ms, at "
                f"FROM {self._deliveries} WHERE subscription_id = %s ORDER BY seq DESC LIMIT %s",
                (str(subscription_id), limit),
            )
            rows = cursor.fetchall()
        return [
            DeliveryAttempt(
                subscription_id,
                int(row["position"]),
                row["message_id"],
                int(row["attempt"]),
                None if row["status_code"] is None else int(row["status_code"]),
                row["error"],
                float(row["duration_ms"]),
                float(row["at"]),
            )
            for row in rows
        ]

    # -- what deliverers do ---------------------------------------------------------------

    def take_lease(self, subscription_id: UUID, owner: str, now: float, until: float) -> bool:
        """Hold (or keep holding) the right to deliver this subscription until ``until``."""
        with self._cursor(commit=True) as cursor:
            self._execute(
                cursor,
                f"UPDATE {self._subscriptions} SET lease_owner = %s, lease_until = %s "
                "WHERE id = %s AND (lease_owner IS NULL OR lease_owner = %s OR lease_until < %s) "
                "RETURNING id",
                (owner, until, str(subscription_id), owner, now),
            )
            return cursor.fetchone() is not None

    def release_lease(self, subscription_id: UUID, owner: str) -> None:
        """Let another process deliver it at once (this one stops)."""
        with self._cursor(commit=True) as cursor:
            self._execute(
                cursor,
                f"UPDATE {self._subscriptions} SET lease_owner = NULL, lease_until = NULL "
                "WHERE id = %s AND lease_owner = %s",
                (str(subscription_id), owner),
            )
            self._signal_change(cursor)

    def present(self, owner: str, scope: str, now: float, until: float) -> None:
        """Say this deliverer is alive until ``until``, delivering the subscriptions of ``scope``.

        Its peers hear of a deliverer that was not present before (on PostgreSQL a
        signal; on SQLite any commit is seen), so they give it its share at once.
        """
        with self._cursor(commit=True) as cursor:
            self._execute(
                cursor,
                f"UPDATE {self._deliverers} SET scope = %s, seen_until = %s "
                "WHERE owner = %s AND seen_until >= %s RETURNING owner",
                (scope, until, owner, now),
            )
            if cursor.fetchone() is not None:
                return
            self._execute(
                cursor,
                f"DELETE FROM {self._deliverers} WHERE owner = %s OR seen_until < %s",
                (owner, now),  # this one's own lapsed row, and the rows of the dead
            )
            self._execute(
                cursor,
                f"INSERT INTO {self._deliverers} (owner, scope, seen_until) VALUES (%s, %s, %s)",
                (owner, scope, until),
            )
            self._signal_change(cursor)

    def absent(self, owner: str) -> None:
        """This deliverer stops: its peers share the subscriptions without it at once."""
        with self._cursor(commit=True) as cursor:
            self._execute(cursor, f"DELETE FROM {self._deliverers} WHERE owner = %s", (owner,))
            self._signal_change(cursor)

    def peers(self, scope: str, now: float, besides: str = "") -> list[float]:
        """When each live deliverer of ``scope`` but ``besides`` (the asking one) stops counting."""
        with self._cursor(commit=False) as cursor:
            self._execute(
                cursor,
                f"SELECT seen_until FROM {self._deliverers} "
                "WHERE scope = %s AND seen_until >= %s AND owner <> %s",
                (scope, now, besides),
            )
            return [float(row["seen_until"]) for row in cursor.fetchall()]

    def advance(
        self,
        subscription: Subscription,
        owner: str,
        position: int,
        attempts: Sequence[DeliveryAttempt],
    ) -> bool:
        """Commit ``position`` as delivered (after the receiver's 2xx) or skipped by type.

        False when the lease was lost or a person changed the subscription meanwhile:
        the caller reads it again (the attempt is still recorded: it happened).
        """
        with self._cursor(commit=True) as cursor:
            self._record(cursor, attempts)
            self._execute(
                cursor,
                f"UPDATE {self._subscriptions} SET position = %s, status = %s, failures = 0, "
                "next_attempt_at = NULL, last_error = NULL, "
                "last_attempt_at = COALESCE(%s, last_attempt_at) "
                "WHERE id = %s AND lease_owner = %s AND revision = %s RETURNING id",
                (
                    position,
                    SubscriptionStatus.ACTIVE.value,
                    attempts[-1].at if attempts else None,
                    str(subscription.id),
                    owner,
                    subscription.revision,
                ),
            )
            return cursor.fetchone() is not None

    def failed(
        self,
        subscription: Subscription,
        owner: str,
        attempt: DeliveryAttempt,
        status: SubscriptionStatus,
        next_attempt_at: float | None,
    ) -> bool:
        """Record a failed attempt: ``failing`` with the next try's time, or ``disabled``."""
        with self._cursor(commit=True) as cursor:
            self._record(cursor, [attempt])
            self._execute(
                cursor,
                f"UPDATE {self._subscriptions} SET status = %s, failures = %s, "
                "next_attempt_at = %s, last_error = %s, last_attempt_at = %s "
                "WHERE id = %s AND lease_owner = %s AND revision = %s RETURNING id",
                (
                    status.value,
                    attempt.attempt,
                    next_attempt_at,
                    attempt.error,
                    attempt.at,
                    str(subscription.id),
                    owner,
                    subscription.revision,
                ),
            )
            return cursor.fetchone() is not None

    # -- plumbing -------------------------------------------------------------------------

    def _record(self, cursor: Any, attempts: Sequence[DeliveryAttempt]) -> None:
        """Insert the attempts of one commit, then trim to the latest ``KEPT_ATTEMPTS``.

        One statement for the rows and one trim per commit, not two per attempt: a
        commit carries every delivery of a quarter second (thousands at full speed),
        and only the latest ``KEPT_ATTEMPTS`` would outlive the trim anyway.
        """
        if not attempts:
            return
        kept = attempts[-KEPT_ATTEMPTS:]
        rows = [
            (
                str(attempt.subscription_id),
                attempt.position,
                attempt.message_id,
                attempt.attempt,
                attempt.status_code,
                None if attempt.error is None else attempt.error[:ERROR_EXCERPT_CHARS],
                attempt.duration_ms,
                attempt.at,
            )
            for attempt in kept
        ]
        columns = "subscription_id, position, message_id, attempt, status_code, error, "
        columns += "duration_ms, at"
        if self._postgres:
            # COPY, not INSERT: a multi-row INSERT of 100 attempts cost psycopg 1.3 ms of
            # CPU (the long statement parsed anew each time, every value dumped alone),
            # COPY 0.19 ms; at thousands of deliveries a second it was a fifth of the
            # deliverer's CPU.
            with cursor.copy(f"COPY {self._deliveries} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            # sqlite3's executemany loops in C: one prepared statement for every row.
            placeholders = ", ".join(["?"] * len(rows[0]))
            cursor.executemany(
                f"INSERT INTO {self._deliveries} ({columns}) VALUES ({placeholders})", rows
            )
        for subscription_id in {str(attempt.subscription_id) for attempt in kept}:
            self._execute(
                cursor,
                f"DELETE FROM {self._deliveries} WHERE subscription_id = %s AND seq <= ("
                f"SELECT seq FROM {self._deliveries} WHERE subscription_id = %s "
                "ORDER BY seq DESC LIMIT 1 OFFSET %s)",
                (subscription_id, subscription_id, KEPT_ATTEMPTS),
            )

    # -- signals ------------------------------------------------------------------------

    def listen(self, on_change: Callable[[], None]) -> Listener | None:
        """Call ``on_change`` when any process adds, changes, removes or releases one.

        On SQLite: when any other connection committed anything (``CommitWatcher``).
        None in memory (one process, which wakes its deliverer itself): it keeps looking.
        """
        if isinstance(self._datastore, PostgresDatastore):
            return ChangeListener(self._datastore, on_change).start()
        if self._datastore.pool.is_sqlite_memory_mode:
            return None
        return CommitWatcher(self._datastore.pool.db_name, on_change).start()

    def _signal_change(self, cursor: Any) -> None:
        if isinstance(self._datastore, PostgresDatastore):
            notify_changed(cursor, self._datastore)

    @contextmanager
    def _cursor(self, *, commit: bool) -> Iterator[Any]:
        with store_errors(), self._datastore.transaction(commit=commit) as cursor:
            yield cursor

    def _execute(self, cursor: Any, sql: str, params: Sequence[Any]) -> None:
        cursor.execute(sql if self._postgres else sql.replace("%s", "?"), tuple(params))


def _subscription(row: Any) -> Subscription:
    return Subscription(
        id=UUID(row["id"]),
        url=row["url"],
        types=tuple(json.loads(row["types"])),
        description=row["description"],
        status=SubscriptionStatus(row["status"]),
        position=int(row["position"]),
        created_at=float(row["created_at"]),
        secret=row["secret"],
        previous_secret=row["previous_secret"],
        previous_secret_until=row["previous_secret_until"],
        revision=int(row["revision"]),
        failures=int(row["failures"]),
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        last_attempt_at=row["last_attempt_at"],
        lease_owner=row["lease_owner"],
        lease_until=row["lease_until"],
    )
