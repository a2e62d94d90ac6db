"""PUT replaces, PATCH merges (RFC 7396); server-owned and unknown fields are guarded."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http import write_answers
from tests.api.conftest import (
    SERVER_OWNED,
    current,
    patch,
    problem_of,
    put,
    quoted,
    url,
    writable,
)

PICKUP = {
    "streetAddress1": "1 Main St",
    "streetAddress2": "Apt 4",
    "city": "Austin",
    "state": "TX",
    "postalCode": "73301",
}


@pytest.fixture
def full(client: TestClient, shipment: dict[str, Any]) -> dict[str, Any]:
    """The shipment with every optional field set (version 2)."""
    body = {
        **writable(shipment),
        "pickupAddress": PICKUP,
        "weightLbs": 4200,
        "customerRemarks": "fragile",
    }
    response = put(client, shipment, body)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def test_put_sets_every_field_it_is_given(client: TestClient, full: dict[str, Any]) -> None:
    assert full["version"] == 2
    assert (full["pickupAddress"], full["weightLbs"], full["customerRemarks"]) == (
        PICKUP,
        4200,
        "fragile",
    )
    assert current(client, full) == full


def test_put_turns_an_optional_field_left_out_into_null(
    client: TestClient, full: dict[str, Any]
) -> None:
    response = put(client, full, {"shipmentType": full["shipmentType"]})
    assert response.status_code == 200, response.text
    document = response.json()
    for name in writable(full):
        if name not in ("shipmentType", "status"):
            assert document[name] is None, name
    assert current(client, full) == document


def test_put_without_the_required_shipment_type_is_a_422_and_changes_nothing(
    client: TestClient, full: dict[str, Any]
) -> None:
    body = writable(full)
    del body["shipmentType"]
    problem = problem_of(put(client, full, body), 422)
    assert "shipmentType" in {e["field"] for e in problem["errors"]}
    assert current(client, full) == full


def test_put_keeps_the_status_when_it_is_left_out(client: TestClient, full: dict[str, Any]) -> None:
    submitted = put(client, full, {**writable(full), "status": "SUBMITTED"}).json()
    body = writable(submitted)
    del body["status"]
    response = put(client, submitted, {**body, "weightLbs": 1})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "SUBMITTED"


def test_put_with_a_null_status_is_a_422(client: TestClient, full: dict[str, Any]) -> None:
    problem_of(put(client, full, {**writable(full), "status": None}), 422)


def test_server_owned_fields_sent_back_unchanged_are_ignored(
    client: TestClient, full: dict[str, Any]
) -> None:
    response = put(client, full, {**full, "weightLbs": 10})
    assert response.status_code == 200, response.text
    assert (response.json()["weightLbs"], response.json()["version"]) == (10, 3)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "00000000-0000-4000-8000-000000000000"),
        ("eTag", "Zm9vOjE"),
        ("version", 99),
        ("version", "2"),
        ("createdAt", "2001-01-01T00:00:00.000000Z"),
        ("updatedAt", "2001-01-01T00:00:00.000000Z"),
        ("createdAt", "yesterday"),
    ],
)
def test_a_changed_server_owned_field_is_a_422_naming_it(
    client: TestClient, full: dict[str, Any], field: str, value: Any
) -> None:
    for response in (
        put(client, full, {**full, field: value}),
        patch(client, full, {field: value}),
    ):
        problem = problem_of(response, 422)
        assert field in {e["field"] for e in problem["errors"]}, problem
    assert current(client, full) == full


def test_unknown_fields_on_put_and_patch_are_a_422_naming_them(
    client: TestClient, full: dict[str, Any]
) -> None:
    typo = {"weightLb": 5, "pickupAddress": {**PICKUP, "zipCode": "1"}}
    for response in (
        put(client, full, {**writable(full), **typo}),
        patch(client, full, typo),
    ):
        problem = problem_of(response, 422)
        assert {"weightLb", "pickupAddress.zipCode"} <= {e["field"] for e in problem["errors"]}
        assert "weightLb" in problem["detail"] and "pickupAddress.zipCode" in problem["detail"]
    assert current(client, full) == full


def test_patch_changes_only_the_fields_it_names(client: TestClient, full: dict[str, Any]) -> None:
    response = patch(client, full, {"weightLbs": 5000})
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["weightLbs"] == 5000
    unchanged = {k: v for k, v in full.items() if k not in ("weightLbs", *SERVER_OWNED)}
    assert {k: document[k] for k in unchanged} == unchanged


def test_patch_with_null_clears_a_field(client: TestClient, full: dict[str, Any]) -> None:
    document = patch(client, full, {"customerRemarks": None, "pickupAddress": None}).json()
    assert (document["customerRemarks"], document["pickupAddress"]) == (None, None)
    assert document["weightLbs"] == 4200


def test_patch_merges_into_a_nested_address(client: TestClient, full: dict[str, Any]) -> None:
    document = patch(
        client, full, {"pickupAddress": {"city": "Dallas", "streetAddress2": None}}
    ).json()
    assert document["pickupAddress"] == {**PICKUP, "city": "Dallas", "streetAddress2": None}


def test_patch_cannot_clear_a_required_address_field(
    client: TestClient, full: dict[str, Any]
) -> None:
    problem = problem_of(patch(client, full, {"pickupAddress": {"city": None}}), 422)
    assert "pickupAddress.city" in {e["field"] for e in problem["errors"]}


def test_patch_into_a_missing_address_needs_the_whole_address(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    problem_of(patch(client, shipment, {"pickupAddress": {"city": "Dallas"}}), 422)
    response = patch(client, shipment, {"pickupAddress": PICKUP})
    assert response.status_code == 200, response.text
    assert response.json()["pickupAddress"] == PICKUP


def test_patch_cannot_clear_the_shipment_type_or_the_status(
    client: TestClient, full: dict[str, Any]
) -> None:
    problem_of(patch(client, full, {"shipmentType": None}), 422)
    problem_of(patch(client, full, {"status": None}), 422)


def test_patch_is_validated_like_put(client: TestClient, full: dict[str, Any]) -> None:
    problem = problem_of(patch(client, full, {"deliveryDate": "2020-01-01"}), 422)
    assert "deliveryDate" in {e["field"] for e in problem["errors"]}
    problem = problem_of(patch(client, full, {"pickupAddress": {"state": "XX"}}), 422)
    assert "pickupAddress.state" in {e["field"] for e in problem["errors"]}


def test_patch_accepts_plain_application_json_too(client: TestClient, full: dict[str, Any]) -> None:
    response = patch(client, full, {"weightLbs": 7}, content_type="application/json")
    assert response.status_code == 200, response.text
    assert response.json()["weightLbs"] == 7


def test_patch_accepts_media_type_parameters(client: TestClient, full: dict[str, Any]) -> None:
    response = patch(
        client, full, {"weightLbs": 8}, content_type="application/merge-patch+json; charset=utf-8"
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"]
)
def test_patch_with_another_content_type_is_a_415(
    client: TestClient, full: dict[str, Any], content_type: str
) -> None:
    problem_of(patch(client, full, {"weightLbs": 9}, content_type=content_type), 415)
    assert current(client, full) == full


def test_put_with_another_content_type_is_a_415(client: TestClient, full: dict[str, Any]) -> None:
    response = client.put(
        f"/v1/shipments/{full['id']}",
        content=b'{"shipmentType": "HHG"}',
        headers={"If-Match": f'"{full["eTag"]}"', "Content-Type": "text/plain"},
    )
    problem_of(response, 415)
    assert current(client, full) == full


@pytest.mark.parametrize("body", [b"[]", b'[{"weightLbs": 5}]', b"5", b'"text"', b"null"])
def test_patch_with_a_json_value_other_than_an_object_is_a_422(
    client: TestClient, full: dict[str, Any], body: bytes
) -> None:
    problem_of(patch(client, full, body), 422)
    assert current(client, full) == full


@pytest.mark.parametrize("changes", [{"weightLbs": 77}, {}], ids=["appended", "unchanged"])
def test_a_write_answers_the_bytes_its_view_row_stored_without_rendering_them_again(
    client: TestClient,
    shipment: dict[str, Any],
    changes: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def rendered_again(*args: Any) -> bytes:
        raise AssertionError("the answer's document is the one rendered for the view row")

    monkeypatch.setattr(write_answers, "encode_document", rendered_again)

    response = patch(client, shipment, changes)

    assert response.status_code == 200, response.text
    assert response.content == client.get(url(shipment)).content
    assert response.headers["ETag"] == quoted(response.json())
