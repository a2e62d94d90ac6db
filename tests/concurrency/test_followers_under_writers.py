"""Two servers, sixteen writers, and followers of the change feed: every event exactly once.

On PostgreSQL appends overlap (no table lock) and commit out of position order
all the time under this load; a follower paging ``/v1/events`` and one on the
SSE stream must still see every committed event once, positions strictly
increasing — the same list as the log read back at the end. On SQLite the one
writer makes this the plain case, checked all the same.
"""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.concurrency.conftest import Endpoints
from tests.concurrency.shipment_client import TIMEOUT_SECONDS, ShipmentClient

WRITERS = 16
PATCHES_EACH = 12
EXPECTED = WRITERS * (1 + PATCHES_EACH)
PAGE = 25

Seen = tuple[int, str, int]  # position, shipment id, version


def write_a_stream(url: str, writer: int, start: threading.Barrier) -> str:
    """Create a shipment, then change it ``PATCHES_EACH`` times; every write appends one event."""
    with ShipmentClient(url) as client:
        client.connect()
        start.wait()
        created = client.create({"shipmentType": "HHG", "weightLbs": 1})
        assert created.status == 201, created.describe()
        shipment_id = str(created.body["id"])
        for n in range(PATCHES_EACH):
            answer = client.patch(shipment_id, "*", {"weightLbs": 1000 * writer + n + 2})
            assert answer.status == 200, answer.describe()
        return shipment_id


def page_the_feed(urls: tuple[str, str]) -> list[Seen]:
    """Page ``/v1/events`` from position 0, alternating servers, until every event is seen."""
    seen: list[Seen] = []
    after = 0
    deadline = time.monotonic() + 180
    with httpx.Client(timeout=TIMEOUT_SECONDS) as http:
        for url in itertools.cycle(urls):
            if len(seen) >= EXPECTED:
                return seen
            assert time.monotonic() < deadline, f"saw {len(seen)} of {EXPECTED} events"
            response = http.get(f"{url}/v1/events", params={"after": after, "limit": PAGE})
            response.raise_for_status()
            for item in response.json()["items"]:
                seen.append((item["position"], item["shipmentId"], item["version"]))
                after = item["position"]
    raise AssertionError("unreachable")


def follow_the_stream(url: str, opened: threading.Event) -> list[Seen]:
    """Follow ``/v1/events/stream`` from position 0 until ``EXPECTED`` events arrived."""
    seen: list[Seen] = []
    data: dict[str, Any] = {}
    params = {"after": 0, "limit": EXPECTED}
    with httpx.stream("GET", f"{url}/v1/events/stream", params=params, timeout=120) as response:
        response.raise_for_status()
        opened.set()
        for line in response.iter_lines():
            if line.startswith("data:"):
                data = httpx.Response(200, content=line.removeprefix("data:")).json()
            elif not line and data:
                seen.append((data["position"], data["shipmentId"], data["version"]))
                data = {}
    return seen


def read_the_whole_log(url: str) -> list[Seen]:
    seen: list[Seen] = []
    after = 0
    while True:
        body = httpx.get(f"{url}/v1/events", params={"after": after, "limit": 200}).json()
        seen += [(i["position"], i["shipmentId"], i["version"]) for i in body["items"]]
        if body["nextAfter"] is None:
            return seen
        after = body["nextAfter"]


@pytest.mark.slow
def test_followers_see_every_event_once_in_strictly_increasing_positions(
    two_servers: Endpoints,
) -> None:
    urls = two_servers.urls
    start = threading.Barrier(WRITERS + 1)
    opened = threading.Event()
    with ThreadPoolExecutor(max_workers=WRITERS + 2) as pool:
        stream = pool.submit(follow_the_stream, urls[1], opened)
        assert opened.wait(TIMEOUT_SECONDS), "the stream never opened"
        feed = pool.submit(page_the_feed, urls)
        writers = [pool.submit(write_a_stream, urls[n % 2], n, start) for n in range(WRITERS)]
        start.wait()
        shipment_ids = {writer.result() for writer in writers}
        paged, streamed = feed.result(), stream.result()

    log = read_the_whole_log(urls[0])
    assert len(log) == EXPECTED, two_servers.logs()
    assert {shipment for _, shipment, _ in log} == shipment_ids
    for seen in (paged, streamed):
        assert [position for position, _, _ in seen] == sorted({p for p, _, _ in seen})
        assert seen == log
    for shipment in shipment_ids:
        versions = [version for _, s, version in log if s == shipment]
        assert versions == list(range(1, PATCHES_EACH + 2))
