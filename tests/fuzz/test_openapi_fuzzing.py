"""Schemathesis fuzzes every operation of the service's own ``/openapi.json``.

Each operation gets a bounded, deterministic number of generated requests
(``derandomize``), valid ones and invalid ones, sent in-process with an admin
token: a third aim at random ids, the rest at a shipment that exists (with
``If-Match: *`` for half of those), so writes get past 404 and 428 into
validation, the status machine and the store. Every answer must be
documented (status, content type, headers, schema), none may be a 5xx, and
every error must be problem+json.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.http.app import create_app
from infrastructure.settings import Settings
from tests.support.auth_clients import IssuedTokens, bearer

EXAMPLES_PER_OPERATION = 30
RESPONSE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Held open by design (a live feed); fuzzed with follow=false so each answer ends.
FIXED_QUERY = {"/v1/events/stream": {"follow": "false"}}

# Preconditions are judged before the body (RFC 9110), so an invalid body sent
# with a stale If-Match is rightly a 412; an oversized one is a 413.
REJECTIONS = [400, 401, 403, 404, 405, 406, 409, 412, 413, 415, 422, 428]
OPENAPI = create_app(Settings()).openapi()
LABELS = [
    f"{operation.method.upper()} {operation.path}"
    for operation in (
        result.ok() for result in schemathesis.openapi.from_dict(OPENAPI).get_all_operations()
    )
]


def takes_input(label: str) -> bool:
    """Whether an operation has anything (parameters, body, credentials) to send invalid."""
    method, path = label.split(" ", 1)
    operation = OPENAPI["paths"][path][method.lower()]
    return bool(
        operation.get("parameters") or operation.get("requestBody") or operation.get("security")
    )


FUZZ_RUNS = [
    pytest.param(label, mode, id=f"{label}-{mode.value}")
    for label in LABELS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or takes_input(label)
]


def operation_as_admin(label: str, token: str) -> Any:
    """The operation, with schemathesis sending ``token`` (except where it tests auth)."""
    config = schemathesis.Config.from_dict(
        {
            "auth": {"openapi": {"HTTPBearer": {"bearer": token}}},
            "checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}},
        }
    )
    schema = schemathesis.openapi.from_dict(OPENAPI, config=config)
    for result in schema.get_all_operations():
        operation = result.ok()
        if f"{operation.method.upper()} {operation.path}" == label:
            return operation
    raise LookupError(label)


def send(client: TestClient, case: Any) -> Any:
    """Send a generated case through the in-process client."""
    request = case.as_transport_kwargs(base_url="http://testserver")
    body: dict[str, Any] = {}
    if "json" in request:
        body["json"] = request["json"]
    elif request.get("data") is not None:
        data = request["data"]
        body["content"] = data if isinstance(data, bytes | str) else str(data)
    # A header value outside ASCII goes out as its UTF-8 bytes (httpx refuses to encode
    # it), as a careless client would send it: the server must still answer 4xx.
    headers = {
        name: value.encode() if isinstance(value, str) and not value.isascii() else value
        for name, value in (request.get("headers") or {}).items()
    }
    return client.request(
        request["method"],
        request["url"],
        params=request.get("params"),
        headers=headers,
        cookies=request.get("cookies") or None,
        **body,
    )


def assert_errors_are_problems(response: Any) -> None:
    if response.status_code < 400 or response.request.method == "HEAD":
        return  # an answer to HEAD has no body (RFC 9110 §9.3.2)
    content_type = response.headers.get("content-type", "")
    assert content_type.startswith("application/problem+json"), (response.status_code, content_type)
    problem = response.json()
    assert {"type", "title", "status", "detail"} <= set(problem), problem
    assert problem["status"] == response.status_code


def cases_for(operation: Any, mode: GenerationMode, shipment: dict[str, Any]) -> Any:
    """Cases at random ids, at the existing shipment, and at it with ``If-Match: *``."""
    query = FIXED_QUERY.get(operation.path)
    strategies = [operation.as_strategy(generation_mode=mode, query=query)]
    if "{shipment_id}" in operation.path:
        existing = {"shipment_id": shipment["id"]}
        strategies.append(
            operation.as_strategy(generation_mode=mode, path_parameters=existing, query=query)
        )
        if operation.method.upper() in ("PUT", "PATCH"):
            strategies.append(
                operation.as_strategy(
                    generation_mode=mode,
                    path_parameters=existing,
                    headers={"If-Match": "*"},
                    query=query,
                )
            )
    return st.one_of(strategies)


@pytest.mark.parametrize(("label", "mode"), FUZZ_RUNS)
def test_every_answer_to_fuzzed_requests_is_documented_and_never_a_server_error(
    label: str,
    mode: GenerationMode,
    auth_client: TestClient,
    issued_tokens: IssuedTokens,
    new_shipment: dict[str, Any],
) -> None:
    operation = operation_as_admin(label, issued_tokens.admin)
    created = auth_client.post(
        "/v1/shipments", json=new_shipment, headers=bearer(issued_tokens.admin)
    )
    assert created.status_code == 201, created.text
    checks = RESPONSE_CHECKS + (
        [negative_data_rejection] if mode is GenerationMode.NEGATIVE else []
    )
    statuses: Counter[int] = Counter()

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases_for(operation, mode, created.json()))
    def answers_conform(case: Any) -> None:
        response = send(auth_client, case)
        statuses[response.status_code] += 1
        assert response.status_code < 500, response.text
        assert_errors_are_problems(response)
        case.validate_response(response, checks=checks)

    answers_conform()
    print(f"fuzzed {label} ({mode.value}): {statuses.total()} cases, statuses {dict(statuses)}")
    assert statuses.total() > 0
