"""``GET /v1/shipments/{id}/history``: who changed what, when, read from the stream."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.history.conftest import (
    PATCHES,
    WrittenStream,
    check_problem,
    weight_patches,
    write_stream,
)

SERVER_OWNED = ("id", "eTag", "version", "createdAt", "updatedAt")


def history(client: TestClient, stream: WrittenStream, **params: Any) -> dict[str, Any]:
    response = client.get(f"{stream.url}/history", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def difference(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What a client sees change between two representations it received."""
    return {
        name: {"from": before.get(name), "to": value}
        for name, value in after.items()
        if name not in SERVER_OWNED and before.get(name) != value
    }


def test_history_lists_every_event_oldest_first_with_its_type_time_actor_and_request(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    stream = write_stream(client, new_shipment, PATCHES, **{"X-Request-ID": "audit-7"})

    items = history(client, stream)["items"]

    assert [item["version"] for item in items] == list(range(1, len(PATCHES) + 2))
    assert [item["type"] for item in items] == [
        "Created",
        "Revised",
        "StatusChanged",
        "Revised",
        "Revised",
        "Revised",
        "Revised",
    ]
    assert [item["recordedAt"] for item in items] == [
        write.document["updatedAt"] for write in stream.writes
    ]
    assert {item["requestId"] for item in items} == {"audit-7"}
    assert all(item["actor"] for item in items)


def test_each_item_changes_exactly_what_the_write_changed_from_and_to(
    client: TestClient, stream: WrittenStream
) -> None:
    items = history(client, stream)["items"]

    for item in items[1:]:
        before = stream.write(item["version"] - 1).document
        after = stream.write(item["version"]).document
        assert item["changes"] == difference(before, after), item


def test_an_address_change_shows_the_whole_address_before_and_after(
    client: TestClient, stream: WrittenStream
) -> None:
    moved = history(client, stream)["items"][4]

    assert moved["changes"] == {
        "destinationAddress": {
            "from": stream.write(1).document["destinationAddress"],
            "to": {
                "streetAddress1": "9 Bay Rd",
                "streetAddress2": None,
                "city": "Tampa",
                "state": "FL",
                "postalCode": "33601",
            },
        }
    }


def test_a_status_change_with_details_shows_both_in_one_item(
    client: TestClient, stream: WrittenStream
) -> None:
    approved = history(client, stream)["items"][5]

    assert approved["changes"] == {
        "status": {"from": "SUBMITTED", "to": "APPROVED"},
        "weightLbs": {"from": 4200, "to": 4300},
    }


def test_the_created_item_shows_every_field_it_set_from_null(
    client: TestClient, stream: WrittenStream
) -> None:
    created = history(client, stream)["items"][0]
    document = stream.write(1).document

    assert created["changes"] == {
        name: {"from": None, "to": value}
        for name, value in document.items()
        if name not in SERVER_OWNED and value is not None
    }
    assert created["changes"]["status"] == {"from": None, "to": "DRAFT"}


def test_pages_follow_next_after_and_together_hold_every_event_once(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    stream = write_stream(client, new_shipment, weight_patches(11))
    full = history(client, stream)["items"]

    seen: list[dict[str, Any]] = []
    after: int | None = 0
    pages = 0
    while after is not None:
        page = history(client, stream, after=after, limit=5)
        assert len(page["items"]) <= 5
        seen.extend(page["items"])
        after = page["nextAfter"]
        pages += 1

    assert seen == full
    assert pages == 3
    assert len(full) == 12


def test_next_after_is_null_when_a_page_ends_exactly_at_the_last_event(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    stream = write_stream(client, new_shipment, weight_patches(3))

    first = history(client, stream, limit=2)
    last = history(client, stream, after=first["nextAfter"], limit=2)

    assert first["nextAfter"] == 2
    assert [item["version"] for item in last["items"]] == [3, 4]
    assert last["nextAfter"] is None


def test_a_page_after_the_last_version_is_empty_and_final(
    client: TestClient, stream: WrittenStream
) -> None:
    page = history(client, stream, after=len(stream.writes))

    assert page == {"items": [], "nextAfter": None}


def test_the_default_page_holds_one_hundred_events(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    stream = write_stream(client, new_shipment, weight_patches(100))

    page = history(client, stream)

    assert len(page["items"]) == 100
    assert page["nextAfter"] == 100


@pytest.mark.parametrize("shipment_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_history_of_an_unknown_shipment_is_404(client: TestClient, shipment_id: str) -> None:
    check_problem(client.get(f"/v1/shipments/{shipment_id}/history"), 404)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 501},
        {"limit": "ten"},
        {"after": -1},
        {"after": "first"},
    ],
)
def test_bad_paging_parameters_are_422_problems(
    client: TestClient, stream: WrittenStream, params: dict[str, Any]
) -> None:
    problem = check_problem(client.get(f"{stream.url}/history", params=params), 422)

    assert [error["field"] for error in problem["errors"]] == list(params)


def test_history_accepts_the_largest_page(client: TestClient, stream: WrittenStream) -> None:
    page = history(client, stream, limit=500)

    assert len(page["items"]) == len(stream.writes)
    assert page["nextAfter"] is None
