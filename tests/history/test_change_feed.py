"""``GET /v1/events``: every shipment's events in commit order, paged by position."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.history.conftest import PATCHES, check_problem, weight_patches, write_stream

INTERNAL_WORDS = ("topic", "originator", "class_version", "_type_", "domain.")


def feed(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/v1/events", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_feed_lists_every_event_of_every_shipment_in_commit_order(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    first = write_stream(client, new_shipment, weight_patches(2))
    second = write_stream(client, new_shipment, weight_patches(1))
    client.patch(
        first.url,
        json={"weightLbs": 999},
        headers={"If-Match": first.writes[-1].etag},
    ).raise_for_status()

    items = feed(client)["items"]

    assert [(item["shipmentId"], item["version"]) for item in items] == [
        (first.id, 1),
        (first.id, 2),
        (first.id, 3),
        (second.id, 1),
        (second.id, 2),
        (first.id, 4),
    ]
    positions = [item["position"] for item in items]
    assert positions == sorted(set(positions))
    assert [item["type"] for item in items][:2] == ["Created", "Revised"]
    assert items[0]["recordedAt"] == first.write(1).document["createdAt"]


def test_a_page_after_a_position_continues_exactly_where_the_last_one_ended(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    write_stream(client, new_shipment, weight_patches(6))
    write_stream(client, new_shipment, weight_patches(4))
    everything = feed(client, limit=500)["items"]

    seen: list[dict[str, Any]] = []
    after: int | None = 0
    while after is not None:
        page = feed(client, after=after, limit=3)
        seen.extend(page["items"])
        after = page["nextAfter"]

    assert seen == everything
    assert len(everything) == 12


def test_next_after_is_null_once_caught_up(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    write_stream(client, new_shipment, weight_patches(1))

    assert feed(client, limit=1)["nextAfter"] == 1
    assert feed(client, limit=2)["nextAfter"] is None
    assert feed(client, after=2) == {"items": [], "nextAfter": None}


def test_an_empty_store_has_an_empty_feed(client: TestClient) -> None:
    assert feed(client) == {"items": [], "nextAfter": None}


def test_data_is_the_events_payload_in_public_form_with_nothing_internal(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    stream = write_stream(client, new_shipment, PATCHES, **{"X-Request-ID": "feed-1"})

    items = feed(client)["items"]
    created, revised, status_changed, with_address = (items[i]["data"] for i in range(4))

    assert created == {
        "details": {
            key: stream.write(1).document[key]
            for key in (
                "shipmentType",
                "requestedPickupDate",
                "deliveryDate",
                "pickupAddress",
                "destinationAddress",
                "weightLbs",
                "customerRemarks",
            )
        },
        "actor": items[0]["data"]["actor"],
        "requestId": "feed-1",
    }
    assert revised["changes"] == {"weightLbs": 4200}
    assert revised["previous"] == {"weightLbs": None}
    assert revised["newStatus"] is None
    assert status_changed["oldStatus"] == "DRAFT"
    assert status_changed["newStatus"] == "SUBMITTED"
    assert with_address["changes"]["pickupAddress"] == stream.write(4).document["pickupAddress"]
    text = str(items)
    for word in INTERNAL_WORDS:
        assert word not in text


def test_a_revision_that_moves_the_status_records_the_status_it_left(
    client: TestClient, stream: Any
) -> None:
    approved = feed(client)["items"][5]["data"]

    assert approved["newStatus"] == "APPROVED"
    assert approved["previous"] == {"weightLbs": 4200, "status": "SUBMITTED"}


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 501}, {"after": -1}, {"after": "start"}]
)
def test_bad_paging_parameters_are_422_problems(client: TestClient, params: dict[str, Any]) -> None:
    problem = check_problem(client.get("/v1/events", params=params), 422)

    assert [error["field"] for error in problem["errors"]] == list(params)
