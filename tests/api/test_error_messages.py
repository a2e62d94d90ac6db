"""Refusals speak the contract's language: API field names, the rule that was broken,
one title per problem type, never the validator's or the code's own words."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import patch, problem_of, url


def reasons(problem: dict[str, Any]) -> dict[str, str]:
    return {error["field"]: error["reason"] for error in problem["errors"]}


def post_raw(client: TestClient, body: bytes) -> Any:
    return client.post("/v1/shipments", content=body, headers={"Content-Type": "application/json"})


def test_a_rule_across_fields_names_the_other_field_as_the_api_spells_it(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    body = {**new_shipment, "requestedPickupDate": "2020-06-02", "deliveryDate": "2020-06-01"}
    problem = problem_of(client.post("/v1/shipments", json=body), 422)
    assert reasons(problem) == {"deliveryDate": "must not be before requestedPickupDate"}
    assert "requested_pickup_date" not in problem["detail"]


@pytest.mark.parametrize(
    ("literal", "reason"),
    [
        (b"100000000000000000000000000000", "must be an integer from 1 to 100000"),
        (b"100001", "must be an integer from 1 to 100000"),
        (b"0", "must be an integer from 1 to 100000"),
        (b'"4200"', "must be an integer from 1 to 100000"),
        (b"4200.0", "must be written as an integer, without a fraction (4200, not 4200.0)"),
    ],
)
def test_a_weight_out_of_range_says_the_range(
    client: TestClient, literal: bytes, reason: str
) -> None:
    answer = post_raw(client, b'{"shipmentType": "HHG", "weightLbs": ' + literal + b"}")
    assert reasons(problem_of(answer, 422)) == {"weightLbs": reason}


def test_a_malformed_query_parameter_says_the_rule_without_the_validators_prefix(
    client: TestClient,
) -> None:
    problem = problem_of(client.get("/v1/shipments", params={"updatedSince": "yesterday"}), 422)
    assert reasons(problem) == {
        "updatedSince": "must be an RFC 3339 timestamp with a time zone, e.g. 2020-05-01T18:56:13Z"
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"shipmentType": None}, "shipmentType"),
        ({"status": None}, "status"),
        ({"destinationAddress": {"city": None}}, "destinationAddress.city"),
    ],
)
def test_a_patch_removing_what_a_shipment_needs_says_it_cannot_be_null(
    client: TestClient, shipment: dict[str, Any], changes: dict[str, Any], field: str
) -> None:
    problem = problem_of(patch(client, shipment, changes), 422)
    assert reasons(problem) == {field: "cannot be null: it cannot be removed"}
    assert problem["title"] == "The request is not valid"


def test_a_missing_field_is_required_and_an_unknown_one_is_named(client: TestClient) -> None:
    problem = problem_of(client.post("/v1/shipments", json={"colour": "red"}), 422)
    assert reasons(problem) == {"shipmentType": "is required", "colour": "unknown field"}


@pytest.mark.parametrize(
    ("member", "value", "reason"),
    [
        ("postalCode", "9210", "must be 12345 or 12345-6789"),
        ("state", "ca", "must be a two-letter US state code"),
        ("state", "ZZ", "must be a two-letter US state code"),
    ],
)
def test_a_bad_address_says_the_rule_not_the_pattern(
    client: TestClient, new_shipment: dict[str, Any], member: str, value: str, reason: str
) -> None:
    address = {**new_shipment["destinationAddress"], member: value}
    answer = client.post("/v1/shipments", json={**new_shipment, "destinationAddress": address})
    assert reasons(problem_of(answer, 422)) == {f"destinationAddress.{member}": reason}


def test_every_422_of_one_type_has_the_same_title(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    answers = [
        patch(client, shipment, {"status": None}),
        patch(client, shipment, {"weightLbs": 0}),
        client.post("/v1/shipments", json={"shipmentType": "HHG", "status": "DRAFT"}),
        client.get(url(shipment) + "/history", params={"after": "-1"}),
    ]
    titles = {problem_of(answer, 422)["title"] for answer in answers}
    assert titles == {"The request is not valid"}
