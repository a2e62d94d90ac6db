"""Idempotency-Key: a retry of an applied write gets its original answer; a different
request under the same key is a 422."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import create, current, patch, problem_of, put, quoted, stored_events

KEY = {"Idempotency-Key": "order-7f3a-attempt"}


def events_recorded(client: TestClient) -> int:
    """Events in the whole store: in a test that only creates, the number of shipments."""
    return int(client.app.state.services.store.recorder.max_notification_id() or 0)  # type: ignore[attr-defined]


def test_a_retried_create_gets_the_same_201_and_creates_one_shipment(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    first = create(client, new_shipment, **KEY)
    retry = create(client, new_shipment, **KEY)
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry.headers["ETag"] == first.headers["ETag"]
    assert retry.headers["Location"] == first.headers["Location"]
    assert events_recorded(client) == 1


def test_a_create_without_a_key_is_never_deduplicated(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    first, second = create(client, new_shipment), create(client, new_shipment)
    assert first.json()["id"] != second.json()["id"]


def test_the_same_key_with_a_different_create_body_is_a_422(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    create(client, new_shipment, **KEY)
    problem_of(create(client, {**new_shipment, "weightLbs": 1}, **KEY), 422)
    assert events_recorded(client) == 1


def test_keys_are_independent_of_each_other(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    a = create(client, new_shipment, **{"Idempotency-Key": "a"})
    b = create(client, new_shipment, **{"Idempotency-Key": "b"})
    assert a.json()["id"] != b.json()["id"]


WRITES = [pytest.param(put, id="PUT"), pytest.param(patch, id="PATCH")]


def body_for(write: Any, document: dict[str, Any], weight: int) -> dict[str, Any]:
    if write is put:
        return {"shipmentType": document["shipmentType"], "weightLbs": weight}
    return {"weightLbs": weight}


@pytest.mark.parametrize("write", WRITES)
def test_a_retried_write_with_its_now_stale_tag_gets_the_original_200_not_412(
    client: TestClient, shipment: dict[str, Any], write: Any
) -> None:
    body = body_for(write, shipment, 4200)
    first = write(client, shipment, body, **KEY)
    assert first.status_code == 200, first.text
    retry = write(client, shipment, body, **KEY)
    assert retry.status_code == 200, retry.text
    assert retry.json() == first.json()
    assert retry.headers["ETag"] == first.headers["ETag"]
    assert len(stored_events(client, shipment["id"])) == 2


@pytest.mark.parametrize("write", WRITES)
def test_a_retry_after_others_wrote_still_gets_the_original_answer(
    client: TestClient, shipment: dict[str, Any], write: Any
) -> None:
    body = body_for(write, shipment, 4200)
    first = write(client, shipment, body, **KEY).json()
    later = patch(client, first, {"weightLbs": 5000}).json()
    retry = write(client, shipment, body, **KEY)
    assert (retry.status_code, retry.json()) == (200, first)
    assert current(client, shipment) == later


@pytest.mark.parametrize("write", WRITES)
def test_the_same_key_with_a_different_write_body_is_a_422(
    client: TestClient, shipment: dict[str, Any], write: Any
) -> None:
    first = write(client, shipment, body_for(write, shipment, 4200), **KEY).json()
    response = write(client, first, body_for(write, first, 4300), **KEY)
    problem_of(response, 422)
    assert current(client, shipment) == first


def test_a_write_without_a_key_and_a_stale_tag_is_412(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    body = {"weightLbs": 4200}
    assert patch(client, shipment, body).status_code == 200
    problem_of(patch(client, shipment, body), 412)


def test_a_key_used_on_one_shipment_is_a_422_on_another(
    client: TestClient, shipment: dict[str, Any], other_shipment: dict[str, Any]
) -> None:
    patch(client, shipment, {"weightLbs": 4200}, **KEY)
    problem_of(patch(client, other_shipment, {"weightLbs": 4200}, **KEY), 422)
    assert current(client, other_shipment) == other_shipment


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "ключ"])
def test_a_malformed_key_is_a_400(
    client: TestClient, new_shipment: dict[str, Any], key: str
) -> None:
    response = client.post(
        "/v1/shipments",
        json=new_shipment,
        headers={"Idempotency-Key": key.encode()},
    )
    problem_of(response, 400)
    assert events_recorded(client) == 0


def test_a_refused_write_does_not_use_up_its_key(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    problem_of(patch(client, shipment, {"weightLbs": 0}, **KEY), 422)
    response = patch(client, shipment, {"weightLbs": 10}, **KEY)
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] != quoted(shipment)
