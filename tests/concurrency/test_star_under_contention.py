"""``If-Match: *`` matches any existing shipment, also when many writers collide on it.

A write that loses a race under ``*`` is decided again on the new state, never
answered 412 (API.md). Here 24 clients in two OS processes PATCH three shipments
with ``*``, each write a change no other write makes, through one server process
and through two (two workers, or two servers on one store): every answer must
be 200, and each shipment's version must have grown by exactly its writes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.concurrency.client_pool import run_processes_together
from tests.concurrency.conftest import Endpoints
from tests.concurrency.shipment_client import ShipmentClient
from tests.concurrency.streams import recorded_versions
from tests.concurrency.writers import StarWrites, write_with_star
from tests.support.servers import running_server

pytestmark = pytest.mark.slow

CLIENT_PROCESSES = 2
THREADS_PER_PROCESS = 12
SHIPMENTS = 3
WRITES_PER_CLIENT = 12


@pytest.fixture
def one_process(database_url: str, tmp_path: Path) -> Iterator[Endpoints]:
    """One ``shipments serve`` process with one worker."""
    with running_server(database_url, tmp_path) as server:
        yield Endpoints((server.base_url,), [server])


def assert_every_star_write_applied(
    database_url: str, endpoints: Endpoints, new_shipment: dict[str, Any]
) -> None:
    with ShipmentClient(endpoints.urls[0]) as client:
        shipment_ids = tuple(client.create(new_shipment).body["id"] for _ in range(SHIPMENTS))
    clients = [
        StarWrites(endpoints.urls, shipment_ids, f"p{process}-t{thread}", WRITES_PER_CLIENT)
        for process in range(CLIENT_PROCESSES)
        for thread in range(THREADS_PER_PROCESS)
    ]
    groups = [clients[i::CLIENT_PROCESSES] for i in range(CLIENT_PROCESSES)]

    reports = run_processes_together(write_with_star, groups)

    answers = [answer for report in reports for answer in report.answers]
    assert len(answers) == len(clients) * WRITES_PER_CLIENT
    assert Counter(status for _, status, _ in answers) == {200: len(answers)}
    writes = Counter(shipment_id for shipment_id, _, _ in answers)
    with ShipmentClient(endpoints.urls[-1]) as client:
        for shipment_id in shipment_ids:
            final = client.get(shipment_id).body
            assert final["version"] == 1 + writes[shipment_id]
            versions = sorted(v for i, _, v in answers if i == shipment_id)
            assert versions == list(range(2, writes[shipment_id] + 2))  # each exactly once
            assert recorded_versions(database_url, shipment_id) == list(
                range(1, writes[shipment_id] + 2)
            )
    assert "Traceback" not in endpoints.logs(), endpoints.logs()


def test_star_writes_racing_through_one_process_are_all_applied(
    database_url: str, one_process: Endpoints, new_shipment: dict[str, Any]
) -> None:
    assert_every_star_write_applied(database_url, one_process, new_shipment)


def test_star_writes_racing_through_two_processes_are_all_applied(
    database_url: str, endpoints: Endpoints, new_shipment: dict[str, Any]
) -> None:
    assert_every_star_write_applied(database_url, endpoints, new_shipment)
