"""Projection benchmarks: rebuild throughput, runner lag under writes, list query plans.

    python -m bench.projections --stores sqlite postgres --shipments 20000
    python -m bench.projections --stores postgres --shipments 100000 --explain

For each store (a fresh one, removed afterwards):

1. seed: ``--shipments`` shipments, a fifth of them revised once, written around
   the view (many aggregates per ``save``, so seeding is quick);
2. rebuild: ``rebuild_view`` from zero, timed: events per second;
3. explain (``--explain``): the plan of every list query shape on the rebuilt view
   (PostgreSQL: ``EXPLAIN (ANALYZE, BUFFERS)`` after ``ANALYZE``; SQLite: ``EXPLAIN QUERY PLAN``);
4. lag: ``--lag-seconds`` of writes through the service at ``--rate`` per second
   while the view's runner follows; the lag of each event (its creation to the
   runner's commit of its position) as p50 / p99 / max, and what following costs
   this process: the CPU time of the threads that follow the log (the runner, its
   subscription's pull, poll and listen threads) per write — every write was
   already projected in its own transaction, so this is the steady-state price of
   keeping the runner's position (issue #19: "a measured few µs per write").

It prints figures; it never passes or fails on timing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import uuid4

from api.wiring import Services, build_services
from bench.stores import fresh_store, postgres_problem
from domain.details import ShipmentDetails
from domain.shipment import Shipment
from domain.values import Address, ShipmentType, Status
from infrastructure.settings import Settings
from infrastructure.shipment_service import WriteContext
from projections.postgres_shipment_view import PostgresShipmentView
from projections.rebuild import rebuild_view
from projections.runner import runner_for
from projections.shipment_list import (
    POSTGRES_LIST,
    SQLITE_LIST,
    ListFilters,
    ListPosition,
    ListQuery,
    SortOrder,
    list_statement,
)

STATES = ("CA", "NY", "TX", "WA", "FL", "IL", "OH", "GA")
SEED_BATCH = 1_000


def details(number: int) -> ShipmentDetails:
    return ShipmentDetails(
        shipment_type=list(ShipmentType)[number % len(ShipmentType)],
        requested_pickup_date=date(2024, 1, 1 + number % 28),
        delivery_date=None if number % 10 == 0 else date(2024, 2, 1 + number % 28),
        destination_address=Address("1 Main Street", "Springfield", STATES[number % 8], "12345"),
        weight_lbs=1 + number % 5000,
    )


def seed(services: Services, shipments: int) -> int:
    """Write shipments around the view, many per transaction; returns the event count."""
    events = 0
    for start in range(0, shipments, SEED_BATCH):
        batch = [
            Shipment(details(n), "bench", None)
            for n in range(start, min(start + SEED_BATCH, shipments))
        ]
        for index, shipment in enumerate(batch):
            events += 1
            if index % 5 == 0:  # a fifth are revised once: two events
                shipment.revise(details(index + 1), Status.SUBMITTED, "bench", None)
                events += 1
        services.store.save(*batch)
    return events


def measure_rebuild(services: Services) -> tuple[int, float, float]:
    """(events replayed, wall seconds, CPU seconds of this process) for one rebuild."""
    started, cpu_started = time.perf_counter(), time.process_time()
    result = rebuild_view(
        services.store,
        services.view,
        state_cache_size=services.settings.projection_state_cache_size,
    )
    return result.events, time.perf_counter() - started, time.process_time() - cpu_started


def explain(services: Services) -> list[str]:
    """The plan of each list query shape, continuing after a cursor in the middle."""
    view = services.view
    shapes = {
        "no filter": ListFilters(),
        "status": ListFilters(status="SUBMITTED"),
        "shipmentType": ListFilters(shipment_type="HHG"),
        "destinationState": ListFilters(destination_state="TX"),
        "deliveryDateFrom..To": ListFilters(
            delivery_date_from=date(2024, 2, 10), delivery_date_to=date(2024, 2, 12)
        ),
        "updatedSince": ListFilters(updated_since=datetime(2020, 1, 1, tzinfo=UTC)),
    }
    lines: list[str] = []
    postgres = isinstance(view, PostgresShipmentView)
    with view.datastore.transaction(commit=False) as cursor:
        if postgres:
            cursor.execute(f'ANALYZE "{view.datastore.schema}".{view.table}')
        else:
            # EXPLAIN alone never reads the database, so a pooled connection would
            # describe the schema it knew before the rebuild's swap: read it first.
            cursor.execute("SELECT count(*) FROM sqlite_master")
        table = f'"{view.datastore.schema}".{view.table}' if postgres else view.table
        cursor.execute(f"SELECT count(*) AS n FROM {table}")
        half = int(cursor.fetchone()["n"]) // 2
        cursor.execute(f"SELECT updated_at FROM {table} ORDER BY updated_at LIMIT 1 OFFSET {half}")
        value = cursor.fetchone()["updated_at"]
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        middle = ListPosition(SortOrder.UPDATED_AT, moment, uuid4())
        for name, filters in shapes.items():
            for sort in SortOrder:
                after = (
                    middle
                    if sort is SortOrder.UPDATED_AT
                    else ListPosition(sort, date(2024, 2, 14), uuid4())
                )
                sql, params = list_statement(
                    ListQuery(filters, sort, 50, after), POSTGRES_LIST if postgres else SQLITE_LIST
                )
                prefix = (
                    "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " if postgres else "EXPLAIN QUERY PLAN "
                )
                cursor.execute(prefix + sql.format(table=table), params)
                rows = cursor.fetchall()
                plan = [row["QUERY PLAN"] if postgres else row["detail"] for row in rows]
                lines.append(f"-- {name}, sort={sort.value}")
                lines += [f"   {line}" for line in plan]
    return lines


# Threads of the write path and of this benchmark; every other one follows the log.
_NOT_FOLLOWING = ("MainThread", "bench-writer", "group-commit", "commit-signal")


def following_cpu_seconds() -> float:
    """CPU time so far of this process's threads that follow the log (see ``_NOT_FOLLOWING``)."""
    total = 0.0
    for thread in threading.enumerate():
        if thread.ident is None or thread.name.startswith(_NOT_FOLLOWING):
            continue
        try:
            total += time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
        except OSError:  # ended between the listing and the reading
            continue
    return total


