"""The event-loop read path (``api.edge.reads``) answers exactly as the app's route does.

A read with a query string always goes through the app's route (the fast path
takes only plain reads), which gives every test here its reference answer.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient

from infrastructure.errors import StoreUnavailable
from projections.document_reads import ReadDeferred
from tests.api.conftest import patch, problem_of, quoted, url

VIA_ROUTE = "?via=route"
PER_REQUEST = ("x-request-id",)


def comparable(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k, v) for k, v in response.headers.multi_items() if k not in PER_REQUEST]
    return response.status_code, headers, response.content


def refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("this read path must not be used here")


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_plain_read_is_the_routes_answer_byte_for_byte(
    client: TestClient, shipment: dict[str, Any], method: str
) -> None:
    changed = patch(client, shipment, {"weightLbs": 1234}).json()
    fast = client.request(method, url(changed))
    routed = client.request(method, url(changed) + VIA_ROUTE)
    assert fast.status_code == 200
    assert comparable(fast) == comparable(routed)
    assert fast.headers["etag"] == quoted(changed)


@pytest.mark.parametrize(
    ("condition", "status"),
    [("current", 304), ("W/current", 304), ("*", 304), ("old", 200), ("garbage", 200)],
)
def test_if_none_match_is_evaluated_as_the_route_does(
    client: TestClient, shipment: dict[str, Any], condition: str, status: int
) -> None:
    changed = patch(client, shipment, {"weightLbs": 99}).json()
    header = {
        "current": quoted(changed),
        "W/current": "W/" + quoted(changed),
        "*": "*",
        "old": quoted(shipment),
        "garbage": '"not-a-tag"',
    }[condition]
    fast = client.get(url(changed), headers={"If-None-Match": header})
    routed = client.get(url(changed) + VIA_ROUTE, headers={"If-None-Match": header})
    assert fast.status_code == status
    assert comparable(fast) == comparable(routed)


def test_a_plain_read_does_not_touch_the_routes_reader(
    client: TestClient, shipment: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client.app.state.services.view, "get", refuse)  # type: ignore[attr-defined]
    response = client.get(url(shipment), headers={"X-Request-ID": "fast-1"})
    assert response.status_code == 200
    assert response.json() == shipment
    assert response.headers["X-Request-ID"] == "fast-1"


def test_a_read_the_loop_cannot_make_at_once_goes_through_the_route(
    client: TestClient, shipment: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def busy(shipment_id: UUID) -> None:
        raise ReadDeferred("database is locked")

    monkeypatch.setattr(client.app.state.document_reads, "get", busy)  # type: ignore[attr-defined]
    response = client.get(url(shipment))
    assert response.status_code == 200
    assert response.json() == shipment


def test_a_store_outage_is_the_routes_503_problem(
    client: TestClient, shipment: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(shipment_id: UUID) -> None:
        raise StoreUnavailable("connection refused at 10.0.0.1")

    monkeypatch.setattr(client.app.state.document_reads, "get", down)  # type: ignore[attr-defined]
    problem = problem_of(client.get(url(shipment)), 503)
    assert problem["instance"] == url(shipment)
    assert "10.0.0.1" not in str(problem)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/shipments/00000000-0000-4000-8000-000000000000",  # no such shipment
        "/v1/shipments/not-a-uuid-but-exactly-36-characters",  # not an id
        "/v1/shipments/00000000000040008000000000000000",  # an id, not canonical
    ],
)
def test_what_the_fast_path_does_not_find_is_the_routes_404(client: TestClient, path: str) -> None:
    problem_of(client.get(path), 404)


def test_both_paths_are_counted_under_the_same_route(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    client.get(url(shipment))
    client.get(url(shipment) + VIA_ROUTE)
    metrics = client.get("/metrics").text
    line = next(
        line
        for line in metrics.splitlines()
        if line.startswith("shipments_http_requests_total{")
        and 'route="/v1/shipments/{shipment_id}"' in line
        and 'method="GET"' in line
        and 'status="200"' in line
    )
    assert float(line.rsplit(" ", 1)[1]) == 2.0


def test_a_token_is_checked_on_the_fast_path_too(
    cached_tokens_client: tuple[TestClient, dict[str, str]],
    new_shipment: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, tokens = cached_tokens_client
    writer = {"Authorization": f"Bearer {tokens['writer']}"}
    created = client.post("/v1/shipments", json=new_shipment, headers=writer).json()
    monkeypatch.setattr(client.app.state.services.view, "get", refuse)  # type: ignore[attr-defined]
    reader = client.get(url(created), headers={"Authorization": f"Bearer {tokens['reader']}"})
    assert reader.status_code == 200
    assert reader.json() == created
    monkeypatch.undo()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic eDp5"}):
        refused = client.get(url(created), headers=headers)
        problem_of(refused, 401)
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
