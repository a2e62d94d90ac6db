"""A reader paging the change feed while writers append sees every event exactly once.

On PostgreSQL the writers are truly concurrent transactions (and some lose races,
so their positions are used up and never committed); the reader must still
neither skip an event committed later with a lower position nor see one twice.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient

from api.wiring import Services
from domain.details import ShipmentDetails
from domain.values import ShipmentType
from infrastructure.errors import VersionConflict
from infrastructure.shipment_service import WriteContext

WRITERS = 4
REVISIONS_EACH = 20
RACERS = 2
RACE_WINS_EACH = 8


def details(weight: int) -> ShipmentDetails:
    return ShipmentDetails(shipment_type=ShipmentType.HHG, weight_lbs=weight)


def write_one_stream(services: Services, name: str, halfway: threading.Event) -> int:
    """Create a shipment and revise it; pause halfway until the reader has read."""
    context = WriteContext(actor=name, request_id=None)
    shipment = services.shipments.create(details(1), context)
    for weight in range(2, REVISIONS_EACH + 2):
        if weight == REVISIONS_EACH // 2:
            assert halfway.wait(timeout=60), "the reader never read"
        services.shipments.revise(shipment, details(weight), None, context)
    return 1 + REVISIONS_EACH


def race_on(services: Services, shipment_id: Any, name: str) -> int:
    """Revise a shared shipment until this writer has won ``RACE_WINS_EACH`` races."""
    context = WriteContext(actor=name, request_id=None)
    wins = 0
    while wins < RACE_WINS_EACH:
        shipment = services.shipments.load(shipment_id)
        try:
            services.shipments.revise(shipment, details(shipment.version + 1), None, context)
        except VersionConflict:
            continue
        wins += 1
    return wins


def test_a_reader_paging_during_concurrent_writes_sees_each_event_once_in_order(
    client: TestClient, services: Services
) -> None:
    shared = services.shipments.create(details(1), WriteContext("setup", None))
    halfway = threading.Event()
    seen: list[dict[str, Any]] = []
    after = 0
    with ThreadPoolExecutor(max_workers=WRITERS + RACERS) as pool:
        futures = [
            pool.submit(write_one_stream, services, f"writer-{n}", halfway) for n in range(WRITERS)
        ]
        futures += [pool.submit(race_on, services, shared.id, f"racer-{n}") for n in range(RACERS)]
        while True:
            writers_done = all(future.done() for future in futures)
            response = client.get("/v1/events", params={"after": after, "limit": 7})
            assert response.status_code == 200, response.text
            page = response.json()
            seen.extend(page["items"])
            if page["items"]:
                after = page["items"][-1]["position"]
            if any(item["data"]["actor"].startswith("writer-") for item in page["items"]):
                halfway.set()  # The reader has read while writers are mid-way: let them go on.
            if writers_done and page["nextAfter"] is None:
                break
        written = 1 + sum(future.result() for future in futures)

    committed = services.store.recorder.select_notifications(start=1, limit=10_000)
    positions = [item["position"] for item in seen]
    assert all(a < b for a, b in itertools.pairwise(positions)), "not increasing"
    assert [(item["position"], item["shipmentId"], item["version"]) for item in seen] == [
        (n.id, str(n.originator_id), n.originator_version) for n in committed
    ]
    assert len(seen) == written
