"""The reading-the-past endpoints are documented with their answers' schemas."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def answer_schema(schema: dict[str, Any], path: str, status: str = "200") -> str:
    content = schema["paths"][path]["get"]["responses"][status]["content"]
    return str(next(iter(content.values()))["schema"])


def test_history_versions_feed_and_as_of_are_documented(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()

    assert "HistoryPage" in answer_schema(schema, "/v1/shipments/{shipment_id}/history")
    assert "ShipmentOut" in answer_schema(schema, "/v1/shipments/{shipment_id}/versions/{version}")
    assert "FeedPage" in answer_schema(schema, "/v1/events")
    assert "/v1/events/stream" in schema["paths"]
    parameters = schema["paths"]["/v1/shipments/{shipment_id}"]["get"]["parameters"]
    assert "asOf" in [parameter["name"] for parameter in parameters]
    for name in ("HistoryItem", "FieldChange", "FeedItem"):
        assert name in schema["components"]["schemas"]
