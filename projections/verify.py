"""Does the view say what the events say? Replays every stream and compares.

The shipments compared are those the view has a row for *and* those the event
log has a stream for, so a missing row and a row without a stream both show.
For each, the stream is replayed from its first event and its row is computed
afresh; every column and every document field that differs is a
``ViewDifference``. An empty list means the view can be trusted. The streams are
split by id over several OS processes (``projections.stream_partitions``), each
reading its share of the rows and of the events in one snapshot of the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from typing import Any
from uuid import UUID

import orjson

from domain.shipment import Shipment
from infrastructure.event_store import ShipmentStore
from infrastructure.settings import Settings
from projections.postgres_shipment_view import PostgresShipmentView
from projections.shipment_view import ShipmentView, ViewRow
from projections.stream_partitions import (
    Partition,
    PartitionReads,
    Replayed,
    in_memory,
    in_processes,
    open_store,
    partitions,
)

ROW_COLUMNS = (
    "version",
    "status",
    "shipment_type",
    "destination_state",
    "delivery_date",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class ViewDifference:
    """One way the view disagrees with the replayed stream of one shipment."""

    shipment_id: UUID
    field: str
    in_view: Any
    in_events: Any

    def __str__(self) -> str:
        return f"{self.shipment_id} {self.field}: view={self.in_view!r} events={self.in_events!r}"


@dataclass(frozen=True)
class VerifyReport:
    """What a verify compared, and every difference it found (sorted by shipment)."""

    differences: list[ViewDifference]
    shipments: int
    events: int


def view_differences(store: ShipmentStore, view: ShipmentView) -> list[ViewDifference]:
    """Every difference between ``view`` and a replay of the event log (empty: none)."""
    return verify_view(store, view).differences


def verify_view(
    store: ShipmentStore,
    view: ShipmentView,
    *,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Replay every stream in ``workers`` OS processes, each a share of the streams.

    ``progress`` is called with the events replayed as each share finishes.
    """
    report = progress or (lambda _: None)
    if workers <= 1 or in_memory(store):
        found = verify_partition(store, view, partitions(1)[0])
        report(found.events)
        return found
    task = partial(_verify_partition_in_worker, view.table)
    parts = in_processes(task, store.settings, workers, lambda part: report(part.events))
    return VerifyReport(
        sorted(
            (difference for part in parts for difference in part.differences),
            key=lambda difference: difference.shipment_id,
        ),
        sum(part.shipments for part in parts),
        sum(part.events for part in parts),
    )


def verify_partition(
    store: ShipmentStore, view: ShipmentView, partition: Partition
) -> VerifyReport:
    """Compare the rows and streams of one partition, both read in one snapshot of the store.

    The streams and the rows come in id order; they are merged like two sorted
    lists, so a row without a stream and a stream without a row both show. Reading
    both in one transaction means a write committed meanwhile is in neither.
    """
    reads = PartitionReads(store, view)
    differences: list[ViewDifference] = []
    shipments = events = 0
    with _snapshot(view) as cursor:
        streams = reads.streams(cursor, partition)
        rows = ((row | {"id": _uuid(row["id"])}) for row in reads.view_rows(cursor, partition))
        stream, row = next(streams, None), next(rows, None)
        while stream is not None or row is not None:
            shipments += 1
            if row is None or (stream is not None and stream.shipment_id < row["id"]):
                assert stream is not None
                differences += _compare_replayed(stream.shipment_id, None, stream)
                events += stream.events
                stream = next(streams, None)
            elif stream is None or row["id"] < stream.shipment_id:
                differences += _compare(row["id"], row, None)
                row = next(rows, None)
            else:
                differences += _compare_replayed(stream.shipment_id, row, stream)
                events += stream.events
                stream, row = next(streams, None), next(rows, None)
    return VerifyReport(differences, shipments, events)


def _verify_partition_in_worker(
    view_table: str, settings: Settings, partition: Partition
) -> VerifyReport:
    """``verify_partition`` in a worker process, on a store of its own."""
    with open_store(settings) as (store, view):
        return verify_partition(store, view.for_table(view_table, deferred_indexes=True), partition)


@contextmanager
def _snapshot(view: ShipmentView) -> Iterator[Any]:
    """A read-only transaction that sees one state of the whole store."""
    with view.datastore.transaction(commit=False) as cursor:
        if isinstance(view, PostgresShipmentView):
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield cursor


def _compare_replayed(
    shipment_id: UUID, stored: dict[str, Any] | None, replayed: Replayed
) -> Iterator[ViewDifference]:
    if replayed.error is not None:
        yield ViewDifference(shipment_id, "events", None, f"cannot be replayed: {replayed.error}")
        return
    yield from _compare(shipment_id, stored, replayed.state)


def _compare(
    shipment_id: UUID, stored: dict[str, Any] | None, replayed: Shipment | None
) -> Iterator[ViewDifference]:
    if stored is None or replayed is None:
        yield ViewDifference(
            shipment_id,
            "row",
            "present" if stored is not None else "missing",
            "present" if replayed is not None else "missing",
        )
        return
    expected = ViewRow.of(replayed)
    for column in ROW_COLUMNS:
        if _plain(stored[column]) != _plain(getattr(expected, column)):
            yield ViewDifference(shipment_id, column, stored[column], getattr(expected, column))
    in_view = orjson.loads(stored["document"])
    in_events = orjson.loads(expected.document)
    for name in sorted(set(in_view) | set(in_events)):
        if in_view.get(name) != in_events.get(name):
            yield ViewDifference(
                shipment_id, f"document.{name}", in_view.get(name), in_events.get(name)
            )


def _plain(value: Any) -> Any:
    """Dates and times as the text SQLite stores (PostgreSQL returns objects, in its time zone)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value.isoformat() if isinstance(value, date) else value


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(hex=value)
