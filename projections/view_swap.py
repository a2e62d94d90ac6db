"""Putting a rebuilt view table in place of the live one, atomically, on each store.

The swap runs in one transaction that holds locks no append can pass (on
PostgreSQL the events table in EXCLUSIVE mode, which also waits for the appends
in flight; on SQLite the one write lock), so no event can commit between the last
catch-up and the rename: the new table is
complete at the position it is given. Readers see the old table until the commit
and the new one after it, never neither (on PostgreSQL they wait for the few
milliseconds of the rename; on SQLite they keep reading the old snapshot).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent
from psycopg.sql import SQL, Identifier

from domain.shipment import Shipment
from infrastructure.event_store import ShipmentStore
from projections.postgres_shipment_view import PostgresShipmentView
from projections.shipment_list import POSTGRES_DELIVERY_KEY, list_indexes
from projections.shipment_view import ShipmentView
from projections.sqlite_shipment_view import SQLiteShipmentView


class LockedReads:
    """Reads of the event log on the swap's own connection, inside its transaction.

    While the swap holds the append lock, nothing may wait on another pooled
    connection: the library's SQLite pool hands out connections in turn, and a
    writer queued behind our lock would hold that turn, so a second connection
    of ours would wait for it, and it for us.
    """

    def __init__(self, store: ShipmentStore, live: ShipmentView, cursor: Any) -> None:
        self._store = store
        self._cursor = cursor
        events = store.recorder.events_table_name  # type: ignore[attr-defined]
        if isinstance(live, PostgresShipmentView):
            table = SQL("{}.{}").format(Identifier(live.datastore.schema), Identifier(events))
            self._page_sql: Any = SQL(
                "SELECT notification_id AS position, originator_id, originator_version, topic, "
                "state FROM {} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
            ).format(table)
            self._stream_sql: Any = SQL(
                "SELECT originator_id, originator_version, topic, state FROM {} "
                "WHERE originator_id = %s AND originator_version <= %s ORDER BY originator_version"
            ).format(table)
            self._id: Callable[[UUID], Any] = lambda shipment_id: shipment_id
        else:
            self._page_sql = (
                "SELECT rowid AS position, originator_id, originator_version, topic, state "
                f"FROM {events} WHERE rowid > ? ORDER BY rowid LIMIT ?"
            )
            self._stream_sql = (
                f"SELECT originator_id, originator_version, topic, state FROM {events} "
                "WHERE originator_id = ? AND originator_version <= ? ORDER BY originator_version"
            )
            self._id = lambda shipment_id: shipment_id.hex

    def notifications_after(self, position: int, limit: int) -> list[Notification]:
        """The next ``limit`` events of the log after ``position``."""
        self._cursor.execute(self._page_sql, (position, limit))
        return [
            Notification(
                id=row["position"],
                originator_id=_uuid(row["originator_id"]),
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            for row in self._cursor.fetchall()
        ]

    def state_at(self, shipment_id: UUID, version: int) -> Shipment:
        """The shipment's state at ``version``, folded from its first event."""
        self._cursor.execute(self._stream_sql, (self._id(shipment_id), version))
        state: Any = None
        stored = [
            StoredEvent(
                originator_id=_uuid(row["originator_id"]),
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            for row in self._cursor.fetchall()
        ]
        for event in self._store.mapper.to_domain_events(stored, self._cursor):
            state = event.mutate(state)
        return cast(Shipment, state)


FinalCatchUp = Callable[[Any, LockedReads], int]
"""Writes the last events into the new table on the swap's cursor; returns its position."""


def reset_shadow(shadow: ShipmentView) -> None:
    """An empty table (and no tracking position) for a rebuild to start from zero."""
    if isinstance(shadow, PostgresShipmentView):
        with shadow.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("DROP TABLE IF EXISTS {}.{}").format(
                    Identifier(shadow.datastore.schema), Identifier(shadow.table)
                )
            )
            curs.execute(_delete_tracking_sql(shadow), (shadow.tracking_name,))
    else:
        assert isinstance(shadow, SQLiteShipmentView)
        with shadow.datastore.transaction(commit=True) as c:
            c.execute(f"DROP TABLE IF EXISTS {shadow.table}")
            c.execute(_delete_tracking_sql(shadow), (shadow.tracking_name,))
    shadow.create_table()


