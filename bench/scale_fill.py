"""Fill a store with many shipments and events through the store's own append path.

Every event is built by the domain aggregate (``Shipment``, ``revise``) and
stored through the write path's own append session (the library's mapper,
transcoder and insert), with the view rows and as-of index rows committed in
the same transaction, as the group committer commits them. Nothing is written
with SQL of our own. Writes are batched (one transaction per ``SAVE_BATCH``
aggregates) and spread over several processes.

The log interleaves streams as real traffic does: shipments are filled in
chunks, and each round of a chunk appends one event to each of its shipments,
so a stream's events lie far apart in the log.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from eventsourcing.persistence import Tracking

from api.wiring import Services, append_session, build_services
from domain.details import ShipmentDetails
from domain.shipment import Shipment
from domain.values import Address, ShipmentType, Status
from infrastructure.group_commit import grouped_by_sql
from infrastructure.sealed_appends import SealedAppends
from infrastructure.settings import Settings

CHUNK = 5_000  # shipments a process fills together (held in memory)
SAVE_BATCH = 500  # aggregates per transaction
STATES = ("CA", "NY", "TX", "WA", "FL", "IL", "OH", "GA", "AZ", "CO")
# Revisions move a shipment along the status machine, never to a final status, so
# that the load's PATCHes keep being accepted.
STATUS_AT_REVISION = {1: Status.SUBMITTED, 2: Status.APPROVED, 3: Status.IN_TRANSIT}

_services: Services | None = None


@dataclass(frozen=True)
class FillResult:
    """What a fill wrote and how long it took."""

    shipment_ids: list[str]
    events: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / max(self.seconds, 1e-9)


def details(number: int, revision: int) -> ShipmentDetails:
    """Varied details: every type and many states, dates over a year, changing weights."""
    pickup = date(2025, 1, 1) + timedelta(days=(number * 7) % 365)
    return ShipmentDetails(
        shipment_type=list(ShipmentType)[number % len(ShipmentType)],
        requested_pickup_date=pickup,
        delivery_date=None if number % 10 == 0 else pickup + timedelta(days=3 + number % 20),
        destination_address=Address(
            f"{number % 9000 + 1} Main Street", "Springfield", STATES[number % 10], "12345"
        ),
        weight_lbs=1 + (number + revision) % 50_000,
    )


def events_per_shipment(shipments: int, events: int, number: int) -> int:
    """How many events shipment ``number`` gets: ``events`` spread evenly (each at least 1)."""
    base, extra = divmod(max(events, shipments), shipments)
    return base + (1 if number < extra else 0)


def fill(settings: Settings, shipments: int, events: int, processes: int) -> FillResult:
    """Fill the (empty) store named by ``settings`` in ``processes`` processes."""
    started = time.perf_counter()
    chunks = [(start, min(start + CHUNK, shipments)) for start in range(0, shipments, CHUNK)]
    ids: dict[int, list[str]] = {}
    written = 0
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        processes, mp_context=context, initializer=_open, initargs=(settings,)
    ) as pool:
        futures = {
            pool.submit(_fill_chunk, first, end, shipments, events): first for first, end in chunks
        }
        for done, future in enumerate(as_completed(futures), start=1):
            chunk_ids, chunk_events = future.result()
            ids[futures[future]] = chunk_ids
            written += chunk_events
            elapsed = time.perf_counter() - started
            print(
                f"  filled {done}/{len(chunks)} chunks, {written:,} events, "
                f"{written / elapsed:,.0f} events/s",
                flush=True,
            )
    seconds = time.perf_counter() - started
    mark_view_current(settings)
    return FillResult([i for first in sorted(ids) for i in ids[first]], written, seconds)


def mark_view_current(settings: Settings) -> None:
    """Record the view as caught up with the log's head.

    The fill co-committed every view row with its events, as the write path does;
    in a running service the projection runner follows along and records its
    position. Without this a server started on the filled store would re-read
    the whole log before it is ready.
    """
    services = build_services(settings)
    try:
        head = services.store.recorder.max_notification_id() or 0
        view = services.view
        if (view.max_tracking_id(view.tracking_name) or 0) < head:
            view.upsert([], Tracking(view.tracking_name, head))
    finally:
        services.close()


def _open(settings: Settings) -> None:
    global _services  # noqa: PLW0603 - one store per worker process, opened once
    _services = build_services(
        settings.model_copy(update={"create_tables": False, "projection_runner": False})
    )


def _fill_chunk(first: int, end: int, shipments: int, events: int) -> tuple[list[str], int]:
    assert _services is not None
    store, view, index = _services.store, _services.view, _services.version_index
    session = append_session(store, _services.settings)
    sealing = SealedAppends(store.mapper, CHUNK)  # remembers each shipment's key
    interval = store.snapshotting_intervals.get(Shipment)
    counts = {n: events_per_shipment(shipments, events, n) for n in range(first, end)}
    aggregates = {n: Shipment(details(n, 0), "bench-fill", None) for n in counts}
    written = 0
    for revision in range(max(counts.values())):
        if revision > 0:
            for n, shipment in aggregates.items():
                if counts[n] > revision:
                    shipment.revise(
                        details(n, revision), STATUS_AT_REVISION.get(revision), "bench-fill", None
                    )
        due = [shipment for shipment in aggregates.values() if shipment.pending_events]
        for start in range(0, len(due), SAVE_BATCH):
            batch = due[start : start + SAVE_BATCH]
            written += sum(len(shipment.pending_events) for shipment in batch)
            # Grouped by statement, as the write path groups them: one executemany each.
            statements: list[Any] = [s for shipment in batch for s in view.statements_for(shipment)]
            statements += [s for shipment in batch for s in index.statements_for(shipment)]
            new_events = [event for shipment in batch for event in shipment.collect_events()]
            with session.transaction() as cursor:
                # Sealed under each shipment's key, made in this transaction, as the
                # committer seals them (``infrastructure.sealed_appends``).
                sealed = sealing.seal(cursor, new_events)
                session.write(
                    cursor, [*grouped_by_sql(statements), *sealed.statements], sealed.stored_events
                )
            session.committed()
            sealing.committed(sealed)
            for event in new_events:  # the library's snapshots, as the committer takes them
                if interval and event.originator_version % interval == 0:
                    store.take_snapshot(event.originator_id, event.originator_version)
    return [str(shipment.id) for shipment in aggregates.values()], written
