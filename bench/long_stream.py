"""Does a long stream cost more? p50 of reads and writes on 10,000 events vs on 1 event.

Two shipments live in one fresh store: one with a single event, one with a long
stream (built fast, in-process: the domain command runs many times and the
service appends the pending events in large batches, snapshots included). Then,
through the real app (in-process ASGI, no sockets), requests alternate between
the two shipments so that both see the same machine load:

- ``PATCH`` (load from cache, append one event, co-commit view and index rows),
- ``GET versions/{last}`` (snapshot + at most one snapshot interval of events),
- ``GET ?asOf=<just after the last write>`` (indexed lookup + the same load).

The ratio long/short of each p50 is the figure; the goal is under 1.5. Both
streams receive the same number of PATCHes, so both "last" versions sit at the
same distance from their latest snapshot. Never asserts; prints figures.

Run: ``python -m bench.long_stream --stores sqlite,postgres --events 10000 --samples 150``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import httpx
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.wiring import Services
from bench.stores import STORE_KINDS, fresh_store, postgres_problem
from domain.details import ShipmentDetails
from domain.shipment import Shipment
from domain.values import ShipmentType
from infrastructure.settings import Settings
from infrastructure.shipment_service import WriteContext

CONTEXT = WriteContext(actor="bench", request_id=None)
BATCH = 1000


@dataclass(frozen=True)
class Comparison:
    """p50 latencies (ms) of one operation on the long and on the short stream."""

    operation: str
    long_p50_ms: float
    short_p50_ms: float

    @property
    def ratio(self) -> float:
        return self.long_p50_ms / self.short_p50_ms


def details(weight: int) -> ShipmentDetails:
    return ShipmentDetails(shipment_type=ShipmentType.HHG, weight_lbs=weight)


def build_stream(services: Services, events: int) -> Shipment:
    """A shipment with ``events`` events, appended ``BATCH`` at a time."""
    shipment = services.shipments.create(details(1), CONTEXT)
    version = 1
    while version < events:
        batch_end = min(events, version + BATCH)
        # The domain command records one pending event per call; the service's
        # revise appends the last one together with all those still pending.
        for weight in range(version + 1, batch_end):
            shipment.revise(details(weight), None, CONTEXT.actor, None)
        services.shipments.revise(shipment, details(batch_end), None, CONTEXT)
        version = batch_end
    assert shipment.version == events
    return shipment


def timed_ms(request: Callable[[], httpx.Response]) -> float:
    started = time.perf_counter()
    response = request()
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.text
    return elapsed


def compare(client: TestClient, long_id: UUID, short_id: UUID, samples: int) -> list[Comparison]:
    """Alternate requests between the two shipments; p50 of each operation on each."""
    timings: dict[tuple[str, UUID], list[float]] = {}
    tags = {
        shipment_id: client.get(f"/v1/shipments/{shipment_id}").headers["ETag"]
        for shipment_id in (long_id, short_id)
    }
    for n in range(samples):
        for shipment_id in (long_id, short_id):

            def patch(shipment_id: UUID = shipment_id, n: int = n) -> httpx.Response:
                response: httpx.Response = client.patch(
                    f"/v1/shipments/{shipment_id}",
                    json={"weightLbs": 50_000 + n},
                    headers={"If-Match": tags[shipment_id]},
                )
                tags[shipment_id] = response.headers["ETag"]
                return response

            timings.setdefault(("PATCH", shipment_id), []).append(timed_ms(patch))
    instant = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    for _ in range(samples):
        for shipment_id in (long_id, short_id):
            last = int(client.get(f"/v1/shipments/{shipment_id}").json()["version"])
            reads = {
                "GET versions/{last}": f"/v1/shipments/{shipment_id}/versions/{last}",
                "GET ?asOf=now": f"/v1/shipments/{shipment_id}?asOf={instant.replace('+', '%2B')}",
            }
            for operation, url in reads.items():

                def read(url: str = url) -> httpx.Response:
                    answer: httpx.Response = client.get(url)
                    return answer

                timings.setdefault((operation, shipment_id), []).append(timed_ms(read))
    return [
        Comparison(
            operation,
            statistics.median(timings[(operation, long_id)]),
            statistics.median(timings[(operation, short_id)]),
        )
        for operation in ("PATCH", "GET versions/{last}", "GET ?asOf=now")
    ]


def run(kind: str, events: int, samples: int, directory: Path) -> list[Comparison]:
    """Build both streams in a fresh store of ``kind`` and compare them."""
    with fresh_store(kind, directory, "long") as url:
        settings = Settings(database_url=url, log_level="warning")
        with TestClient(create_app(settings)) as client:
            services: Services = client.app.state.services  # type: ignore[attr-defined]
            started = time.perf_counter()
            long_stream = build_stream(services, events)
            built_s = time.perf_counter() - started
            short_stream = build_stream(services, 1)
            print(f"{kind}: built a {events}-event stream in {built_s:.1f} s")
            return compare(client, long_stream.id, short_stream.id, samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=150)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        for kind in arguments.stores.split(","):
            if kind not in STORE_KINDS:
                parser.error(f"unknown store {kind!r}")
            if kind == "postgres" and (problem := postgres_problem()):
                print(f"postgres: skipped ({problem})")
                continue
            for result in run(kind, arguments.events, arguments.samples, Path(directory)):
                print(
                    f"{kind}: {result.operation:<20} p50 {result.long_p50_ms:7.2f} ms "
                    f"({arguments.events} events) vs {result.short_p50_ms:7.2f} ms (1 event)"
                    f"  ratio {result.ratio:.2f}"
                )


if __name__ == "__main__":
    main()