def swap_in(
    store: ShipmentStore,
    live: ShipmentView,
    shadow: ShipmentView,
    final_catch_up: FinalCatchUp,
    lock_timeout_seconds: float,
) -> int:
    """Catch ``shadow`` up under the append lock and rename it to ``live``; its position."""
    with _appends_locked(store, live, lock_timeout_seconds) as cursor:
        position = final_catch_up(cursor, LockedReads(store, live, cursor))
        if isinstance(live, PostgresShipmentView):
            assert isinstance(shadow, PostgresShipmentView)
            _rename_postgres(cursor, live, shadow)
        else:
            cursor.execute(f"DROP TABLE {live.table}")
            cursor.execute(f"ALTER TABLE {shadow.table} RENAME TO {live.table}")
        cursor.execute(_set_tracking_sql(live), (live.tracking_name, position))
        cursor.execute(_delete_tracking_sql(live), (shadow.tracking_name,))
    return position


@contextmanager
def _appends_locked(
    store: ShipmentStore, live: ShipmentView, lock_timeout_seconds: float
) -> Iterator[Any]:
    """A transaction in which no append can commit; committed on a clean exit."""
    if isinstance(live, PostgresShipmentView):
        schema = Identifier(live.datastore.schema)
        with live.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("SET LOCAL lock_timeout = '{}ms'").format(int(lock_timeout_seconds * 1000))
            )
            # An append writes its view row first and then inserts into the events
            # table; take the two locks in that same order, or each could wait on the
            # other. EXCLUSIVE waits for every append in flight and holds new ones.
            curs.execute(
                SQL("LOCK TABLE {}.{} IN ACCESS EXCLUSIVE MODE").format(
                    schema, Identifier(live.table)
                )
            )
            curs.execute(
                SQL("LOCK TABLE {}.{} IN EXCLUSIVE MODE").format(
                    schema,
                    Identifier(store.recorder.events_table_name),  # type: ignore[attr-defined]
                )
            )
            yield curs
        return
    assert isinstance(live, SQLiteShipmentView)
    with live.datastore.get_connection(commit=True) as connection:
        cursor = connection.cursor()
        # IMMEDIATE takes SQLite's one write lock now: every append waits until we commit.
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield cursor
        except BaseException:
            connection.rollback()
            raise
        connection.commit()


def _rename_postgres(cursor: Any, live: PostgresShipmentView, shadow: PostgresShipmentView) -> None:
    schema = Identifier(live.datastore.schema)
    cursor.execute(SQL("DROP TABLE {}.{}").format(schema, Identifier(live.table)))
    cursor.execute(
        SQL("ALTER TABLE {}.{} RENAME TO {}").format(
            schema, Identifier(shadow.table), Identifier(live.table)
        )
    )
    # PostgreSQL index names are unique per schema: give the new ones the live names.
    suffixes = ["pkey", *(suffix for suffix, _ in list_indexes(POSTGRES_DELIVERY_KEY))]
    for suffix in suffixes:
        cursor.execute(
            SQL("ALTER INDEX {}.{} RENAME TO {}").format(
                schema,
                Identifier(f"{shadow.table}_{suffix}"),
                Identifier(f"{live.table}_{suffix}"),
            )
        )


def _tracking_table(view: ShipmentView) -> Any:
    if isinstance(view, PostgresShipmentView):
        return SQL("{}.{}").format(
            Identifier(view.datastore.schema), Identifier(view.tracking_table_name)
        )
    return "tracking"


def _set_tracking_sql(view: ShipmentView) -> Any:
    """Put a position in place unconditionally (the library's insert only moves forward)."""
    if isinstance(view, PostgresShipmentView):
        return SQL(
            "INSERT INTO {} (application_name, notification_id) VALUES (%s, %s) "
            "ON CONFLICT (application_name) "
            "DO UPDATE SET notification_id = EXCLUDED.notification_id"
        ).format(_tracking_table(view))
    return (
        "INSERT INTO tracking (application_name, notification_id) VALUES (?, ?) "
        "ON CONFLICT (application_name) DO UPDATE SET notification_id = excluded.notification_id"
    )


def _delete_tracking_sql(view: ShipmentView) -> Any:
    if isinstance(view, PostgresShipmentView):
        return SQL("DELETE FROM {} WHERE application_name = %s").format(_tracking_table(view))
    return "DELETE FROM tracking WHERE application_name = ?"


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(hex=value)
