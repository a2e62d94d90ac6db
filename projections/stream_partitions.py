"""The event log split by stream, each part folded in its own OS process.

A rebuild or a verify must fold every stream from its first event. One process
reading the log in position order is CPU-bound on one core (decoding events,
folding them, encoding documents) and needs a cache of the states of every
shipment whose stream is still open. Here the log is cut instead into ranges of
shipment ids (UUIDs are uniform, so equal ranges hold about equal work). A
part's events are read in primary-key order — (stream, version), the order
of the events table's own index — so each stream's events arrive together and
in order: the fold holds one state at a time, and no stream is ever split
between two processes.

The events are read with a hand-written keyset query: the library's recorder
reads one stream (``select_events``) or the log by position
(``select_notifications``), neither by a range of streams. Decoding and
folding are the library's own (``mapper.to_domain_event``, ``event.mutate``).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from psycopg.sql import SQL, Identifier

from domain.shipment import Shipment
from infrastructure.event_store import ShipmentStore
from infrastructure.settings import Settings
from projections.postgres_shipment_view import PostgresShipmentView
from projections.shipment_view import ShipmentView
from projections.store_views import shipment_view_of

_UUID_SPACE = 2**128
# Partitions per process: finer parts even out the load when one process is slowed.
PARTS_PER_WORKER = 4
PAGE_SIZE = 5_000

Result = TypeVar("Result")


@dataclass(frozen=True)
class Partition:
    """The streams whose ids lie in ``first``..``last`` (inclusive), as UUID integers."""

    first: int
    last: int


def partitions(count: int) -> list[Partition]:
    """``count`` ranges of equal width covering every UUID."""
    step = _UUID_SPACE // count
    bounds = [step * index for index in range(count)] + [_UUID_SPACE]
    return [Partition(bounds[i], bounds[i + 1] - 1) for i in range(count)]


@dataclass(frozen=True)
class Replayed:
    """One stream folded: the state after its last event read, or why it could not be."""

    shipment_id: UUID
    state: Shipment | None
    events: int
    error: str | None = None


class PartitionReads:
    """Keyset-paged reads of one store, in id order, within one partition."""

    def __init__(self, store: ShipmentStore, view: ShipmentView) -> None:
        self.store = store
        self.view = view
        events = store.recorder.events_table_name  # type: ignore[attr-defined]
        if isinstance(view, PostgresShipmentView):
            self.postgres = True
            schema = Identifier(view.datastore.schema)
            table: Any = SQL("{}.{}").format(schema, Identifier(events))
            view_table: Any = SQL("{}.{}").format(schema, Identifier(view.table))
            mark = "%s"
            position = "notification_id"
        else:
            self.postgres = False
            table, view_table, mark, position = events, view.table, "?", "rowid"
        columns = "originator_id, originator_version, topic, state"
        self._events_sql = self._statement(
            f"SELECT {columns} FROM {{table}} "
            f"WHERE (originator_id, originator_version) > ({mark}, {mark}) "
            f"AND originator_id <= {mark} AND {position} <= {mark} "
            f"ORDER BY originator_id, originator_version LIMIT {mark}",
            table,
        )
        # The first page of rows starts at the range's first id, the next after the last seen.
        self._rows_sql = {
            start: self._statement(
                f"SELECT * FROM {{table}} WHERE id {start} {mark} AND id <= {mark} "
                f"ORDER BY id LIMIT {mark}",
                view_table,
            )
            for start in (">=", ">")
        }

    def _statement(self, text: str, table: Any) -> Any:
        return SQL(text).format(table=table) if self.postgres else text.format(table=table)

    def key(self, value: int | UUID) -> Any:
        """An id as this store keeps it (uuid on PostgreSQL, 32 hex digits on SQLite)."""
        shipment_id = value if isinstance(value, UUID) else UUID(int=value)
        return shipment_id if self.postgres else shipment_id.hex

    def streams(
        self, cursor: Any, partition: Partition, upto: int | None = None
    ) -> Iterator[Replayed]:
        """Every stream of the partition folded from its first event (up to position ``upto``)."""
        to_event = self.store.mapper.to_domain_event
        # Versions start at 1, so (first id, 0) is just below the range's first event.
        after: tuple[Any, int] = (self.key(partition.first), 0)
        last = self.key(partition.last)
        limit_position = 2**63 - 1 if upto is None else upto
        shipment_id: UUID | None = None
        state: Any = None
        events = 0
        error: str | None = None
        while True:
            cursor.execute(self._events_sql, (*after, last, limit_position, PAGE_SIZE))
            rows = cursor.fetchall()
            decoded = self._decoded(rows)
            for index, row in enumerate(rows):
                row_id = _uuid(row["originator_id"])
                if row_id != shipment_id:
                    if shipment_id is not None:
                        yield Replayed(shipment_id, state, events, error)
                    shipment_id, state, events, error = row_id, None, 0, None
                events += 1
                if error is not None:
                    continue
                try:
                    event: Any = decoded[index] or to_event(_stored(row))
                    state = event.mutate(state)
                except Exception as failure:  # noqa: BLE001 - the caller reports or raises it
                    state, error = None, f"v{row['originator_version']}: {failure!r}"
            if len(rows) < PAGE_SIZE:
                break
            after = (rows[-1]["originator_id"], rows[-1]["originator_version"])
        if shipment_id is not None:
            yield Replayed(shipment_id, state, events, error)

    def _decoded(self, rows: Sequence[Any]) -> list[Any]:
        """The page's events, decoded with one lookup of the keys they name; when that
        fails, Nones (each event is then decoded alone, so the failing one is named)."""
        try:
            return self.store.mapper.to_domain_events([_stored(row) for row in rows])
        except Exception:  # noqa: BLE001 - reported event by event by the caller
            return [None] * len(rows)

    def view_rows(self, cursor: Any, partition: Partition) -> Iterator[dict[str, Any]]:
        """The view's rows of the partition's shipments, in id order."""
        start, after = ">=", self.key(partition.first)
        last = self.key(partition.last)
        while True:
            cursor.execute(self._rows_sql[start], (after, last, PAGE_SIZE))
            rows = [dict(row) for row in cursor.fetchall()]
            yield from rows
            if len(rows) < PAGE_SIZE:
                return
            start, after = ">", rows[-1]["id"]


def in_processes(
    task: Callable[[Settings, Partition], Result],
    settings: Settings,
    workers: int,
    on_done: Callable[[Result], None],
) -> list[Result]:
    """``task`` on every partition, ``workers`` OS processes at a time; each result as it comes.

    Processes are spawned, not forked: the parent holds connection pools and
    threads that a forked child must not inherit. As with any spawned process,
    the program's main module must only start work under
    ``if __name__ == "__main__"`` (the ``shipments`` command and pytest do).
    """
    parts = partitions(workers * PARTS_PER_WORKER)
    context = multiprocessing.get_context("spawn")
    results: list[Result] = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures: list[Future[Result]] = [pool.submit(task, settings, part) for part in parts]
        for future in as_completed(futures):
            results.append(future.result())
            on_done(results[-1])
    return results


@contextmanager
def open_store(settings: Settings) -> Iterator[tuple[ShipmentStore, ShipmentView]]:
    """A worker's own store and view: the same database, a small pool, no tables created."""
    store = ShipmentStore(
        settings.model_copy(update={"create_tables": False, "pool_size": 2, "pool_max_overflow": 2})
    )
    try:
        yield store, shipment_view_of(store)
    finally:
        store.close()


def in_memory(store: ShipmentStore) -> bool:
    """Whether the store lives in this process's memory (no other process can open it)."""
    pool = getattr(store.factory.datastore, "pool", None)  # type: ignore[attr-defined]
    return bool(getattr(pool, "is_sqlite_memory_mode", False))


def default_workers() -> int:
    """One process per CPU."""
    return multiprocessing.cpu_count()


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(hex=value)


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(
        originator_id=_uuid(row["originator_id"]),
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=bytes(row["state"]),
    )
