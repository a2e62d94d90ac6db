"""Read-modify-write clients never lose an update: every acknowledged increment counts.

Each client reads the shipment, adds 1 to ``weightLbs`` and PATCHes it back with
the ETag it read; on 412 it reads again and retries. If two clients could both
succeed from the same read, the final weight would fall short of the number of
acknowledged increments.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.concurrency.client_pool import run_processes_together
from tests.concurrency.conftest import Endpoints
from tests.concurrency.shipment_client import ShipmentClient
from tests.concurrency.streams import recorded_versions
from tests.concurrency.writers import CounterIncrements, increment_counter

pytestmark = pytest.mark.slow

CLIENT_PROCESSES = 2
THREADS_PER_PROCESS = 2
INCREMENTS_PER_CLIENT = 15
INITIAL_WEIGHT = 1_000


def test_concurrent_read_modify_write_clients_lose_no_update(
    database_url: str, endpoints: Endpoints, new_shipment: dict[str, Any]
) -> None:
    with ShipmentClient(endpoints.urls[0]) as client:
        created = client.create({**new_shipment, "weightLbs": INITIAL_WEIGHT})
    assert created.status == 201, created.describe()
    shipment_id = created.body["id"]
    clients = [
        CounterIncrements(
            endpoints.urls, shipment_id, INCREMENTS_PER_CLIENT, first_endpoint=process + thread
        )
        for thread in range(THREADS_PER_PROCESS)
        for process in range(CLIENT_PROCESSES)
    ]
    groups = [clients[i::CLIENT_PROCESSES] for i in range(CLIENT_PROCESSES)]

    reports = run_processes_together(increment_counter, groups)

    assert [surprise for report in reports for surprise in report.surprises] == []
    successes = sum(report.successes for report in reports)
    assert successes == len(clients) * INCREMENTS_PER_CLIENT
    with ShipmentClient(endpoints.urls[1]) as client:
        final = client.get(shipment_id)
    assert final.body["weightLbs"] == INITIAL_WEIGHT + successes
    assert final.body["version"] == 1 + successes
    assert recorded_versions(database_url, shipment_id) == list(range(1, successes + 2))
    assert "Traceback" not in endpoints.logs(), endpoints.logs()