def measure_lag(
    services: Services, settings: Settings, seconds: float, rate: float
) -> tuple[list[float], int, float]:
    """Event lags (seconds) while writes go on at ``rate`` per second; writes; following CPU-s."""
    lags: list[float] = []
    runner = runner_for(services.store, services.view, settings, lags.append).start()
    runner.wait_until_active(30)
    services.view.wait(
        services.view.tracking_name, services.store.recorder.max_notification_id(), timeout=600
    )
    lags.clear()
    stop = threading.Event()
    written = 0
    cpu_started = following_cpu_seconds()

    def write() -> None:
        nonlocal written
        number = 0
        interval = 1.0 / rate
        next_at = time.perf_counter()
        while not stop.is_set():
            services.shipments.create(details(number), WriteContext("bench", None))
            number += 1
            written += 1
            next_at += interval
            time.sleep(max(0.0, next_at - time.perf_counter()))

    writer = threading.Thread(target=write, name="bench-writer")
    writer.start()
    time.sleep(seconds)
    stop.set()
    writer.join()
    services.view.wait(
        services.view.tracking_name, services.store.recorder.max_notification_id(), timeout=60
    )
    following = following_cpu_seconds() - cpu_started
    runner.stop()
    return lags, written, following


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_store(kind: str, arguments: argparse.Namespace, directory: Path) -> None:
    with fresh_store(kind, directory, "projections") as url:
        settings = Settings(
            database_url=url, projection_runner=False, projection_state_cache_size=200_000
        )
        services = build_services(settings)
        try:
            started = time.perf_counter()
            events = seed(services, arguments.shipments)
            print(
                f"[{kind}] seeded {arguments.shipments} shipments, {events} events "
                f"in {time.perf_counter() - started:.1f}s"
            )
            replayed, elapsed, cpu = measure_rebuild(services)
            print(
                f"[{kind}] rebuild: {replayed} events in {elapsed:.2f}s = "
                f"{replayed / elapsed:,.0f} events/s (this process used {cpu:.2f} CPU-s: "
                f"{replayed / cpu:,.0f} events per CPU-second)"
            )
            if arguments.explain:
                print("\n".join(f"[{kind}] {line}" for line in explain(services)))
            for interval in arguments.min_pull_interval if arguments.lag_seconds > 0 else []:
                recorder = type(services.store.recorder)
                recorder.min_pull_interval_seconds = interval  # type: ignore[attr-defined]
                lags, written, following = measure_lag(
                    services, settings, arguments.lag_seconds, arguments.rate
                )
                ms = [lag * 1000 for lag in lags]
                print(
                    f"[{kind}] pulls >= {interval:g}s apart: lag over {len(ms)} batches at "
                    f"{arguments.rate:.0f} writes/s: "
                    f"p50 {percentile(ms, 0.5):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms, "
                    f"max {max(ms):.1f} ms, mean {statistics.fmean(ms):.1f} ms; following the "
                    f"log cost {following * 1e6 / max(1, written):.1f} µs CPU per write, "
                    f"{following * 1e3 / arguments.lag_seconds:.1f} ms CPU per second "
                    f"({written} writes)"
                )
        finally:
            services.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--shipments", type=int, default=20_000)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--lag-seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=200.0, help="writes per second")
    parser.add_argument(
        "--min-pull-interval",
        type=float,
        nargs="+",
        default=[0.2],
        help="seconds between two reads of the runner's subscription (several: one lag run "
        "each, to compare; 0 reads on every commit signal)",
    )
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        for kind in arguments.stores:
            if kind == "postgres" and (problem := postgres_problem()):
                print(f"[postgres] skipped: {problem}")
                continue
            run_store(kind, arguments, Path(directory))


if __name__ == "__main__":
    main()
