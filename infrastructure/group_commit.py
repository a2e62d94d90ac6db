"""Group commit: concurrent appends share one transaction, so they share one lock and one flush.

The library's PostgreSQL recorder takes an exclusive lock on the events table for
every append (so that positions in the global log commit in order); one append
per transaction therefore caps a whole database at about one transaction per
lock hold, however many writers there are. Here one committer thread takes
everything that queued up while it was busy (bounded by ``max_batch``) and
commits it in one ``Application.save`` call. At low load every batch holds one
write and nobody waits for a timer; under load batches grow by themselves.

One thread, rather than whichever writer arrives first leading: a writer only
queues its append and waits on its own future, so a batch costs one wake-up of
the committer and one per waiter, not a stampede of every waiting thread; and an
event loop can submit an append and await it without a worker thread
(``submit``), which is how the API's write path uses it.

A batch that the store rejects (a position already taken by a writer in another
process, an idempotency key used concurrently) is retried write by write, so a
conflict fails only the write that lost its race, never its neighbours.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from eventsourcing.persistence import IntegrityError

from domain.shipment import Shipment
from infrastructure.co_commit import CO_COMMIT_KWARG, Statement
from infrastructure.event_store import ShipmentStore

_log = logging.getLogger("shipments.group_commit")


@dataclass(eq=False)
class PendingAppend:
    """One write waiting to be committed, and then its outcome."""

    shipment: Shipment
    projection_statements: Sequence[Statement]
    ledger_statements: Sequence[Statement]
    finished: bool = False
    error: BaseException | None = None
    events: list[object] = field(default_factory=list)
    notify: Callable[[BaseException | None], None] = lambda error: None


class GroupCommitter:
    """Commits concurrent appends together; each caller still gets its own outcome."""

    def __init__(self, store: ShipmentStore, max_batch: int = 64) -> None:
        self._store = store
        self._max_batch = max_batch
        self._queue: deque[PendingAppend] = deque()
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def append(
        self,
        shipment: Shipment,
        projection_statements: Sequence[Statement],
        ledger_statements: Sequence[Statement],
    ) -> None:
        """Durably append ``shipment``'s pending events with its statements, or raise.

        Raises the library's ``IntegrityError`` when this write lost a race, and
        whatever the store raised when it could not commit.
        """
        self.submit(shipment, projection_statements, ledger_statements).result()

    def submit(
        self,
        shipment: Shipment,
        projection_statements: Sequence[Statement],
        ledger_statements: Sequence[Statement],
    ) -> Future[None]:
        """Queue the append; the future completes once it is durable (or failed, as ``append``)."""
        outcome: Future[None] = Future()
        # Running from the start: a caller that stops waiting (a cancelled request)
        # cannot cancel an append that may already be in a transaction.
        outcome.set_running_or_notify_cancel()

        def settle(error: BaseException | None) -> None:
            if error is None:
                outcome.set_result(None)
            else:
                outcome.set_exception(error)

        self.enqueue(shipment, projection_statements, ledger_statements, settle)
        return outcome

    def enqueue(
        self,
        shipment: Shipment,
        projection_statements: Sequence[Statement],
        ledger_statements: Sequence[Statement],
        notify: Callable[[BaseException | None], None],
    ) -> None:
        """Queue the append; ``notify(None)`` once durable, ``notify(error)`` if not.

        ``notify`` runs on the committer's thread and must be quick (an event loop's
        ``call_soon_threadsafe``, say): the next batch waits for it. The cheapest way
        to wait, with no future or condition made per write.
        """
        pending = PendingAppend(shipment, projection_statements, ledger_statements, notify=notify)
        with self._condition:
            if self._closed:
                raise RuntimeError("the group committer is closed")
            self._queue.append(pending)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
                self._thread.start()
            self._condition.notify()

    def close(self) -> None:
        """Commit what is queued, then stop the committer thread."""
        with self._condition:
            self._closed = True
            self._condition.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._queue and not self._closed:
                    self._condition.wait()
                if not self._queue:
                    return
                count = min(len(self._queue), self._max_batch)
                batch = [self._queue.popleft() for _ in range(count)]
            try:
                self._commit(batch)
            except BaseException as error:  # noqa: BLE001 - the thread must outlive a bad batch
                _log.exception("group commit failed unexpectedly")
                _finish([p for p in batch if not p.finished], error)

    def _commit(self, batch: list[PendingAppend]) -> None:
        batch, doomed = self._split_doomed(batch)
        try:
            self._commit_distinct(batch)
        finally:
            self._settle_doomed(doomed, batch)

    def _commit_distinct(self, batch: list[PendingAppend]) -> None:
        """Commit writes that each aim at a different position."""
        if not batch:
            return
        for pending in batch:
            pending.events = list(pending.shipment.pending_events)
        try:
            self._save(batch)
        except IntegrityError:
            if len(batch) == 1:
                _finish(batch, IntegrityError("the position or key is taken"))
                return
            for pending in batch:
                # The failed save drained the pending events; give them back and
                # retry alone, so only the writes that really conflict fail.
                pending.shipment.pending_events[:] = pending.events  # type: ignore[assignment]
                try:
                    self._save([pending])
                except IntegrityError as error:
                    _finish([pending], error)
                except BaseException as error:  # noqa: BLE001 - handed to its caller
                    _finish([pending], error)
            return
        except BaseException as error:  # noqa: BLE001 - handed to every caller
            _finish(batch, error)
            return

    def _save(self, batch: list[PendingAppend]) -> None:
        # Row locks in one global order (view rows by shipment id, then ledger
        # keys), then the library's table lock: concurrent batches cannot deadlock.
        ordered = sorted(batch, key=lambda p: str(p.shipment.id))
        statements = grouped_by_sql(s for p in ordered for s in p.projection_statements)
        statements += sorted(
            (s for p in ordered for s in p.ledger_statements), key=lambda s: repr(s.params)
        )
        self._store.save(*(p.shipment for p in ordered), **{CO_COMMIT_KWARG: statements})
        _finish(batch, None)

    @staticmethod
    def _split_doomed(
        batch: list[PendingAppend],
    ) -> tuple[list[PendingAppend], list[PendingAppend]]:
        """Set aside each write aiming at a position an earlier write in the batch takes."""
        seen: set[tuple[object, int]] = set()
        kept: list[PendingAppend] = []
        doomed: list[PendingAppend] = []
        for pending in batch:
            target = (pending.shipment.id, pending.shipment.version)
            if target in seen:
                doomed.append(pending)
            else:
                seen.add(target)
                kept.append(pending)
        return kept, doomed

    def _settle_doomed(self, doomed: list[PendingAppend], kept: list[PendingAppend]) -> None:
        """Fail a set-aside write only once the write that took its position is durable.

        Failing it earlier would let its caller read the stream before that commit
        and answer 412 naming the very version it holds. If the taker did not
        commit, the set-aside write goes back to the queue: the store decides.
        """
        committed = {
            (p.shipment.id, p.shipment.version) for p in kept if p.finished and p.error is None
        }
        retry: list[PendingAppend] = []
        for pending in doomed:
            if (pending.shipment.id, pending.shipment.version) in committed:
                _finish([pending], IntegrityError("the position is taken in this batch"))
            else:
                retry.append(pending)
        with self._condition:
            self._queue.extendleft(reversed(retry))
            self._condition.notify()


def grouped_by_sql(statements: Iterable[Statement]) -> list[Statement]:
    """The statements grouped by SQL, in order of first use, keeping order within a group.

    Every view-row upsert then comes before every index insert, each group still in
    shipment-id order (so row locks keep one global order), and the recorder can
    run each group as one ``executemany``.
    """
    groups: dict[int, list[Statement]] = {}
    for statement in statements:
        groups.setdefault(id(statement.sql), []).append(statement)
    return [statement for group in groups.values() for statement in group]


def _finish(batch: Sequence[PendingAppend], error: BaseException | None) -> None:
    for pending in batch:
        pending.error = error
        pending.finished = True
        try:
            pending.notify(error)
        except Exception:  # noqa: BLE001 - one waiter's failure must not strand the others
            _log.exception("notifying a write's outcome failed")
