"""Rebuilding a view from zero while the service keeps serving the old one.

1. Replay the whole event log, up to the head it has when the rebuild starts,
   into a shadow table with no secondary indexes yet: the log is split by
   stream over ``workers`` OS processes (``projections.stream_partitions``),
   each folding its streams one at a time and bulk-writing their rows (COPY on
   PostgreSQL, multi-row INSERTs on SQLite). One process (``workers=1``) does
   the same in this process.
2. Build the shadow's indexes.
3. Catch up with the events appended meanwhile, without blocking anyone.
4. Under the append lock, catch up the last few events and swap the shadow in
   (``projections.view_swap``). GET reads the old table until that commit.

A second rebuild of the same view waits for none: it is refused while one runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from eventsourcing.persistence import Notification, Tracking

from infrastructure.event_store import ShipmentStore
from infrastructure.settings import Settings
from projections.leadership import leadership_for
from projections.shipment_states import ShipmentStates, repository_loader
from projections.shipment_view import ShipmentView, ViewRow
from projections.shipment_view_projection import PreparedBatch, ShipmentViewProjection
from projections.stream_partitions import (
    Partition,
    PartitionReads,
    in_memory,
    in_processes,
    open_store,
    partitions,
)
from projections.view_swap import LockedReads, reset_shadow, swap_in

Progress = Callable[[str, int, int], None]
"""Called with (phase, events done, events to do) as a rebuild goes on."""

SHADOW_SUFFIX = "_rebuild"
# Catch up outside the lock until this few events remain, at most this many times.
SWAP_WHEN_BEHIND_BY = 1_000
MAX_CATCH_UP_ROUNDS = 5
# Rows a replaying process buffers before each bulk write.
BULK_ROWS = 2_000


class RebuildInProgress(RuntimeError):
    """Another process is rebuilding this view right now."""


@dataclass(frozen=True)
class RebuildResult:
    """What a rebuild did: the position the new table starts from, and the events it replayed."""

    view: str
    position: int
    events: int


def rebuild_view(
    store: ShipmentStore,
    view: ShipmentView,
    *,
    workers: int = 1,
    batch_size: int = 2_000,
    state_cache_size: int = 100_000,
    lock_timeout_seconds: float = 10.0,
    progress: Progress | None = None,
) -> RebuildResult:
    """Rebuild ``view`` from the first event and swap it in; see the module docstring."""
    lock = leadership_for(store, view.tracking_name + SHADOW_SUFFIX)
    if not lock.try_acquire():
        raise RebuildInProgress(f"{view.tracking_name} is being rebuilt by another process")
    try:
        replayer = _Replayer(
            store,
            view.for_table(view.table + SHADOW_SUFFIX, deferred_indexes=True),
            batch_size,
            state_cache_size,
            progress or _no_progress,
        )
        reset_shadow(replayer.shadow)
        replayer.bulk_replay(upto=store.shipment_recorder.settled_head(), workers=workers)
        replayer.report("indexing", 0, 1)
        replayer.shadow.create_indexes()
        replayer.report("indexing", 1, 1)
        for _ in range(MAX_CATCH_UP_ROUNDS):
            head = store.shipment_recorder.settled_head()
            if head - replayer.position <= SWAP_WHEN_BEHIND_BY:
                break
            replayer.replay("catching up", upto=head)
        position = swap_in(
            store,
            view,
            replayer.shadow,
            replayer.replay_locked,
            lock_timeout_seconds,
        )
        return RebuildResult(view.tracking_name, position, replayer.events)
    finally:
        lock.close()


class _Replayer:
    """Reads the log in pages and writes each page's rows with its position."""

    def __init__(
        self,
        store: ShipmentStore,
        shadow: ShipmentView,
        batch_size: int,
        state_cache_size: int,
        progress: Progress,
    ) -> None:
        self.store = store
        self.shadow = shadow
        self.position = 0
        self.events = 0
        self.report = progress
        self._batch_size = batch_size
        # Nobody but this rebuild writes the shadow, and its upsert never moves a
        # row back, so there are no applied rows to look up before catching up.
        self._states = ShipmentStates(repository_loader(store), state_cache_size)
        self._projection = ShipmentViewProjection(shadow, self._states, skip_applied=False)

    def bulk_replay(self, *, upto: int, workers: int) -> None:
        """Fill the empty shadow with every stream's state at position ``upto``."""
        self.report("replaying", 0, upto)
        if upto == 0:
            return
        done = 0

        def count(events: int) -> None:
            nonlocal done
            done += events
            self.report("replaying", done, max(done, upto))

        if workers <= 1 or in_memory(self.store):
            replay_partition(self.store, self.shadow, partitions(1)[0], upto, count)
        else:
            task = partial(_replay_partition_in_worker, self.shadow.table, upto)
            in_processes(task, self.store.settings, workers, count)
        self.position = upto
        self.events = done

    def replay(self, phase: str, *, upto: int) -> int:
        """Apply every event after the current position up to ``upto``.

        Three things overlap: reading the next page, folding this one, and
        writing the previous one (database waits release the GIL, and the
        database works on another core). Batches are still written one at a
        time and in order, so positions only move forward.
        """
        recorder = self.store.recorder
        start = self.position
        self.report(phase, 0, max(0, upto - start))

        def read(after: int) -> Sequence[Notification]:
            if after >= upto:
                return []
            return recorder.select_notifications(
                start=after, limit=self._batch_size, stop=upto, inclusive_of_start=False
            )

        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="rebuild") as pool:
            next_page = pool.submit(read, self.position)
            writing: Future[None] | None = None
            while page := next_page.result():
                next_page = pool.submit(read, page[-1].id)
                batch = self._prepare(page)
                if writing is not None:
                    writing.result()
                writing = pool.submit(self._projection.write, batch)
                self.position = page[-1].id
                self.events += len(page)
                self.report(phase, self.position - start, max(upto, self.position) - start)
            if writing is not None:
                writing.result()
        return self.position

    def replay_locked(self, cursor: Any, reads: LockedReads) -> int:
        """Apply the last events, reading and writing inside the swap's transaction."""
        start = self.position
        self.report("swapping", 0, 0)
        with self._states.loading_with(reads.state_at):
            while page := reads.notifications_after(self.position, self._batch_size):
                self._projection.write(self._prepare(page, cursor), cursor)
                self.position = page[-1].id
                self.events += len(page)
                self.report("swapping", self.position - start, self.position - start)
        return self.position

    def _prepare(self, page: Sequence[Notification], cursor: Any = None) -> PreparedBatch:
        # One key lookup for the page; inside the swap, in its transaction: a second
        # connection asked for while it holds one timed out on SQLite under writers.
        events = self.store.mapper.to_domain_events(page, cursor)
        for notification, event in zip(page, events, strict=True):
            self._projection.process_event(
                event, Tracking(self.shadow.tracking_name, notification.id)
            )
        batch = self._projection.prepare()
        assert batch is not None
        return batch


