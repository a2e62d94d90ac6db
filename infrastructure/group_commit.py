"""The write path's engine: concurrent writes decided and appended together, in one transaction.

Every write (create, replace, patch; with or without an Idempotency-Key) is a
``WriteCommand`` queued here. One committer thread takes everything that queued
up while it was busy (at most ``max_batch``) and runs it in one transaction:

1. lock the batch's Idempotency-Keys and read their records;
2. read the batch's shipments from the write model (the shipment view, whose
   row commits with every event), their rows locked until commit — one query;
3. decide every write in order on that state (``batch_decisions``), so the
   version each event is appended at is the one it was decided on;
4. write the view rows, the as-of index rows and the key records, then append
   the events with the library's own insert (table lock, notification);
5. commit, and tell each waiter its own outcome.

A write is therefore never answered "someone got there first" by this process
or another: another process's write to the same shipment waits for the row
lock and is then decided on this one's result. A stale ``If-Match`` is answered
with the version read under the lock, with no second read; ``*`` always finds
the current state. The store's unique (stream, position) key stays the last
word: should an append be refused all the same (a writer that takes no row
lock), the batch is rolled back and decided again on what the store now holds.

At low load a batch holds one write and nobody waits for a timer; under load
batches grow by themselves, so writes share a transaction and its flush.

**Several batches in flight.** ``in_flight`` committer threads, each on its own
connection, take turns at the queue: while one batch's commit flushes, the next
is decided and written by another (the appends take no table lock, see
``infrastructure.recorders``), and PostgreSQL's own group commit shares the
flushes. Writes to one shipment still happen one at a time and in order: the
second batch's read of the row waits for the first's row lock, then decides on
its result. Locks are taken in one global order in every transaction (keys,
sorted; rows, by id), so batches in flight never wait on each other in a cycle.
SQLite has one writer: one thread there.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError

from domain.shipment import Shipment
from infrastructure.append_sessions import AppendSession
from infrastructure.batch_decisions import DecidedBatch, decide_batch
from infrastructure.co_commit import InlineProjection, Statement, WriteModel
from infrastructure.errors import StoreUnavailable
from infrastructure.event_store import MAX_POSITION, ShipmentStore
from infrastructure.idempotency import IdempotencyLedger
from infrastructure.newest_versions import NewestVersions
from infrastructure.recent_states import RecentStates
from infrastructure.store_retries import RETRY_WAIT_SECONDS, TIMED_OUT
from infrastructure.write_commands import Notify, WriteCommand, WriteOutcome

_log = logging.getLogger("shipments.group_commit")

# Rolled back and decided again at most this often when the store refuses an append
# that the row locks should have made safe (a writer outside this path).
MAX_REFUSED_APPENDS = 3


@dataclass(eq=False)
class _Queued:
    command: WriteCommand
    notify: Notify


class _StreamsWithoutRows(Exception):
    """Shipments the write model has no row for: read their streams, then try again."""

    def __init__(self, shipment_ids: list[UUID]) -> None:
        self.shipment_ids = shipment_ids
        super().__init__(f"{len(shipment_ids)} shipments without a view row")


class GroupCommitter:
    """Decides and appends queued writes in shared transactions; each waiter gets its outcome."""

    def __init__(
        self,
        store: ShipmentStore,
        session: AppendSession,
        model: WriteModel,
        projections: Sequence[InlineProjection],
        ledger: IdempotencyLedger,
        *,
        max_batch: int = 64,
        recent_states_size: int = 10_000,
        in_flight: int = 1,
    ) -> None:
        self._store = store
        self._session = session
        self._model = model
        self._projections = tuple(projections)
        self._ledger = ledger
        self._max_batch = max_batch
        self._in_flight = max(1, in_flight)
        # The states written lately, by (shipment, version): the base a stale write was
        # read at, and a decoded state for a row still at that version. The row read
        # under the lock always decides which version is current.
        self.recent = RecentStates(recent_states_size)
        # The newest committed version of each shipment this process has seen, so a tag
        # older than it is refused before it queues here (see ``newest_versions``).
        self.newest = NewestVersions(max(1, recent_states_size))
        self._queue: deque[_Queued] = deque()
        self._condition = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._closed = False

    def enqueue(self, command: WriteCommand, notify: Notify) -> None:
        """Queue a write; ``notify`` gets its outcome once its transaction has ended."""
        with self._condition:
            if self._closed:
                raise RuntimeError("the group committer is closed")
            self._queue.append(_Queued(command, notify))
            if self._idle == 0 and len(self._threads) < self._in_flight:
                # Threads start as the load asks for them: one while writes are rare.
                thread = threading.Thread(
                    target=self._run, name=f"group-commit-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            self._condition.notify()

    def execute(self, command: WriteCommand) -> WriteOutcome:
        """Queue a write and wait for its outcome (for threads; an event loop uses ``enqueue``)."""
        outcome: Future[WriteOutcome] = Future()
        self.enqueue(command, outcome.set_result)
        return outcome.result()

    def close(self) -> None:
        """Commit what is queued, then stop the committer thread."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
            threads = list(self._threads)
        for thread in threads:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._queue and not self._closed:
                    self._idle += 1
                    try:
                        self._condition.wait()
                    finally:
                        self._idle -= 1
                if not self._queue:
                    return
                count = min(len(self._queue), self._max_batch)
                batch = [self._queue.popleft() for _ in range(count)]
            try:
                self._commit(batch)
            except BaseException as error:  # noqa: BLE001 - the thread must outlive a bad batch
                _log.exception("group commit failed unexpectedly")
                _tell(batch, [WriteOutcome(error=error)] * len(batch))

    def _commit(self, batch: list[_Queued]) -> None:
        commands = [queued.command for queued in batch]
        streams: dict[UUID, Shipment | None] = {}
        refused = 0
        reconnected = False
        while True:
            try:
                decided = self._attempt(commands, streams)
            except _StreamsWithoutRows as missing:
                for shipment_id in missing.shipment_ids:
                    streams[shipment_id] = self._stream_state(shipment_id)
                continue
            except IntegrityError:
                # A stream moved on without its view row (a writer outside this path,
                # or a row the projection runner has yet to bring up): decide again on
                # the streams themselves.
                refused += 1
                if refused >= MAX_REFUSED_APPENDS:
                    _log.error("appends refused %d times in a row; giving up on a batch", refused)
                    _fail(batch, StoreUnavailable("the store kept refusing the appends"))
                    return
                for shipment_id in {c.shipment_id for c in commands if c.shipment_id}:
                    streams[shipment_id] = self._stream_state(shipment_id)
                continue
            except (OperationalError, InterfaceError) as error:
                # A pooled connection may have died since its last use: one more try on a
                # fresh one, unless the time-out (pool or lock) is what was spent.
                if reconnected or isinstance(error.__cause__, TIMED_OUT):
                    _fail(batch, StoreUnavailable(str(error)))
                    return
                reconnected = True
                time.sleep(RETRY_WAIT_SECONDS)
                continue
            break
        self._session.committed()
        self.recent.keep(decided.accepted)
        self.newest.note((kept.state.id, kept.state.version) for kept in decided.accepted)
        _tell(batch, decided.outcomes)
        self._take_snapshots(decided.events)

    def _attempt(
        self, commands: list[WriteCommand], streams: dict[UUID, Shipment | None]
    ) -> DecidedBatch:
        """One transaction deciding and appending the whole batch (rolled back if it raises)."""
        keys = [command.claim.ledger_key for command in commands if command.claim is not None]
        shipment_ids = sorted({c.shipment_id for c in commands if c.shipment_id is not None})
        with self._session.transaction() as cursor:
            self._session.lock_keys(cursor, keys)
            records, expired = self._ledger.recall_in(cursor, keys) if keys else ({}, [])
            rows = self._model.read_current(cursor, shipment_ids) if shipment_ids else {}
            missing = [i for i in shipment_ids if i not in rows and i not in streams]
            if missing:
                raise _StreamsWithoutRows(missing)
            states = {i: self._state(i, rows.get(i), streams) for i in shipment_ids}
            # Rows are committed facts, whether or not this transaction commits.
            self.newest.note((i, row[0]) for i, row in rows.items())
            decided = decide_batch(
                commands, states, records, self._projections, self._ledger.record
            )
            mapper = self._store.mapper
            self._session.write(
                cursor,
                [*expired, *grouped_by_sql(decided.statements)],
                [mapper.to_stored_event(event) for event in decided.events],
            )
        return decided

    def _state(
        self,
        shipment_id: UUID,
        row: tuple[int, bytes] | None,
        streams: dict[UUID, Shipment | None],
    ) -> Shipment | None:
        """The newest of the row and the stream's state (when one was read)."""
        from_stream = streams.get(shipment_id)
        if row is None or (from_stream is not None and from_stream.version >= row[0]):
            return from_stream
        kept = self.recent.kept(shipment_id, row[0])
        return kept if kept is not None else self._model.restore(row)

    def _stream_state(self, shipment_id: UUID) -> Shipment | None:
        """The state from the stream itself, for a shipment the view has no row of (yet).

        Events written before the view existed, or by a tool that bypassed it. Read
        outside the transaction; the append that follows is still checked by the
        store's unique (stream, position) key.
        """
        try:
            shipment: Shipment = self._store.repository.get(shipment_id, version=MAX_POSITION)
        except AggregateNotFoundError:
            return None
        return shipment

    def _take_snapshots(self, events: Iterable[Any]) -> None:
        """The library's snapshots, every ``snapshotting_intervals`` versions, as ``save`` does."""
        interval = self._store.snapshotting_intervals.get(Shipment)
        if not interval:
            return
        for event in events:
            if event.originator_version % interval == 0:
                try:
                    self._store.take_snapshot(event.originator_id, event.originator_version)
                except Exception:  # noqa: BLE001 - a snapshot only saves reading; the write stands
                    _log.exception("taking a snapshot failed")


def grouped_by_sql(statements: Iterable[Statement]) -> list[Statement]:
    """The statements grouped by SQL, in order of first use, keeping order within a group.

    The recorder can then run each group as one ``executemany``; within a group,
    rows of one shipment stay in version order.
    """
    groups: dict[int, list[Statement]] = {}
    for statement in statements:
        groups.setdefault(id(statement.sql), []).append(statement)
    return [statement for group in groups.values() for statement in group]


def _fail(batch: Sequence[_Queued], error: BaseException) -> None:
    _tell(batch, [WriteOutcome(error=error)] * len(batch))


def _tell(batch: Sequence[_Queued], outcomes: Sequence[WriteOutcome]) -> None:
    for queued, outcome in zip(batch, outcomes, strict=True):
        try:
            queued.notify(outcome)
        except Exception:  # noqa: BLE001 - one waiter's failure must not strand the others
            _log.exception("notifying a write's outcome failed")
