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
from api.http.problem_pages import PROBLEM_TYPES
from api.http.schemas import ShipmentOut
from infrastructure.settings import Settings
from tests.api.conftest import SERVER_OWNED, current

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
    for status, schema in (
        ("409", "StatusConflictProblem"),
        ("412", "PreconditionProblem"),
        ("422", "ValidationProblem"),
        ("428", "Problem"),
    ):
        content = responses[status]["content"]
        assert content == {
            "application/problem+json": {
                "schema": {"$ref": f"#/components/schemas/{schema}"},
                **(
                    {"example": content["application/problem+json"]["example"]}
                    if "example" in content["application/problem+json"]
                    else {}
                ),
            }
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


def test_each_family_of_problems_has_its_schema_told_apart_by_an_enum_type(
    spec: dict[str, Any],
) -> None:
    schemas = spec["components"]["schemas"]
    members: dict[str, set[str]] = {
        "Problem": set(),
        "ValidationProblem": {"errors"},
        "StatusConflictProblem": {"currentStatus", "requestedStatus", "allowedStatuses"},
        "PreconditionProblem": {
            "currentVersion",
            "currentETag",
            "changesSince",
            "changesSinceComplete",
            "conflictingFields",
        },
    }
    types: list[str] = []
    for name, extras in members.items():
        properties = schemas[name]["properties"]
        assert {"type", "title", "status", "detail", "instance"} | extras == set(properties)
        assert {"type", "title", "status", "detail"} <= set(schemas[name]["required"])
        kind = properties["type"]
        types += kind["enum"] if "enum" in kind else [kind["const"]]
    assert len(types) == len(set(types)), "a problem type belongs to one schema"
    assert set(types) - {"about:blank"} == {f"/problems/{name}" for name in PROBLEM_TYPES}
    current_status = schemas["StatusConflictProblem"]["properties"]["currentStatus"]
    assert current_status["$ref"] == "#/components/schemas/Status"


def test_no_schema_has_a_null_default_nor_a_request_body_a_server_owned_field(
    spec: dict[str, Any],
) -> None:
    assert '"default": null' not in json.dumps(spec)
    for body in ("ShipmentCreate", "ShipmentWrite", "ShipmentPatch"):
        assert not set(SERVER_OWNED) & set(spec["components"]["schemas"][body]["properties"])


def test_error_answers_are_documented_only_as_problem_json(spec: dict[str, Any]) -> None:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if int(status) >= 400 and not (path == "/readyz" and status == "503"):
                    assert list(answer["content"]) == ["application/problem+json"], (
                        method,
                        path,
                        status,
                    )


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
    ("delete", ITEM + "/personal-data"): "erasePersonalData",
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


@pytest.mark.parametrize(
    ("method", "path"), [("put", ITEM), ("patch", ITEM), ("delete", ITEM + "/personal-data")]
)
def test_if_match_is_required_on_conditional_writes(
    spec: dict[str, Any], method: str, path: str
) -> None:
    assert header_names(spec["paths"][path][method])["If-Match"]["required"] is True


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
