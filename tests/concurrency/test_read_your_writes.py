"""A write acknowledged by one server is visible at once through every other server."""

from __future__ import annotations

from typing import Any

import pytest

from tests.concurrency.client_pool import run_threads_together
from tests.concurrency.conftest import Endpoints
from tests.concurrency.shipment_client import ShipmentClient
from tests.concurrency.writers import WritesReadElsewhere, write_then_read_elsewhere

pytestmark = pytest.mark.slow

CLIENTS = 4
ROUNDS = 25


def test_a_write_acknowledged_by_one_server_is_immediately_visible_on_the_other(
    two_servers: Endpoints, new_shipment: dict[str, Any]
) -> None:
    tasks = []
    with ShipmentClient(two_servers.urls[0]) as client:
        for _ in range(CLIENTS):
            created = client.create(new_shipment)
            assert created.status == 201 and created.etag is not None, created.describe()
            tasks.append(
                WritesReadElsewhere(two_servers.urls, created.body["id"], created.etag, ROUNDS)
            )

    reports = run_threads_together(write_then_read_elsewhere, tasks)

    assert [violation for report in reports for violation in report.violations] == []
    assert sum(report.acknowledged for report in reports) == CLIENTS * ROUNDS
    assert "Traceback" not in two_servers.logs(), two_servers.logs()
