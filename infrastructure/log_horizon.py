"""Reading the global log without passing a position that commits later.

Appends on PostgreSQL no longer queue for one table lock (see
``infrastructure.recorders``): several transactions insert events at once, each
numbered by the ``notification_id`` sequence when it inserts, and they commit
in whatever order their flushes end. So a reader may see position 12 committed
while 11 is still in flight; a follower that moved past 11 would never see it.

The rule every reader of the log follows here (the change feed, its SSE stream,
the projection runner, a rebuild's catch-up):

* A **contiguous run** of positions right after the reader's position is
  settled: every number in it is taken, so nothing can commit into it later.
  It is delivered at once.
* A **hole** may be a transaction still in flight, or one that rolled back
  (its number is never used). Every transaction that could hold a number
  below the highest one read was inserting into the events table when the
  rows were read (the sequence is drawn inside the INSERT, after the table's
  ROW EXCLUSIVE lock is taken, and that lock is held to the end). So the reader
  lists those transactions in ``pg_locks`` *after* its read, waits for them to
  end, and reads again: everything up to the highest position of the first
  read is then final, a committed one there and a rolled-back one gone for
  good. If one of them stays open past the wait (a stuck session), the reader
  delivers the run before the hole and is asked again later: never a skip.
* Once a position is known final, so is every lower one, for good: a process
  remembers the highest (``SettledPositions``), so a page of old history with
  rolled-back holes in it is read without looking at ``pg_locks``. Only a page
  read *after* it was known: a hole in rows read before then may be an append
  that committed in between (another thread waited it out), and the reader
  must look again rather than pass it.

This is the "wait out the in-progress transactions before passing a gap"
horizon; it costs nothing while positions arrive in order, and one look at
``pg_locks`` plus a few milliseconds when a commit overtook another — rather
than a lock that every append of every process takes across its disk flush.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol

from psycopg.sql import SQL, Composable, Literal


class Positioned(Protocol):
    """Anything with a position in the log (the library's ``Notification``)."""

    @property
    def id(self) -> int: ...


def settled_run(after: int, rows: Sequence[Positioned]) -> int:
    """How many of ``rows`` (ascending positions, all > ``after``) follow ``after`` with no hole."""
    expected = after + 1
    for count, row in enumerate(rows):
        if row.id != expected:
            return count
        expected += 1
    return len(rows)


class SettledPositions:
    """The highest position below which this process knows nothing more can commit."""

    def __init__(self) -> None:
        self._below = 0
        self._lock = threading.Lock()

    @property
    def below(self) -> int:
        return self._below

    def raise_to(self, position: int) -> None:
        with self._lock:
            self._below = max(self._below, position)


# Every transaction that has inserted into (or locked for writing) the events table and
# not yet ended, as its virtual transaction id: an append holds ROW EXCLUSIVE from its
# INSERT (before the sequence is drawn) to its end. Readers hold ACCESS SHARE only.
_WRITERS_SQL = (
    "SELECT coalesce(array_agg(DISTINCT virtualtransaction), '{{}}') AS writers "
    "FROM pg_locks WHERE locktype = 'relation' AND relation = {table}::regclass "
    "AND mode <> 'AccessShareLock' AND pid <> pg_backend_pid()"
)
# A transaction holds the lock on its own virtual transaction id until it ends.
_STILL_OPEN_SQL = SQL(
    "SELECT count(*) AS open FROM pg_locks "
    "WHERE locktype = 'virtualxid' AND virtualxid = ANY(%s::text[])"
)


class InFlightAppends:
    """Waits for the appends in flight on one PostgreSQL events table to end."""

    # Appends are short (one batch, one flush): poll often at first, then less.
    _FIRST_POLL_SECONDS = 0.0005
    _LONGEST_POLL_SECONDS = 0.01

    def __init__(self, schema: str, table: str) -> None:
        regclass = ".".join('"' + name.replace('"', '""') + '"' for name in (schema, table))
        self._writers_sql: Composable = SQL(_WRITERS_SQL).format(table=Literal(regclass))

    def wait_out(self, cursor: Any, wait_seconds: float) -> bool:
        """Wait until every append in flight now has ended; False if one outlived the wait."""
        cursor.execute(self._writers_sql, prepare=True)
        row = cursor.fetchone()
        writers: list[str] = list(row["writers"]) if row else []
        if not writers:
            return True
        deadline = time.monotonic() + wait_seconds
        pause = self._FIRST_POLL_SECONDS
        while True:
            cursor.execute(_STILL_OPEN_SQL, (writers,), prepare=True)
            still = cursor.fetchone()
            if still is None or still["open"] == 0:
                return True
            if time.monotonic() + pause > deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, self._LONGEST_POLL_SECONDS)
