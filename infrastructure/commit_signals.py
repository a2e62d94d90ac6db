"""Waking other processes' followers of the log after a commit, not inside it.

The library's PostgreSQL recorder issues ``NOTIFY`` inside every append
transaction. PostgreSQL serialises notifying transactions at commit (one
database-wide lock, held across the commit's flush), so every append of every
process would queue behind every other's disk flush — the lock this service
removed from its appends. Here a committed append only sets a flag; one thread
per process sends a ``NOTIFY`` of its own, in its own tiny transaction, and the
appends that commit while it is out share the next one. Followers in this
process are woken directly; followers elsewhere also poll (see
``infrastructure.sqlite_subscription``), so a lost signal delays, never loses.

Signals are at most ``min_interval_seconds`` (10 ms) apart: a NOTIFY costs this
process ~100 µs of CPU (a pooled connection, a round trip) and every listener a
wake-up, and a log follower reads at most every 10 ms anyway, so under load one
signal serves a follower's next read (at most ~1 % of a core here). One writer
committing one write at a time would otherwise pay it on every write. It was 50 ms:
a deliverer process of its own then heard of a commit 25 ms late on average.
"""

from __future__ import annotations

import logging
import threading

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Identifier

_log = logging.getLogger("shipments.commit_signals")


class CommitSignal:
    """Sends ``NOTIFY channel`` after commits: at most one in flight, later ones coalesced."""

    def __init__(
        self, datastore: PostgresDatastore, channel: str, min_interval_seconds: float = 0.01
    ) -> None:
        self._datastore = datastore
        self._min_interval_seconds = min_interval_seconds
        self._notify = SQL("NOTIFY {}").format(Identifier(channel))
        self._pending = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def committed(self) -> None:
        """Events were committed: other processes should look (soon, and once for many)."""
        self._pending.set()
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self._closed.is_set():
                    self._thread = threading.Thread(
                        target=self._run, name="commit-signal", daemon=True
                    )
                    self._thread.start()

    def close(self) -> None:
        """Stop the thread (a last pending signal is still sent)."""
        self._closed.set()
        self._pending.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            self._pending.wait()
            self._pending.clear()
            if self._closed.is_set():
                return
            try:
                with self._datastore.get_connection() as connection:
                    connection.execute(self._notify)
            except Exception:  # noqa: BLE001 - followers poll too; a lost signal only delays
                _log.warning("could not signal a commit to other processes", exc_info=True)
            # Commits in the meantime set the flag again and share the next signal.
            self._closed.wait(self._min_interval_seconds)
