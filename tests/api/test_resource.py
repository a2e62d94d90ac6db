"""API.md "The resource": create, read, the representation and its validation rules."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.http.schemas import ShipmentOut
from projections.version_tags import VersionTag, decode_tag
from tests.api.conftest import create, problem_of, quoted, url

REPRESENTATION_FIELDS = {
    "id",
    "eTag",
    "version",
    "status",
    "shipmentType",
    "requestedPickupDate",
    "deliveryDate",
    "pickupAddress",
    "destinationAddress",
    "weightLbs",
    "customerRemarks",
    "createdAt",
    "updatedAt",
    "personalDataErasedAt",
}
ADDRESS_FIELDS = {"streetAddress1", "streetAddress2", "city", "state", "postalCode"}
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
SHIPMENT_TYPES = ["HHG", "PPM", "NTS", "UHAUL", "UPS", "BOAT_HAUL_AWAY", "MOBILE_HOME"]


def test_create_answers_201_with_location_etag_and_a_draft_at_version_1(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    response = create(client, new_shipment)
    assert response.status_code == 201, response.text
    document = response.json()
    assert response.headers["Location"] == url(document)
    assert response.headers["ETag"] == quoted(document)
    assert (document["version"], document["status"]) == (1, "DRAFT")
    assert document["destinationAddress"]["streetAddress2"] is None
    assert document["createdAt"] == document["updatedAt"]


def test_the_representation_has_exactly_the_contract_fields_and_validates_as_shipment_out(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    assert set(shipment) == REPRESENTATION_FIELDS
    assert set(shipment["destinationAddress"]) == ADDRESS_FIELDS
    ShipmentOut.model_validate(shipment)
    aliases = {f.alias or name for name, f in ShipmentOut.model_fields.items()}
    assert aliases == REPRESENTATION_FIELDS
    for stamp in (shipment["createdAt"], shipment["updatedAt"]):
        assert RFC3339_UTC.match(stamp), stamp
        assert datetime.fromisoformat(stamp).utcoffset() is not None


def test_get_answers_the_created_representation_with_etag_header_equal_to_the_etag_field(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    response = client.get(url(shipment))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == shipment
    assert response.headers["ETag"] == quoted(response.json())


def test_head_answers_the_etag_of_get_without_a_body(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    response = client.head(url(shipment))
    assert response.status_code == 200
    assert response.headers["ETag"] == quoted(shipment)
    assert response.content == b""


def test_the_etag_is_strong_and_opaque(client: TestClient, shipment: dict[str, Any]) -> None:
    tag = client.get(url(shipment)).headers["ETag"]
    assert not tag.startswith("W/")
    assert shipment["id"] not in tag


def test_the_etag_names_the_shipment_and_its_stream_position(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    assert decode_tag(shipment["eTag"]) == VersionTag(UUID(shipment["id"]), 1)
    changed = client.patch(
        url(shipment),
        json={"weightLbs": 10},
        headers={"If-Match": quoted(shipment)},
    ).json()
    assert decode_tag(changed["eTag"]) == VersionTag(UUID(shipment["id"]), 2)


@pytest.mark.parametrize("shipment_type", SHIPMENT_TYPES)
def test_every_shipment_type_of_the_contract_is_accepted(
    client: TestClient, new_shipment: dict[str, Any], shipment_type: str
) -> None:
    response = create(client, {**new_shipment, "shipmentType": shipment_type})
    assert response.status_code == 201, response.text
    assert response.json()["shipmentType"] == shipment_type


def test_a_shipment_with_only_its_type_is_valid_and_everything_else_is_null(
    client: TestClient,
) -> None:
    response = create(client, {"shipmentType": "PPM"})
    assert response.status_code == 201, response.text
    document = response.json()
    optional = REPRESENTATION_FIELDS - {"id", "eTag", "version", "status", "shipmentType"}
    assert {k for k in optional if document[k] is None} == optional - {"createdAt", "updatedAt"}


def test_a_full_shipment_round_trips_every_field(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    body = {
        **new_shipment,
        "pickupAddress": {
            "streetAddress1": "1 Main St",
            "streetAddress2": "Apt 4",
            "city": "Austin",
            "state": "TX",
            "postalCode": "73301-0001",
        },
        "weightLbs": 4200,
        "customerRemarks": "fragile",
    }
    document = create(client, body).json()
    for name, value in body.items():
        if name == "destinationAddress":
            assert document[name] == {**value, "streetAddress2": None}
        else:
            assert document[name] == value


BAD_VALUES: list[tuple[str, dict[str, Any], str]] = [
    ("no type", {"shipmentType": None}, "shipmentType"),
    ("unknown type", {"shipmentType": "CANOE"}, "shipmentType"),
    ("weight 0", {"weightLbs": 0}, "weightLbs"),
    ("weight over", {"weightLbs": 100_001}, "weightLbs"),
    ("weight as text", {"weightLbs": "4200"}, "weightLbs"),
    ("weight fraction", {"weightLbs": 1.5}, "weightLbs"),
    ("weight boolean", {"weightLbs": True}, "weightLbs"),
    ("long remarks", {"customerRemarks": "x" * 2001}, "customerRemarks"),
    ("bad date", {"deliveryDate": "2020-02-30"}, "deliveryDate"),
    ("timestamp as date", {"deliveryDate": "2020-06-01T00:00:00Z"}, "deliveryDate"),
    (
        "delivery before pickup",
        {"requestedPickupDate": "2020-06-02", "deliveryDate": "2020-06-01"},
        "deliveryDate",
    ),
]
BAD_ADDRESSES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown state", {"state": "ZZ"}, "state"),
    ("lowercase state", {"state": "ca"}, "state"),
    ("long state", {"state": "CAL"}, "state"),
    ("short zip", {"postalCode": "1234"}, "postalCode"),
    ("zip+3", {"postalCode": "92102-123"}, "postalCode"),
    ("zip with newline", {"postalCode": "92102\n"}, "postalCode"),
    ("blank street", {"streetAddress1": "   "}, "streetAddress1"),
    ("empty street", {"streetAddress1": ""}, "streetAddress1"),
    ("blank city", {"city": " \t"}, "city"),
    ("no street", {"streetAddress1": None}, "streetAddress1"),
    ("no city", {"city": None}, "city"),
    ("no zip", {"postalCode": None}, "postalCode"),
]


def without_nulls(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize(("case", "change", "field"), BAD_VALUES, ids=[c[0] for c in BAD_VALUES])
def test_an_invalid_value_is_a_422_naming_the_field(
    client: TestClient, new_shipment: dict[str, Any], case: str, change: dict[str, Any], field: str
) -> None:
    body = without_nulls({**new_shipment, **change})
    problem = problem_of(create(client, body), 422)
    assert field in {e["field"] for e in problem["errors"]}, problem


@pytest.mark.parametrize(
    ("case", "change", "field"), BAD_ADDRESSES, ids=[c[0] for c in BAD_ADDRESSES]
)
@pytest.mark.parametrize("which", ["pickupAddress", "destinationAddress"])
def test_an_invalid_address_is_a_422_naming_the_nested_field(
    client: TestClient,
    new_shipment: dict[str, Any],
    case: str,
    change: dict[str, Any],
    field: str,
    which: str,
) -> None:
    address = without_nulls({**new_shipment["destinationAddress"], **change})
    problem = problem_of(create(client, {**new_shipment, which: address}), 422)
    assert f"{which}.{field}" in {e["field"] for e in problem["errors"]}, problem


def test_an_invalid_request_creates_nothing(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    problem_of(create(client, {**new_shipment, "weightLbs": 0}), 422)
    assert client.app.state.services.store.recorder.max_notification_id() in (None, 0)  # type: ignore[attr-defined]


def test_a_new_shipment_cannot_be_created_in_another_status(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    problem_of(create(client, {**new_shipment, "status": "APPROVED"}), 422)


def test_unknown_fields_on_create_are_a_422_naming_them(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    body = {
        **new_shipment,
        "weight": 10,
        "destinationAddress": {**new_shipment["destinationAddress"], "zip": "92102"},
    }
    problem = problem_of(create(client, body), 422)
    named = {e["field"] for e in problem["errors"]}
    assert {"weight", "destinationAddress.zip"} <= named
    assert "weight" in problem["detail"] and "destinationAddress.zip" in problem["detail"]
