"""The status machine through PUT and PATCH: illegal moves and closed shipments are 409."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import current, moved_to, patch, problem_of, put, stored_events, writable

PATH_TO = {
    "DRAFT": (),
    "SUBMITTED": ("SUBMITTED",),
    "APPROVED": ("SUBMITTED", "APPROVED"),
    "IN_TRANSIT": ("SUBMITTED", "APPROVED", "IN_TRANSIT"),
    "DELIVERED": ("SUBMITTED", "APPROVED", "IN_TRANSIT", "DELIVERED"),
    "CANCELED": ("CANCELED",),
}
NEXT = {"DRAFT": "SUBMITTED", "SUBMITTED": "APPROVED", "APPROVED": "IN_TRANSIT"}
NEXT["IN_TRANSIT"] = "DELIVERED"
OPEN = ["DRAFT", "SUBMITTED", "APPROVED", "IN_TRANSIT"]
ILLEGAL = [(a, b) for a in OPEN for b in PATH_TO if b not in (a, NEXT[a], "CANCELED")]


def test_a_shipment_walks_the_whole_happy_path_one_event_per_move(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    delivered = moved_to(client, shipment, *PATH_TO["DELIVERED"])
    assert (delivered["status"], delivered["version"]) == ("DELIVERED", 5)
    assert len(stored_events(client, shipment["id"])) == 5


@pytest.mark.parametrize("status", OPEN)
def test_every_open_status_may_be_canceled(
    client: TestClient, shipment: dict[str, Any], status: str
) -> None:
    document = moved_to(client, shipment, *PATH_TO[status])
    response = put(client, document, {**writable(document), "status": "CANCELED"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "CANCELED"


@pytest.mark.parametrize(("start", "target"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_an_illegal_move_is_a_409_on_put_and_patch_and_changes_nothing(
    client: TestClient, shipment: dict[str, Any], start: str, target: str
) -> None:
    document = moved_to(client, shipment, *PATH_TO[start])
    for response in (
        put(client, document, {**writable(document), "status": target}),
        patch(client, document, {"status": target}),
        patch(client, document, {"status": target, "weightLbs": 10}),
    ):
        problem = problem_of(response, 409)
        assert start in problem["detail"] and target in problem["detail"]
        assert problem["type"] == "/problems/illegal-transition"
        assert (problem["currentStatus"], problem["requestedStatus"]) == (start, target)
        assert problem["allowedStatuses"] == [NEXT[start], "CANCELED"]
        assert f"may move to {NEXT[start]} or CANCELED" in problem["detail"]
    assert current(client, document) == document


@pytest.mark.parametrize("final", ["DELIVERED", "CANCELED"])
def test_any_change_to_a_final_shipment_is_a_409(
    client: TestClient, shipment: dict[str, Any], final: str
) -> None:
    document = moved_to(client, shipment, *PATH_TO[final])
    changes: list[dict[str, Any]] = [
        {"weightLbs": 10},
        {"customerRemarks": "too late"},
        {"destinationAddress": None},
        {"status": "DRAFT"},
        {"status": "CANCELED" if final == "DELIVERED" else "DELIVERED"},
    ]
    for change in changes:
        for response in (
            patch(client, document, change),
            put(client, document, {**writable(document), **change}),
        ):
            problem = problem_of(response, 409)
            assert problem["type"] == "/problems/shipment-closed"
            assert (problem["currentStatus"], problem["allowedStatuses"]) == (final, [])
    assert current(client, document) == document


@pytest.mark.parametrize("final", ["DELIVERED", "CANCELED"])
def test_a_write_that_changes_nothing_on_a_final_shipment_is_still_200(
    client: TestClient, shipment: dict[str, Any], final: str
) -> None:
    document = moved_to(client, shipment, *PATH_TO[final])
    response = put(client, document, writable(document))
    assert (response.status_code, response.json()) == (200, document)


def test_an_unknown_status_is_a_422(client: TestClient, shipment: dict[str, Any]) -> None:
    problem = problem_of(patch(client, shipment, {"status": "LOST"}), 422)
    assert "status" in {e["field"] for e in problem["errors"]}
