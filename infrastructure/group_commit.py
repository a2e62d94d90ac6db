"""Group commit: concurrent appends share one transaction, so they share one lock and one flush.

The library's PostgreSQL recorder takes an exclusive lock on the events table for
every append (so that positions in the global log commit in order); one append
per transaction therefore caps a whole database at about one transaction per
lock hold, however many writers there are. Here the first writer to arrive while
no commit is in flight becomes the *leader*: it commits everything that queued
up meanwhile (bounded by ``max_batch``) in one ``Application.save`` call. At low
load every batch holds one write and nobody waits for a timer; under load
batches grow by themselves.

A batch that the store rejects (a position already taken by a writer in another
process, an idempotency key used concurrently) is retried write by write, so a
conflict fails only the write that lost its race, never its neighbours.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from eventsourcing.persistence import IntegrityError

from domain.shipment import Shipment
from infrastructure.co_commit import CO_COMMIT_KWARG, Statement
from infrastructure.event_store import ShipmentStore


@dataclass(eq=False)
class PendingAppend:
    """One write waiting to be committed, and then its outcome."""

    shipment: Shipment
    projection_statements: Sequence[Statement]
    ledger_statements: Sequence[Statement]
    finished: bool = False
    error: BaseException | None = None
    events: list[object] = field(default_factory=list)


class GroupCommitter:
    """Commits concurrent appends together; each caller still gets its own outcome."""

    def __init__(self, store: ShipmentStore, max_batch: int = 64) -> None:
        self._store = store
        self._max_batch = max_batch
        self._queue: deque[PendingAppend] = deque()
        self._condition = threading.Condition()
        self._leader_active = False

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
        pending = PendingAppend(shipment, projection_statements, ledger_statements)
        with self._condition:
            self._queue.append(pending)
        while True:
            batch = self._lead_or_wait(pending)
            if batch is None:
                break
            try:
                self._commit(batch)
            finally:
                with self._condition:
                    self._leader_active = False
                    self._condition.notify_all()
        if pending.error is not None:
            raise pending.error

    def _lead_or_wait(self, pending: PendingAppend) -> list[PendingAppend] | None:
        """A batch to commit if we lead now; None once our write is finished."""
        with self._condition:
            while True:
                if pending.finished:
                    return None
                if not self._leader_active:
                    self._leader_active = True
                    count = min(len(self._queue), self._max_batch)
                    return [self._queue.popleft() for _ in range(count)]
                self._condition.wait()

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
        statements = [s for p in ordered for s in p.projection_statements]
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


def _finish(batch: Sequence[PendingAppend], error: BaseException | None) -> None:
    for pending in batch:
        pending.error = error
        pending.finished = True
