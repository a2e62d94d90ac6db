"""Stale writes with ``Prefer: conflict=merge`` under real concurrency: spawned client
processes against real ``shipments serve`` processes sharing one store.

Writers of different fields holding the same tag all succeed; read-modify-write clients
that merge lose no update, their own field's or anyone else's.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.concurrency.client_pool import run_processes_together
from tests.concurrency.conftest import Endpoints
from tests.concurrency.shipment_client import ShipmentClient
from tests.concurrency.streams import recorded_versions
from tests.concurrency.writers import (
    MERGE,
    CounterIncrements,
    MergingWrite,
    increment_counter,
    merge_once,
)

pytestmark = pytest.mark.slow

# One field each: the writers' changes are disjoint.
OWN_FIELDS: list[dict[str, Any]] = [
    {"weightLbs": 4242},
    {"customerRemarks": "from the second writer"},
    {"requestedPickupDate": "2020-05-20"},
    {
        "pickupAddress": {
            "streetAddress1": "1 Main St",
            "city": "Austin",
            "state": "TX",
            "postalCode": "73301",
        }
    },
]


def test_writers_of_disjoint_fields_with_one_tag_all_succeed_when_they_prefer_a_merge(
    database_url: str, endpoints: Endpoints, new_shipment: dict[str, Any]
) -> None:
    with ShipmentClient(endpoints.urls[0]) as client:
        created = client.create(new_shipment)
    assert created.status == 201 and created.etag is not None, created.describe()
    shipment_id = created.body["id"]
    writes = [
        MergingWrite(endpoints.urls[i % 2], shipment_id, created.etag, changes)
        for i, changes in enumerate(OWN_FIELDS)
    ]

    answers = run_processes_together(merge_once, [writes[0::2], writes[1::2]])

    assert [a.status for a in answers] == [200] * len(OWN_FIELDS), [a.describe() for a in answers]
    # The first to commit named the current version; every other one was merged.
    assert sorted(a.preference_applied or "" for a in answers) == [""] + [MERGE] * 3
    with ShipmentClient(endpoints.urls[1]) as client:
        final = client.get(shipment_id)
    for changes in OWN_FIELDS:
        for name, value in changes.items():
            shown = final.body[name]
            assert shown == value or (isinstance(value, dict) and shown["city"] == value["city"])
    assert final.body["version"] == 1 + len(OWN_FIELDS)
    assert recorded_versions(database_url, shipment_id) == [1, 2, 3, 4, 5]
    assert "Traceback" not in endpoints.logs(), endpoints.logs()


def test_read_modify_write_clients_that_merge_lose_no_update(
    database_url: str, two_servers: Endpoints, new_shipment: dict[str, Any]
) -> None:
    urls = two_servers.urls
    with ShipmentClient(urls[0]) as client:
        created = client.create({**new_shipment, "weightLbs": 1, "customerRemarks": "0"})
    assert created.status == 201, created.describe()
    shipment_id = created.body["id"]
    increments = 8
    # Two clients per field: they conflict with each other, and merge past the other field's.
    clients = [
        CounterIncrements(urls, shipment_id, increments, turn, field=field, prefer=MERGE)
        for turn, field in enumerate(["weightLbs", "customerRemarks"] * 2)
    ]

    reports = run_processes_together(increment_counter, [clients[0::2], clients[1::2]])

    assert [s for report in reports for s in report.surprises] == []
    assert [report.successes for report in reports] == [increments] * len(clients)
    with ShipmentClient(urls[1]) as client:
        final = client.get(shipment_id)
    assert final.body["weightLbs"] == 1 + 2 * increments
    assert final.body["customerRemarks"] == str(2 * increments)
    assert final.body["version"] == 1 + len(clients) * increments
    assert recorded_versions(database_url, shipment_id) == list(range(1, final.body["version"] + 1))
    assert "Traceback" not in two_servers.logs(), two_servers.logs()