def replay_partition(
    store: ShipmentStore,
    shadow: ShipmentView,
    partition: Partition,
    upto: int,
    count: Callable[[int], None],
) -> int:
    """Write the row of every stream in ``partition`` as of position ``upto``; the events read."""
    reads = PartitionReads(store, shadow)
    rows: list[ViewRow] = []
    pending = total = 0
    with shadow.datastore.transaction(commit=False) as cursor:
        for replayed in reads.streams(cursor, partition, upto):
            if replayed.error is not None or replayed.state is None:
                raise RuntimeError(
                    f"stream {replayed.shipment_id} cannot be replayed: {replayed.error}"
                )
            rows.append(ViewRow.of(replayed.state))
            pending += replayed.events
            if len(rows) >= BULK_ROWS:
                shadow.bulk_insert(rows)
                count(pending)
                total += pending
                rows, pending = [], 0
    if rows:
        shadow.bulk_insert(rows)
    count(pending)
    return total + pending


def _replay_partition_in_worker(
    shadow_table: str, upto: int, settings: Settings, partition: Partition
) -> int:
    """``replay_partition`` in a worker process, on a store of its own."""
    with open_store(settings) as (store, view):
        shadow = view.for_table(shadow_table, deferred_indexes=True)
        return replay_partition(store, shadow, partition, upto, lambda _: None)


def _no_progress(phase: str, done: int, total: int) -> None:
    return None
