"""API.md "Errors": a method the resource does not have is 405 with an ``Allow`` header
listing every method it has (RFC 9110 §15.5.6), and that list is what the app routes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import problem_of, url

RESOURCES = [
    pytest.param("/v1/shipments/{id}", "GET, HEAD, PUT, PATCH", id="shipment"),
    pytest.param("/v1/shipments", "GET, POST", id="shipments"),
    pytest.param("/v1/shipments/{id}/history", "GET", id="history"),
    pytest.param("/v1/shipments/{id}/versions/1", "GET", id="version"),
    pytest.param("/v1/events", "GET", id="events"),
    pytest.param("/v1/events/stream", "GET", id="event-stream"),
    pytest.param("/healthz", "GET", id="healthz"),
    pytest.param("/readyz", "GET", id="readyz"),
    pytest.param("/metrics", "GET", id="metrics"),
    pytest.param("/problems/version-conflict", "GET, HEAD", id="problem-page"),
]


@pytest.mark.parametrize(("path", "allow"), RESOURCES)
@pytest.mark.parametrize("method", ["DELETE", "OPTIONS", "TRACE"])
def test_a_405_lists_every_method_the_resource_has(
    client: TestClient, shipment: dict[str, Any], path: str, allow: str, method: str
) -> None:
    response = client.request(method, path.replace("{id}", shipment["id"]))
    problem = problem_of(response, 405)
    assert response.headers["Allow"] == allow
    assert method in problem["detail"]


def test_every_method_the_allow_header_names_is_answered_by_the_resource(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    allow = client.delete(url(shipment)).headers["Allow"].split(", ")
    for method in allow:
        response = client.request(method, url(shipment))
        assert response.status_code != 405, method


def test_an_unknown_path_is_a_404_not_a_405(client: TestClient) -> None:
    response = client.delete("/v1/nothing-here")
    problem_of(response, 404)
    assert "Allow" not in response.headers
