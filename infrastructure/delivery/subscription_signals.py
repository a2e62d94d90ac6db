"""Telling every deliverer that a subscription changed, so none has to keep looking.

Each deliverer used to read every subscription once a second, to notice one
added, re-enabled or released by another process: a query a second per process
while nothing happens. On PostgreSQL a change now sends a ``NOTIFY`` in its own
transaction (delivered at commit, and only then), and each deliverer ``LISTEN``\\ s
on one connection of its own; it still reads the subscriptions when a lease it
saw runs out, and every ``UNSIGNALLED_SCAN_SECONDS`` in case a signal was lost
(a dropped connection). SQLite has no such signal between processes: each
deliverer asks the file once a second whether any other connection committed
(``PRAGMA data_version``, ``CommitWatcher``) and reads the subscriptions only
then, so an idle one reads no table either.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from eventsourcing.postgres import PostgresDatastore

from infrastructure.sqlite_subscription import CommitsElsewhere

_log = logging.getLogger("shipments.delivery")

UNSIGNALLED_SCAN_SECONDS = 30.0
RECONNECT_SECONDS = 1.0
SQLITE_LOOK_SECONDS = 1.0  # the scan's old period: a change elsewhere is seen as soon as before


class Listener:
    """Calls ``on_change`` from a thread of its own (``_run``) until stopped."""

    def __init__(self, on_change: Callable[[], None], name: str) -> None:
        self._on_change = on_change
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Listener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        raise NotImplementedError


def channel_of(datastore: PostgresDatastore) -> str:
    """The channel of a store's subscription changes (one per schema)."""
    return f"{datastore.schema}_subscriptions"[:63]  # PostgreSQL's identifier length


def notify_changed(cursor: Any, datastore: PostgresDatastore) -> None:
    """Signal the change made in ``cursor``'s transaction (sent when it commits)."""
    cursor.execute("SELECT pg_notify(%s, '')", (channel_of(datastore),))


class ChangeListener(Listener):
    """PostgreSQL: calls ``on_change`` whenever a change is signalled (``LISTEN``)."""

    def __init__(self, datastore: PostgresDatastore, on_change: Callable[[], None]) -> None:
        super().__init__(on_change, "subscription-signals")
        self._datastore = datastore

    def _run(self) -> None:
        channel = channel_of(self._datastore)
        while not self._stopping.is_set():
            try:
                with self._datastore.get_connection() as connection:
                    connection.execute(f'LISTEN "{channel.replace(chr(34), chr(34) * 2)}"')
                    connection.commit()
                    # A listener that (re)connects may have missed a signal: look once.
                    self._on_change()
                    try:
                        while not self._stopping.is_set():
                            for _ in connection.notifies(timeout=0.5, stop_after=1):
                                self._on_change()
                    finally:
                        connection.execute("UNLISTEN *")  # the pool hands it out again
                        connection.commit()
            except Exception:  # noqa: BLE001 - the periodic scan covers the gap meanwhile
                if not self._stopping.is_set():
                    _log.warning("listening for subscription changes failed", exc_info=True)
                    self._stopping.wait(RECONNECT_SECONDS)


class CommitWatcher(Listener):
    """SQLite: calls ``on_change`` after any other connection, of any process, committed.

    A commit of anything counts (appends too), so under writes the deliverer reads
    the subscriptions once a ``SQLITE_LOOK_SECONDS``, as it did always; at rest it
    reads nothing. Its own position commits count as well: one read more each.
    """

    def __init__(
        self,
        database: str,
        on_change: Callable[[], None],
        look_seconds: float = SQLITE_LOOK_SECONDS,
    ) -> None:
        super().__init__(on_change, "subscription-commits")
        self._commits = CommitsElsewhere(database)
        self._look_seconds = look_seconds

    def _run(self) -> None:
        try:
            while not self._stopping.wait(self._look_seconds):
                if self._commits.since_last_asked():
                    self._on_change()
        finally:
            self._commits.close()
