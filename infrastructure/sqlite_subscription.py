"""Following the event log: the library's subscription, woken by polling and by this process.

The library's SQLite recorder does not implement ``subscribe`` (SQLite has no
LISTEN/NOTIFY). Its PostgreSQL subscription is a ``ListenNotifySubscription``
whose pull loop wakes when a notification arrives; this one is the same pull
loop, woken by a timer instead (for writes by other processes) and at once by
the recorder after each append in this process. So the projection runner
follows both stores through the one mechanism the library defines.

On an SQLite file the timer does not read the log: it asks SQLite whether any
other connection committed since it last asked (``CommitsElsewhere``), and only
then does the subscription read. An idle follower (a thousand open SSE streams,
a deliverer waiting) reads nothing from the events table.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, ListenNotifySubscription, ShutDown
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresSubscription


class PollingSubscription(ListenNotifySubscription[ApplicationRecorder]):
    """Yields every event after ``gt``, then each new one within a poll interval."""

    def __init__(
        self,
        recorder: ApplicationRecorder,
        gt: int | None = None,
        topics: Sequence[str] = (),
        *,
        poll_interval_seconds: float,
        min_pull_interval_seconds: float = 0.0,
        commits_elsewhere: CommitsElsewhere | None = None,
        busy_poll_interval_seconds: float | None = None,
    ) -> None:
        """``commits_elsewhere``: a look reads the log only when it says so (None: always).

        ``busy_poll_interval_seconds``: with ``commits_elsewhere``, the looks' interval
        while another process keeps committing (``LookPace``).
        """
        self._stopped = threading.Event()
        self._pace = LookPace(
            poll_interval_seconds,
            poll_interval_seconds
            if busy_poll_interval_seconds is None or commits_elsewhere is None
            else busy_poll_interval_seconds,
        )
        self._min_pull_interval_seconds = min_pull_interval_seconds
        self._commits_elsewhere = commits_elsewhere
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._poll_thread = threading.Thread(
            target=self._poll, name="sqlite-subscription-poll", daemon=True
        )
        self._poll_thread.start()

    def wake(self) -> None:
        """Look for new events now (called after an append in this process)."""
        self._has_been_notified.set()

    def stop(self) -> None:
        super().stop()
        self._stopped.set()

    def __exit__(self, *args: object, **kwargs: Any) -> None:
        try:
            super().__exit__(*args, **kwargs)
        finally:
            self._poll_thread.join()

    def _pull(self) -> None:
        """The library's pull (every page up to the head), then a pause before the next.

        Nearly every event the runner follows was projected by the write that
        appended it; what costs is reading the log once per commit. Wakes that
        arrive during the pause are served by one read after it, so under load one
        read covers many commits, and at rest a commit is followed within it.
        """
        self._pull_pages()
        self._stopped.wait(self._min_pull_interval_seconds)

    def _pull_pages(self) -> None:
        super()._pull()

    def _poll(self) -> None:
        try:
            while not self._stopped.wait(self._pace.wait(time.monotonic())):
                found = self._should_look_unsignalled()
                self._pace.looked(found, time.monotonic())
                if found:
                    self._has_been_notified.set()
        finally:
            self._poll_ended()

    def _should_look_unsignalled(self) -> bool:
        """When another connection committed (another process's commits send no signal).

        Commits in this process count too (its pooled connections are others): they
        woke the subscription already, and one read more is all they cost.
        """
        return self._commits_elsewhere is None or self._commits_elsewhere.since_last_asked()

    def _poll_ended(self) -> None:
        if self._commits_elsewhere is not None:
            self._commits_elsewhere.close()


class LookPace:
    """How long a follower waits before its next look: shorter while commits keep coming.

    A look at SQLite's ``data_version`` is cheap but wakes a thread; how often it
    happens is the lag of an event committed by another process. At rest a look
    every ``idle_seconds`` (the first commit after a rest is seen within it); for
    ``busy_for_seconds`` after a look found a commit, every ``busy_seconds``. With
    a deliver process beside a writing server (``bench.delivery_lag --deliverer
    process``, SQLite, 6 runs each, alternating), looks every 5 ms instead of 20
    took the delivery lag's p50 from 22.0 to 14.1 ms and its p99 from 136 to 113 ms,
    at the same closed-loop write ratio (0.70); a follower at rest still looks only
    every 20 ms.
    """

    def __init__(
        self, idle_seconds: float, busy_seconds: float, busy_for_seconds: float = 1.0
    ) -> None:
        self._idle_seconds = idle_seconds
        self._busy_seconds = busy_seconds
        self._busy_for_seconds = busy_for_seconds
        self._busy_until = float("-inf")

    def wait(self, now: float) -> float:
        return self._busy_seconds if now < self._busy_until else self._idle_seconds

    def looked(self, found_commits: bool, now: float) -> None:
        if found_commits:
            self._busy_until = now + self._busy_for_seconds


class CommitsElsewhere:
    """Whether another connection, of any process, committed to an SQLite file since last asked.

    ``PRAGMA data_version`` changes when a connection other than the asking one
    commits; asking reads the WAL index's header, not a page of any table. Any
    error answers yes: the caller then reads the log, as it did before asking.
    """

    def __init__(self, database: str) -> None:
        self._database = database
        self._connection: sqlite3.Connection | None = None
        self._version: int | None = None  # None: not asked yet, so yes

    def since_last_asked(self) -> bool:
        try:
            if self._connection is None:
                self._connection = sqlite3.connect(
                    self._database, uri=True, check_same_thread=False, isolation_level=None
                )
            row = self._connection.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error:
            self.close()
            return True
        version = int(row[0])
        changed = version != self._version
        self._version = version
        return changed

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self._version = None


class ListeningPollingSubscription(PollingSubscription, PostgresSubscription):
    """PostgreSQL: the library's LISTEN (other processes), a poll, and this process's wake.

    Appends no longer NOTIFY inside their transaction (``infrastructure.commit_signals``
    sends one after commit, for many), and a read may stop short at a position still
    in flight (``infrastructure.log_horizon``): the poll comes back for it even when
    no further signal arrives.
    """

    def __init__(
        self,
        recorder: PostgresApplicationRecorder,
        gt: int | None = None,
        topics: Sequence[str] = (),
        *,
        poll_interval_seconds: float,
        min_pull_interval_seconds: float = 0.0,
        projected_in: tuple[str, str] | None = None,
    ) -> None:
        self._projected_in = projected_in
        self._unsignalled_poll_seconds: float = getattr(
            recorder, "unsignalled_poll_seconds", poll_interval_seconds
        )
        self._stopped_short = False
        self._pulled_at = time.monotonic()
        super().__init__(
            recorder,
            gt,
            topics,
            poll_interval_seconds=poll_interval_seconds,
            min_pull_interval_seconds=min_pull_interval_seconds,
        )

    def _should_look_unsignalled(self) -> bool:
        """Only after a read stopped short, or when the signals were trusted long enough.

        So an idle follower reads nothing: commits here wake it, commits elsewhere
        NOTIFY it (``infrastructure.commit_signals``).
        """
        return (
            self._stopped_short
            or time.monotonic() - self._pulled_at >= self._unsignalled_poll_seconds
        )

    def _pull_pages(self) -> None:
        self._pull_view_pages()
        recorder: Any = self._recorder
        self._stopped_short = bool(recorder.last_read_stopped_short())
        self._pulled_at = time.monotonic()

    def _pull_view_pages(self) -> None:
        """The library's pull loop, reading only what a view lacks when one is named.

        A copy of ``ListenNotifySubscription._pull`` but for its read (the recorder's
        ``select_unprojected``) and its end: a page is the last when fewer rows than the
        limit were read, however few of them came back.
        """
        view = self._projected_in
        if view is None:
            super()._pull_pages()
            return
        recorder: Any = self._recorder
        while not self._has_been_stopped:
            self._has_been_notified.clear()
            page = recorder.select_unprojected(
                self._last_notification_id or 0, self._select_limit, view
            )
            if page.notifications:
                try:
                    self._notifications_queue.put(page.notifications)
                except ShutDown:
                    break
                self._last_notification_id = page.notifications[-1].id
            if not page.full:
                break
