"""GET /v1/shipments: every filter and sort, paging by cursor, and refusals of bad input."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.view_consistency import assert_view_matches_events

Shipment = dict[str, Any]
STATES = ("CA", "NY", "TX")
TYPES = ("HHG", "PPM", "UHAUL")
NO_DATE_LAST = "9999-12-31"


def body_for(number: int) -> dict[str, Any]:
    """A valid create body; some shipments have no delivery date, one has no address."""
    body: dict[str, Any] = {
        "shipmentType": TYPES[number % 3],
        "requestedPickupDate": "2024-03-01",
        "deliveryDate": None if number % 5 == 0 else f"2024-03-{1 + number % 7:02d}",
        "destinationAddress": {
            "streetAddress1": "1 Main Street",
            "city": "Springfield",
            "state": STATES[number % 3],
            "postalCode": "12345",
        },
    }
    if number == 7:
        body["destinationAddress"] = None
    return body


def create(client: TestClient, number: int) -> Shipment:
    response = client.post("/v1/shipments", json=body_for(number))
    assert response.status_code == 201, response.text
    created: Shipment = response.json()
    return created


def submit(client: TestClient, shipment: Shipment) -> Shipment:
    response = client.patch(
        f"/v1/shipments/{shipment['id']}",
        json={"status": "SUBMITTED"},
        headers={"If-Match": f'"{shipment["eTag"]}"'},
    )
    assert response.status_code == 200, response.text
    patched: Shipment = response.json()
    return patched


@pytest.fixture
def shipments(client: TestClient) -> list[Shipment]:
    """24 shipments; every third one submitted afterwards (so it is the most recently updated)."""
    created = [create(client, number) for number in range(24)]
    return [submit(client, s) if index % 3 == 0 else s for index, s in enumerate(created)]


def list_all(client: TestClient, limit: int = 5, **parameters: str) -> list[Shipment]:
    """Every page of the list, following nextCursor (bounded)."""
    items: list[Shipment] = []
    cursor: str | None = None
    for _ in range(200):
        query = {**parameters, "limit": str(limit), **({"cursor": cursor} if cursor else {})}
        response = client.get("/v1/shipments", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["nextCursor"]
        if cursor is None:
            return items
    raise AssertionError("the list did not end")


def newest_first(shipments: list[Shipment]) -> list[str]:
    ordered = sorted(shipments, key=lambda s: (s["updatedAt"], s["id"].replace("-", "")))
    return [s["id"] for s in reversed(ordered)]


def soonest_delivery_first(shipments: list[Shipment]) -> list[str]:
    ordered = sorted(
        shipments, key=lambda s: (s["deliveryDate"] or NO_DATE_LAST, s["id"].replace("-", ""))
    )
    return [s["id"] for s in ordered]


def ids(items: list[Shipment]) -> list[str]:
    return [item["id"] for item in items]


def test_the_default_list_is_every_shipment_newest_first_as_stored(
    client: TestClient, shipments: list[Shipment], database_url: str
) -> None:
    items = list_all(client)
    assert ids(items) == newest_first(shipments)
    by_id = {s["id"]: s for s in shipments}
    assert all(item == by_id[item["id"]] for item in items)
    assert_view_matches_events(database_url)


def test_sorting_by_delivery_date_lists_the_soonest_first_and_undated_last(
    client: TestClient, shipments: list[Shipment]
) -> None:
    assert ids(list_all(client, sort="deliveryDate")) == soonest_delivery_first(shipments)


FILTERS: list[tuple[str, str, Callable[[Shipment], bool]]] = [
    ("status", "SUBMITTED", lambda s: s["status"] == "SUBMITTED"),
    ("status", "DRAFT", lambda s: s["status"] == "DRAFT"),
    ("shipmentType", "PPM", lambda s: s["shipmentType"] == "PPM"),
    (
        "destinationState",
        "NY",
        lambda s: (s["destinationAddress"] or {}).get("state") == "NY",
    ),
    (
        "deliveryDateFrom",
        "2024-03-04",
        lambda s: s["deliveryDate"] is not None and s["deliveryDate"] >= "2024-03-04",
    ),
    (
        "deliveryDateTo",
        "2024-03-03",
        lambda s: s["deliveryDate"] is not None and s["deliveryDate"] <= "2024-03-03",
    ),
]


@pytest.mark.parametrize("sort", ["updatedAt", "deliveryDate"])
@pytest.mark.parametrize(
    ("name", "value", "matches"), FILTERS, ids=[f[0] + "=" + f[1] for f in FILTERS]
)
def test_each_filter_lists_exactly_the_matching_shipments_in_either_order(
    client: TestClient,
    shipments: list[Shipment],
    name: str,
    value: str,
    matches: Callable[[Shipment], bool],
    sort: str,
) -> None:
    expected = [s for s in shipments if matches(s)]
    assert expected, "the data must exercise the filter"
    order = newest_first if sort == "updatedAt" else soonest_delivery_first
    assert ids(list_all(client, limit=4, sort=sort, **{name: value})) == order(expected)


def test_updated_since_lists_the_shipments_changed_at_or_after_that_instant(
    client: TestClient, shipments: list[Shipment]
) -> None:
    since = sorted(s["updatedAt"] for s in shipments)[10]
    expected = [s for s in shipments if s["updatedAt"] >= since]
    assert ids(list_all(client, updatedSince=since)) == newest_first(expected)


def test_filters_combine_and_date_bounds_are_inclusive(
    client: TestClient, shipments: list[Shipment]
) -> None:
    expected = [
        s
        for s in shipments
        if s["shipmentType"] == "UHAUL" and s["deliveryDate"] in ("2024-03-02", "2024-03-03")
    ]
    assert expected
    found = list_all(
        client,
        sort="deliveryDate",
        shipmentType="UHAUL",
        deliveryDateFrom="2024-03-02",
        deliveryDateTo="2024-03-03",
    )
    assert ids(found) == soonest_delivery_first(expected)


@pytest.mark.parametrize("cursor_at", ["before the range", "inside it", "past it"])
def test_a_date_range_pages_on_from_a_cursor_before_inside_or_past_the_range(
    client: TestClient, shipments: list[Shipment], cursor_at: str
) -> None:
    # A cursor is a position in the sort order, whatever filters the page that gave it
    # had: taken here from the unfiltered list, at the first shipment, at one within
    # the range, and at an undated one (they sort last).
    in_range = ("2024-03-03", "2024-03-05")
    ordered = soonest_delivery_first(shipments)
    by_id = {s["id"]: s for s in shipments}
    dates = [by_id[i]["deliveryDate"] for i in ordered]
    position = {
        "before the range": 0,
        "inside it": dates.index("2024-03-04"),
        "past it": dates.index(None),
    }[cursor_at]
    first_page = client.get(
        "/v1/shipments", params={"sort": "deliveryDate", "limit": str(position + 1)}
    ).json()
    expected = [
        i
        for i in ordered[position + 1 :]
        if by_id[i]["deliveryDate"] is not None
        and in_range[0] <= by_id[i]["deliveryDate"] <= in_range[1]
    ]

    page = client.get(
        "/v1/shipments",
        params={
            "sort": "deliveryDate",
            "deliveryDateFrom": in_range[0],
            "deliveryDateTo": in_range[1],
            "cursor": first_page["nextCursor"],
        },
    ).json()

    assert ids(page["items"]) == expected
    assert (expected != []) == (cursor_at != "past it")


@pytest.mark.parametrize("sort", ["updatedAt", "deliveryDate"])
def test_paging_while_shipments_are_created_never_repeats_or_skips_one(
    client: TestClient, shipments: list[Shipment], sort: str
) -> None:
    before = {s["id"] for s in shipments}
    seen: list[str] = []
    cursor: str | None = None
    created = 0
    for _ in range(100):
        query = {"limit": "4", "sort": sort, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/shipments", params=query).json()
        seen += ids(page["items"])
        for _ in range(2):  # new shipments land on both sides of the cursor
            create(client, 100 + created)
            created += 1
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "an item was repeated"
    assert before <= set(seen), "an item that existed before paging was skipped"


def test_limit_defaults_to_fifty_and_the_last_page_has_no_cursor(client: TestClient) -> None:
    for number in range(51):
        create(client, number)
    first = client.get("/v1/shipments").json()
    assert len(first["items"]) == 50 and first["nextCursor"]
    last = client.get("/v1/shipments", params={"cursor": first["nextCursor"]}).json()
    assert len(last["items"]) == 1 and last["nextCursor"] is None


def test_an_empty_list_is_an_empty_page(client: TestClient) -> None:
    response = client.get("/v1/shipments", params={"status": "DELIVERED"})
    assert response.status_code == 200
    assert response.json() == {"items": [], "nextCursor": None}


def test_a_cursor_is_refused_with_another_sort_order(
    client: TestClient, shipments: list[Shipment]
) -> None:
    cursor = client.get("/v1/shipments", params={"limit": "2"}).json()["nextCursor"]
    response = client.get("/v1/shipments", params={"cursor": cursor, "sort": "deliveryDate"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"status": "LOST"}, "status"),
        ({"shipmentType": "CANOE"}, "shipmentType"),
        ({"destinationState": "ZZ"}, "destinationState"),
        ({"destinationState": "ca"}, "destinationState"),
        ({"deliveryDateFrom": "2024-02-30"}, "deliveryDateFrom"),
        ({"deliveryDateTo": "tomorrow"}, "deliveryDateTo"),
        ({"deliveryDateFrom": "2024-03-05", "deliveryDateTo": "2024-03-01"}, "deliveryDateFrom"),
        ({"updatedSince": "2024-03-01T00:00:00"}, "updatedSince"),
        ({"updatedSince": "yesterday"}, "updatedSince"),
        ({"sort": "weight"}, "sort"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "eyJzIjoidXBkYXRlZEF0In0"}, "cursor"),
        ({"staus": "DRAFT"}, "staus"),
    ],
)
def test_a_bad_filter_sort_limit_or_cursor_is_a_422_problem_naming_it(
    client: TestClient, parameters: dict[str, str], field: str
) -> None:
    response = client.get("/v1/shipments", params=parameters)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert field in [error["field"] for error in problem["errors"]], problem


def test_the_list_answers_with_the_stored_documents_byte_for_byte(
    client: TestClient, shipments: list[Shipment]
) -> None:
    shipment = shipments[1]
    single = client.get(f"/v1/shipments/{shipment['id']}").content
    listed = client.get(
        "/v1/shipments", params={"updatedSince": shipment["updatedAt"], "sort": "deliveryDate"}
    ).content
    assert single in listed


def test_updated_since_accepts_any_zone_and_compares_instants(
    client: TestClient, shipments: list[Shipment]
) -> None:
    latest = max(shipments, key=lambda s: s["updatedAt"])
    instant = datetime.fromisoformat(latest["updatedAt"])
    five_hours_west = timezone(timedelta(hours=-5))
    found = list_all(client, updatedSince=instant.astimezone(five_hours_west).isoformat())
    assert ids(found) == [latest["id"]]


def test_list_items_keep_the_etag_of_their_version(
    client: TestClient, shipments: list[Shipment]
) -> None:
    submitted = [s for s in shipments if s["version"] == 2]
    found = list_all(client, status="SUBMITTED")
    assert {(s["id"], s["eTag"]) for s in found} == {(s["id"], s["eTag"]) for s in submitted}


@pytest.mark.parametrize(
    ("since", "listed"),
    [
        ("0001-01-01T00:00:00+14:00", True),  # in UTC: year 0, before anything recorded
        ("0001-01-01T00:00:00Z", True),
        ("9999-12-31T23:59:59-14:00", False),  # in UTC: year 10000, after anything recorded
        ("9999-12-31T23:59:59Z", False),
    ],
)
def test_updated_since_at_the_ends_of_the_calendar_lists_everything_or_nothing(
    client: TestClient, since: str, listed: bool
) -> None:
    shipment = create(client, 1)
    for sort in ("updatedAt", "deliveryDate"):
        response = client.get("/v1/shipments", params={"updatedSince": since, "sort": sort})
        assert response.status_code == 200, response.text
        assert ids(response.json()["items"]) == ([shipment["id"]] if listed else [])


def test_a_cursor_naming_an_instant_beyond_the_calendar_is_a_422(client: TestClient) -> None:
    forged = base64.urlsafe_b64encode(
        json.dumps({"s": "updatedAt", "k": "0001-01-01T00:00:00+14:00", "i": "0" * 32}).encode()
    ).rstrip(b"=")
    response = client.get("/v1/shipments", params={"cursor": forged.decode()})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "cursor"
