"""Micro-benchmark without HTTP: how many ``ShipmentService.revise`` appends per second.

Each writer thread owns its own shipments (no lost races by design), loads one,
changes its weight and remarks, and appends one event through the same
``ShipmentService`` the API uses — co-committed view row included. The figure
is what the store and the event-sourcing layer cost, without FastAPI, JSON or
sockets. Never asserts on timing; it prints and returns figures.

Run: ``python -m bench.appends --stores sqlite,postgres --threads 1,8,32 --duration 5``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from uuid import UUID

from api.wiring import Services, build_services
from bench.stores import STORE_KINDS, fresh_store, postgres_problem
from domain.details import ShipmentDetails
from domain.values import Address, ShipmentType
from infrastructure.errors import VersionConflict
from infrastructure.settings import Settings
from infrastructure.shipment_service import WriteContext

CONTEXT = WriteContext(actor="bench", request_id=None)
SHIPMENTS_PER_WRITER = 4


@dataclass(frozen=True)
class AppendsResult:
    """One in-process append run: ``threads`` writers for ``duration_s``."""

    store: str
    threads: int
    appends: int
    conflicts: int
    duration_s: float

    @property
    def appends_per_s(self) -> float:
        return self.appends / self.duration_s if self.duration_s else 0.0


def sample_details() -> ShipmentDetails:
    """The same shipment the HTTP benchmark seeds, as domain details."""
    return ShipmentDetails(
        shipment_type=ShipmentType.UHAUL,
        requested_pickup_date=date(2020, 5, 28),
        delivery_date=date(2020, 6, 1),
        destination_address=Address(
            street_address1="812 S 129th Street", city="San Diego", state="CA", postal_code="92102"
        ),
        weight_lbs=4200,
    )


def measure_appends(
    services: Services, store: str, threads: int, duration_s: float
) -> AppendsResult:
    """Run ``threads`` writers for ``duration_s`` seconds on fresh shipments."""
    shipments = services.shipments
    owned = [
        [shipments.create(sample_details(), CONTEXT).id for _ in range(SHIPMENTS_PER_WRITER)]
        for _ in range(threads)
    ]
    counts = [[0, 0] for _ in range(threads)]  # appends, conflicts per writer
    start = threading.Barrier(threads + 1)
    deadline: list[float] = []

    def writer(index: int) -> None:
        start.wait()
        sent = 0
        while time.perf_counter() < deadline[0]:
            sent += 1
            shipment_id: UUID = owned[index][sent % SHIPMENTS_PER_WRITER]
            shipment = shipments.load(shipment_id)
            details = replace(
                shipment.details, weight_lbs=sent % 100_000 + 1, customer_remarks=f"w{index} {sent}"
            )
            try:
                shipments.revise(shipment, details, None, CONTEXT)
            except VersionConflict:
                counts[index][1] += 1
            else:
                counts[index][0] += 1

    workers = [threading.Thread(target=writer, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    began = time.perf_counter()
    deadline.append(began + duration_s)
    start.wait()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    return AppendsResult(
        store=store,
        threads=threads,
        appends=sum(c[0] for c in counts),
        conflicts=sum(c[1] for c in counts),
        duration_s=elapsed,
    )


def run_appends(
    stores: list[str], thread_counts: list[int], duration_s: float, repeat: int
) -> list[AppendsResult]:
    """Every (store, threads) combination, ``repeat`` times, each store fresh."""
    results: list[AppendsResult] = []
    with tempfile.TemporaryDirectory(prefix="bench-appends-") as directory:
        for store in stores:
            if store == "postgres" and (problem := postgres_problem()) is not None:
                print(f"appends: skipping postgres: {problem}")
                continue
            with fresh_store(store, Path(directory), "appends") as url:
                services = build_services(Settings(database_url=url))
                try:
                    for threads in thread_counts:
                        for _ in range(repeat):
                            result = measure_appends(services, store, threads, duration_s)
                            results.append(result)
                            print(
                                f"appends: {store:8} {threads:>3} thread(s): "
                                f"{result.appends_per_s:8.0f}/s "
                                f"({result.appends} in {result.duration_s:.1f}s, "
                                f"{result.conflicts} conflicts)",
                                flush=True,
                            )
                finally:
                    services.close()
    return results


def appends_table(results: list[AppendsResult]) -> str:
    """A markdown table of the median appends/s per store and thread count."""
    stores = list(dict.fromkeys(r.store for r in results))
    thread_counts = sorted({r.threads for r in results})
    lines = [
        "| store | " + " | ".join(f"{t} writer(s)" for t in thread_counts) + " |",
        "|---|" + "---:|" * len(thread_counts),
    ]
    for store in stores:
        cells = []
        for threads in thread_counts:
            rates = [r.appends_per_s for r in results if (r.store, r.threads) == (store, threads)]
            cells.append(f"{statistics.median(rates):,.0f}/s" if rates else "-")
        lines.append(f"| {store} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: run the in-process micro-benchmark and print its table."""
    parser = argparse.ArgumentParser(prog="python -m bench.appends", description=__doc__)
    parser.add_argument("--stores", default=",".join(STORE_KINDS))
    parser.add_argument("--threads", default="1,8,32", help="comma-separated writer counts")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run")
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args(argv)
    results = run_appends(
        arguments.stores.split(","),
        [int(t) for t in arguments.threads.split(",")],
        arguments.duration,
        arguments.repeat,
    )
    print("\nIn-process appends/s (ShipmentService.revise, median):\n")
    print(appends_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
