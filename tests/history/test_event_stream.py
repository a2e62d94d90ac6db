"""``GET /v1/events/stream``: the change feed as Server-Sent Events."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.wiring import Services
from domain.details import ShipmentDetails
from domain.values import ShipmentType
from infrastructure.change_feed import ChangeFeed, FeedPage
from infrastructure.log_follower import LogFollower
from infrastructure.shipment_service import WriteContext
from tests.history.conftest import check_problem, weight_patches, write_stream
from tests.support.servers import running_server


def server_sent_events(text: str) -> list[dict[str, str]]:
    """Parse a text/event-stream body into its events' fields (comments dropped)."""
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith(":") or not line:
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        if fields:
            events.append(fields)
    return events


def stream(client: TestClient, headers: dict[str, str] | None = None, **params: Any) -> Any:
    response = client.get("/v1/events/stream", params=params, headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return server_sent_events(response.text)


@pytest.fixture
def five_events(client: TestClient, new_shipment: dict[str, Any]) -> list[dict[str, Any]]:
    """Five committed events, as ``/v1/events`` lists them."""
    write_stream(client, new_shipment, weight_patches(4))
    items: list[dict[str, Any]] = client.get("/v1/events").json()["items"]
    assert len(items) == 5
    return items


def test_each_event_carries_its_position_as_id_its_type_as_event_and_the_item_as_data(
    client: TestClient, five_events: list[dict[str, Any]]
) -> None:
    events = stream(client, follow="false")

    assert [event["id"] for event in events] == [str(item["position"]) for item in five_events]
    assert [event["event"] for event in events] == [item["type"] for item in five_events]
    assert [httpx.Response(200, content=e["data"]).json() for e in events] == five_events


def test_a_reconnecting_client_resumes_right_after_its_last_event_id(
    client: TestClient, five_events: list[dict[str, Any]]
) -> None:
    third = str(five_events[2]["position"])

    events = stream(client, {"Last-Event-ID": third}, follow="false", after=0)

    assert [event["id"] for event in events] == [str(i["position"]) for i in five_events[3:]]


def test_after_chooses_where_a_new_stream_starts(
    client: TestClient, five_events: list[dict[str, Any]]
) -> None:
    events = stream(client, follow="false", after=five_events[0]["position"])

    assert len(events) == 4


def test_a_limit_ends_the_stream_after_that_many_events(
    client: TestClient, five_events: list[dict[str, Any]]
) -> None:
    assert len(stream(client, limit=2)) == 2


def test_a_following_stream_delivers_events_committed_after_it_caught_up(
    client: TestClient,
    five_events: list[dict[str, Any]],
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caught_up = threading.Event()
    read = ChangeFeed.read

    def read_and_tell(feed: ChangeFeed, after: int, limit: int) -> FeedPage:
        page = read(feed, after, limit)
        if not page.has_more:
            caught_up.set()
        return page

    monkeypatch.setattr(ChangeFeed, "read", read_and_tell)
    wait_beyond = LogFollower.wait_beyond

    async def wait_and_tell(follower: LogFollower, position: int, timeout: float) -> bool:
        caught_up.set()  # a following stream waits here once it has sent what is in memory
        return await wait_beyond(follower, position, timeout)

    monkeypatch.setattr(LogFollower, "wait_beyond", wait_and_tell)

    def write_once_caught_up() -> None:
        assert caught_up.wait(timeout=60)
        services.shipments.create(
            ShipmentDetails(shipment_type=ShipmentType.PPM), WriteContext("late", None)
        )

    writer = threading.Thread(target=write_once_caught_up)
    writer.start()
    events = stream(client, limit=6)
    writer.join()

    assert len(events) == 6
    assert events[-1]["event"] == "Created"
    assert int(events[-1]["id"]) > five_events[-1]["position"]


def test_an_empty_store_gives_an_empty_stream_when_not_following(client: TestClient) -> None:
    assert stream(client, follow="false") == []


@pytest.mark.parametrize("last_event_id", ["abc", "-1", str(2**63)])
def test_a_malformed_last_event_id_is_a_422_problem(client: TestClient, last_event_id: str) -> None:
    response = client.get("/v1/events/stream", headers={"Last-Event-ID": last_event_id})

    check_problem(response, 422)


@pytest.mark.slow
def test_the_stream_ends_cleanly_when_the_client_disconnects(
    database_url: str, tmp_path: Path, new_shipment: dict[str, Any]
) -> None:
    with running_server(database_url, tmp_path) as server:
        httpx.post(f"{server.base_url}/v1/shipments", json=new_shipment).raise_for_status()
        with httpx.stream("GET", f"{server.base_url}/v1/events/stream", timeout=30) as response:
            first_line = next(response.iter_lines())
        # The client has gone; the server notices, stops following and says so.
        deadline = time.monotonic() + 30
        closed = "change feed stream closed after 1 event(s)"
        while closed not in server.log() and time.monotonic() < deadline:
            time.sleep(0.1)

        assert first_line.startswith("event: Created")
        assert closed in server.log()
        assert httpx.get(f"{server.base_url}/v1/events").status_code == 200
        assert "Traceback" not in server.log()
