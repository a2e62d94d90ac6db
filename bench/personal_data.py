"""What sealing personal data costs: PATCH throughput with and without it, and erasure latency.

In one process and one store per kind, through the real app (in-process ASGI, no
sockets), so both sides see the same machine:

- **PATCH throughput, sealed vs plain.** Rounds alternate between the write path as
  shipped (each event's addresses and remarks sealed under the shipment's key) and
  the same path storing events with the library's plain mapper (what it did before
  issue #22; swapped in for the round only). Every PATCH changes the remarks, so
  every event holds personal data: the worst case. Reported: the median of the
  rounds' requests/s on each side and their ratio (goal ≥ 0.9).
- **Erasure latency.** ``DELETE …/personal-data`` on shipments with short streams
  (2 events) and long ones (``--long-events``, with personal data in every event and
  snapshots): p50 and p99 of each (goal: p99 under 50 ms whatever the length).

Never asserts; prints figures. Run:
``python -m bench.personal_data --stores sqlite,postgres --rounds 6 --patches 300``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.wiring import Services
from bench.stores import STORE_KINDS, fresh_store, postgres_problem
from domain.details import ShipmentDetails
from domain.shipment import Shipment
from domain.values import Address, ShipmentType
from infrastructure.sealed_appends import SealedBatch
from infrastructure.settings import Settings
from infrastructure.shipment_service import WriteContext
from infrastructure.write_commands import WriteCommand

CONTEXT = WriteContext(actor="bench", request_id=None)
ADDRESS = Address("812 S 129th Street", "San Diego", "CA", "92102")
SHIPMENTS = 20


class PlainAppends:
    """The write path's storing as it was before sealing: the library's mapper, no key."""

    def __init__(self, mapper: Any) -> None:
        self._mapper = mapper

    def seal(self, cursor: Any, events: Sequence[Any]) -> SealedBatch:
        return SealedBatch(stored_events=[Mapper.to_stored_event(self._mapper, e) for e in events])

    def committed(self, batch: SealedBatch) -> None:
        """Nothing to remember."""


@contextmanager
def plain_writes(services: Services) -> Any:
    """Swap the committer's sealing for the plain mapper while the block runs."""
    committer: Any = services.committer
    sealing = committer._sealing  # the bench's one reach inside: the thing it measures
    committer._sealing = PlainAppends(services.store.mapper)
    try:
        yield
    finally:
        committer._sealing = sealing


def details(n: int) -> ShipmentDetails:
    return ShipmentDetails(
        shipment_type=ShipmentType.HHG,
        pickup_address=ADDRESS,
        destination_address=ADDRESS,
        customer_remarks=f"remark {n}",
    )


def patch_round(client: TestClient, ids: list[UUID], patches: int, offset: int) -> float:
    """Requests/s of ``patches`` PATCHes (If-Match: *) spread over ``ids``."""
    started = time.perf_counter()
    for n in range(patches):
        response = client.patch(
            f"/v1/shipments/{ids[n % len(ids)]}",
            json={"customerRemarks": f"call before noon {offset + n}"},
            headers={"If-Match": "*", "Content-Type": "application/merge-patch+json"},
        )
        assert response.status_code == 200, response.text
    return patches / (time.perf_counter() - started)


def long_stream(services: Services, events: int) -> UUID:
    """A shipment with ``events`` events, personal data in each, a thousand per write."""
    shipment_id = services.shipments.create(details(1), CONTEXT).id
    version = 1
    while version < events:
        end = min(events, version + 1000)

        def decide(current: Shipment | None, first: int = version + 1, last: int = end) -> Shipment:
            assert current is not None
            for n in range(first, last + 1):
                current.revise(details(n), None, CONTEXT.actor, None)
            return current

        services.shipments.execute(WriteCommand(shipment_id, decide))
        version = end
    return shipment_id


def erasure_ms(client: TestClient, ids: list[UUID]) -> list[float]:
    timings: list[float] = []
    for shipment_id in ids:
        started = time.perf_counter()
        response = client.delete(
            f"/v1/shipments/{shipment_id}/personal-data", headers={"If-Match": "*"}
        )
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return timings


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) > 1 else values[0]


def run(kind: str, arguments: argparse.Namespace, directory: Path) -> None:
    with fresh_store(kind, directory, "personal") as url:
        settings = Settings(database_url=url, log_level="warning")
        with TestClient(create_app(settings)) as client:
            services: Services = client.app.state.services  # type: ignore[attr-defined]
            ids = [services.shipments.create(details(n), CONTEXT).id for n in range(SHIPMENTS)]
            patch_round(client, ids, arguments.patches, 0)  # warm-up
            sealed: list[float] = []
            plain: list[float] = []
            for r in range(arguments.rounds):
                sealed.append(
                    patch_round(client, ids, arguments.patches, 2 * r * arguments.patches)
                )
                with plain_writes(services):
                    offset = (2 * r + 1) * arguments.patches
                    plain.append(patch_round(client, ids, arguments.patches, offset))
            with_sealing, without = statistics.median(sealed), statistics.median(plain)
            print(
                f"{kind}: PATCH sealed {with_sealing:7.0f} req/s, plain {without:7.0f} req/s "
                f"(medians of {arguments.rounds} rounds of {arguments.patches}), "
                f"ratio {with_sealing / without:.2f}"
            )
            short = [
                services.shipments.create(details(n), CONTEXT) for n in range(arguments.erasures)
            ]
            for shipment in short:
                shipment.revise(details(99), None, CONTEXT.actor, None)
                services.shipments.revise(shipment, details(100), None, CONTEXT)
            long = [long_stream(services, arguments.long_events) for _ in range(arguments.erasures)]
            erasure_ms(client, [services.shipments.create(details(0), CONTEXT).id])  # warm-up
            for label, timings in (
                ("2 events", erasure_ms(client, [s.id for s in short])),
                (f"{arguments.long_events} events", erasure_ms(client, long)),
            ):
                print(
                    f"{kind}: erasure on {label:>12}: p50 {statistics.median(timings):6.2f} ms, "
                    f"p99 {p99(timings):6.2f} ms ({len(timings)} erasures)"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--patches", type=int, default=300)
    parser.add_argument("--erasures", type=int, default=30)
    parser.add_argument("--long-events", type=int, default=2000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        for kind in arguments.stores.split(","):
            if kind not in STORE_KINDS:
                parser.error(f"unknown store {kind!r}")
            if kind == "postgres" and (problem := postgres_problem()):
                print(f"postgres: skipped ({problem})")
                continue
            run(kind, arguments, Path(directory))


if __name__ == "__main__":
    main()
