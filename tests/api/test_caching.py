"""Every cacheable read says ``Cache-Control: no-cache``, so no cache picks its own freshness
(RFC 9111 §4.2.2) and serves a shipment, its past or a list stale."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import quoted, url


def reads_of(document: dict[str, Any]) -> list[str]:
    return [
        url(document),
        url(document) + "?asOf=9999-12-31T23:59:59Z",
        url(document) + "/versions/1",
        url(document) + "/history",
        "/v1/shipments",
        "/v1/shipments?status=DRAFT",
        "/v1/events",
    ]


def test_every_read_answer_must_be_revalidated_before_reuse(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    for path in reads_of(shipment):
        response = client.get(path)
        assert response.status_code == 200, (path, response.text)
        assert response.headers.get("Cache-Control") == "no-cache", path


def test_a_304_repeats_the_cache_control_of_the_200(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    for path in (url(shipment), url(shipment) + "/versions/1"):
        response = client.get(path, headers={"If-None-Match": quoted(shipment)})
        assert response.status_code == 304, path
        assert response.headers.get("Cache-Control") == "no-cache", path


def test_the_document_says_so_for_every_read(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/shipments",
        "/v1/shipments/{shipment_id}",
        "/v1/shipments/{shipment_id}/history",
        "/v1/shipments/{shipment_id}/versions/{version}",
        "/v1/events",
    ):
        assert "Cache-Control" in paths[path]["get"]["responses"]["200"]["headers"], path
