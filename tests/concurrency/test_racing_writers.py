"""Of many writers holding the same ETag, exactly one wins; the rest get 412 with the new tag.

The writers are real: threads and spawned OS processes, released together by a
barrier, against real ``shipments serve`` processes sharing one store.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.concurrency.client_pool import run_processes_together, run_threads_together
from tests.concurrency.conftest import Endpoints
from tests.concurrency.shipment_client import Answer, ShipmentClient
from tests.concurrency.streams import recorded_versions
from tests.concurrency.writers import RacingWrite, race_once
from tests.support.servers import running_server

pytestmark = pytest.mark.slow

WRITERS = 32
CLIENT_PROCESSES = 3


def racing_writes(
    urls: tuple[str, ...], shipment_id: str, if_match: str, count: int
) -> list[RacingWrite]:
    """``count`` different PATCHes with the same tag, spread over ``urls`` in turn."""
    return [
        RacingWrite(urls[i % len(urls)], shipment_id, if_match, remarks=f"writer {i}")
        for i in range(count)
    ]


def assert_exactly_one_winner(
    answers: list[Answer], created: Answer, database_url: str, server_logs: str
) -> None:
    """One 200 at version 2; every other writer a 412 naming version 2; two events stored."""
    statuses = Counter(answer.status for answer in answers)
    assert statuses == {200: 1, 412: len(answers) - 1}, f"{statuses}\n" + "\n".join(
        a.describe() for a in answers if a.status not in (200, 412)
    )
    (winner,) = [answer for answer in answers if answer.status == 200]
    assert winner.body["version"] == 2
    assert winner.etag is not None and winner.etag != created.etag
    for loser in (answer for answer in answers if answer.status == 412):
        assert loser.body["currentVersion"] == 2, loser.describe()
        assert f'"{loser.body["currentETag"]}"' == winner.etag, loser.describe()
        assert loser.etag == winner.etag, loser.describe()

    shipment_id = created.body["id"]
    with ShipmentClient(winner.server) as client:
        final = client.get(shipment_id)
    assert final.body["version"] == 2
    assert final.etag == winner.etag
    assert final.body["customerRemarks"] == winner.body["customerRemarks"]
    assert recorded_versions(database_url, shipment_id) == [1, 2]
    assert "Traceback" not in server_logs, server_logs


def create(base_url: str, body: dict[str, Any]) -> Answer:
    with ShipmentClient(base_url) as client:
        created = client.create(body)
    assert created.status == 201, created.describe()
    assert created.etag is not None
    return created


def test_of_32_threads_patching_with_the_same_etag_exactly_one_wins(
    database_url: str, tmp_path: Path, new_shipment: dict[str, Any]
) -> None:
    with running_server(database_url, tmp_path) as server:
        created = create(server.base_url, new_shipment)
        assert created.etag is not None
        writes = racing_writes((server.base_url,), created.body["id"], created.etag, WRITERS)

        answers = run_threads_together(race_once, writes)

        assert_exactly_one_winner(answers, created, database_url, server.log())


def test_of_32_writers_in_several_processes_across_server_processes_exactly_one_wins(
    database_url: str, endpoints: Endpoints, new_shipment: dict[str, Any]
) -> None:
    created = create(endpoints.urls[0], new_shipment)
    assert created.etag is not None
    writes = racing_writes(endpoints.urls, created.body["id"], created.etag, WRITERS)
    groups = [writes[i::CLIENT_PROCESSES] for i in range(CLIENT_PROCESSES)]

    answers = run_processes_together(race_once, groups)

    assert len(answers) == WRITERS
    assert_exactly_one_winner(answers, created, database_url, endpoints.logs())
