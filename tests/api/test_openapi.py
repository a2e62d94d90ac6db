"""/openapi.json documents the conditional-write contract a client generator needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.idempotency_keys import KEY_MAX_LENGTH, KEY_PATTERN
from api.http.openapi_document import document_text
from api.http.schemas import ShipmentOut
from infrastructure.settings import Settings
from tests.api.conftest import current

ITEM = "/v1/shipments/{shipment_id}"


@pytest.fixture
def spec(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    found: dict[str, Any] = response.json()
    return found


def header_names(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}


@pytest.mark.parametrize("method", ["put", "patch"])
def test_conditional_writes_document_if_match_and_their_refusals(
    spec: dict[str, Any], method: str
) -> None:
    operation = spec["paths"][ITEM][method]
    assert "If-Match" in header_names(operation)
    responses = operation["responses"]
    for status in ("200", "404", "409", "412", "413", "415", "422", "428"):
        assert status in responses, status
    for status in ("409", "412", "422", "428"):
        content = responses[status]["content"]
        assert content["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }
    assert "ETag" in responses["200"]["headers"]
    assert "ETag" in responses["412"]["headers"]
    body = operation["requestBody"]["content"]
    assert "application/json" in body
    if method == "patch":
        assert "application/merge-patch+json" in body


def test_create_and_read_document_the_etag_header(spec: dict[str, Any]) -> None:
    created = spec["paths"]["/v1/shipments"]["post"]["responses"]["201"]
    assert {"ETag", "Location"} <= set(created["headers"])
    read = spec["paths"][ITEM]["get"]
    assert "ETag" in read["responses"]["200"]["headers"]
    assert "304" in read["responses"]
    assert "If-None-Match" in header_names(read)


def test_the_problem_schema_has_the_rfc_9457_members_and_the_412_extras(
    spec: dict[str, Any],
) -> None:
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["properties"])
    assert {"currentVersion", "currentETag", "errors"} <= set(problem["properties"])


def test_the_documented_shipment_schema_names_every_representation_field(
    spec: dict[str, Any], client: TestClient, shipment: dict[str, Any]
) -> None:
    documented = spec["components"]["schemas"]["ShipmentOut"]["properties"]
    assert set(documented) == set(current(client, shipment))
    ShipmentOut.model_validate(current(client, shipment))


def test_the_write_body_schema_forbids_unknown_fields(spec: dict[str, Any]) -> None:
    write = spec["components"]["schemas"]["ShipmentWrite"]
    assert write.get("additionalProperties") is False
    assert "shipmentType" in write["required"]


def test_every_operation_id_is_unique(spec: dict[str, Any]) -> None:
    ids = [
        operation["operationId"]
        for path in spec["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]
    assert len(ids) == len(set(ids)), sorted(ids)


SUBSCRIPTION = "/v1/subscriptions/{subscription_id}"
COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
OPERATION_IDS = {
    ("post", "/v1/shipments"): "createShipment",
    ("get", "/v1/shipments"): "listShipments",
    ("get", ITEM): "getShipment",
    ("head", ITEM): "headShipment",
    ("put", ITEM): "replaceShipment",
    ("patch", ITEM): "patchShipment",
    ("get", ITEM + "/history"): "getShipmentHistory",
    ("get", ITEM + "/versions/{version}"): "getShipmentVersion",
    ("get", "/v1/events"): "listEvents",
    ("get", "/v1/events/stream"): "streamEvents",
    ("get", "/healthz"): "getHealth",
    ("get", "/readyz"): "getReadiness",
    ("get", "/metrics"): "getMetrics",
    ("post", "/v1/subscriptions"): "createSubscription",
    ("get", "/v1/subscriptions"): "listSubscriptions",
    ("get", SUBSCRIPTION): "getSubscription",
    ("patch", SUBSCRIPTION): "updateSubscription",
    ("delete", SUBSCRIPTION): "deleteSubscription",
    ("post", SUBSCRIPTION + "/rotate-secret"): "rotateSubscriptionSecret",
    ("get", SUBSCRIPTION + "/deliveries"): "listSubscriptionDeliveries",
}


def test_every_operation_has_its_stable_readable_operation_id(spec: dict[str, Any]) -> None:
    found = {
        (method, path): operation["operationId"]
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    }
    assert found == OPERATION_IDS


@pytest.mark.parametrize("method", ["put", "patch"])
def test_if_match_is_required_on_conditional_writes(spec: dict[str, Any], method: str) -> None:
    assert header_names(spec["paths"][ITEM][method])["If-Match"]["required"] is True


def test_idempotency_key_is_documented_as_the_server_checks_it(spec: dict[str, Any]) -> None:
    key = header_names(spec["paths"]["/v1/shipments"]["post"])["Idempotency-Key"]["schema"]
    assert (key["minLength"], key["maxLength"], key["pattern"]) == (
        1,
        KEY_MAX_LENGTH,
        KEY_PATTERN,
    )


def test_every_error_answer_is_documented_as_a_problem(spec: dict[str, Any]) -> None:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if int(status) >= 400 and not (path == "/readyz" and status == "503"):
                    assert "application/problem+json" in answer["content"], (method, path, status)


def test_the_committed_document_is_the_apps(spec: dict[str, Any]) -> None:
    assert json.loads(COMMITTED.read_text()) == spec, (
        "docs/openapi.json differs from the app's /openapi.json: "
        "run `make openapi` (or `shipments openapi -o docs/openapi.json`) and commit it"
    )
    app = create_app(Settings())
    assert COMMITTED.read_text() == document_text(app), "run `make openapi` and commit the result"
