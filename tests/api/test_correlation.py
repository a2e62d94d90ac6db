"""API.md "Correlation": X-Request-ID is echoed (or generated) and stored on the event."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import create, patch, put, stored_events, url, writable


def test_a_sent_request_id_is_echoed_on_success_and_on_error(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    created = create(client, new_shipment, **{"X-Request-ID": "trace-1"})
    assert created.headers["X-Request-ID"] == "trace-1"
    refused = client.get("/v1/shipments/nope", headers={"X-Request-ID": "trace-2"})
    assert refused.headers["X-Request-ID"] == "trace-2"


def test_a_request_id_is_generated_when_none_is_sent_and_differs_per_request(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    ids = {client.get(url(shipment)).headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3
    assert all(ids)


def test_an_unusable_request_id_is_replaced_by_a_generated_one(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    for unusable in ("x" * 1000, "has space", "<script>"):
        echoed = client.get(url(shipment), headers={"X-Request-ID": unusable})
        assert echoed.headers["X-Request-ID"] not in ("", unusable)


def test_each_event_stores_the_request_id_of_the_request_that_caused_it(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    document = create(client, new_shipment, **{"X-Request-ID": "req-create"}).json()
    document = put(
        client, document, {**writable(document), "weightLbs": 10}, **{"X-Request-ID": "req-put"}
    ).json()
    patch(client, document, {"status": "SUBMITTED"}, **{"X-Request-ID": "req-patch"})
    events = stored_events(client, document["id"])
    assert [e.request_id for e in events] == ["req-create", "req-put", "req-patch"]
    assert all(e.actor for e in events)


def test_a_generated_request_id_is_the_one_stored_on_the_event(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    created = create(client, new_shipment)
    (event,) = stored_events(client, created.json()["id"])
    assert event.request_id == created.headers["X-Request-ID"]
