"""API.md "Errors": every refusal is problem+json with no internals; body limits, bad JSON,
bad media types and bad ids each get their own status, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import check_problem, problem_of, quoted, url

INTERNALS = "SELECT secret FROM stored_events -- /work/main/api/x.py Traceback"

LIMIT = 64 * 1024
WRITE_METHODS = ["POST", "PUT", "PATCH"]


def send(
    client: TestClient,
    method: str,
    document: dict[str, Any],
    content: bytes | Iterator[bytes],
    content_type: str = "application/json",
) -> Any:
    """A raw write to the collection (POST) or to ``document`` (PUT, PATCH)."""
    target = "/v1/shipments" if method == "POST" else url(document)
    headers = {"Content-Type": content_type, "If-Match": quoted(document)}
    return client.request(method, target, content=content, headers=headers)


def padded(size: int) -> bytes:
    """A valid PATCH/PUT/POST body of exactly ``size`` bytes (JSON allows trailing spaces)."""
    body = b'{"shipmentType": "HHG"}'
    return body + b" " * (size - len(body))


@pytest.mark.parametrize("method", WRITE_METHODS)
def test_a_body_over_64_kib_is_a_413(
    client: TestClient, shipment: dict[str, Any], method: str
) -> None:
    problem_of(send(client, method, shipment, padded(LIMIT + 1)), 413)


@pytest.mark.parametrize("method", WRITE_METHODS)
def test_a_streamed_body_over_64_kib_without_content_length_is_a_413(
    client: TestClient, shipment: dict[str, Any], method: str
) -> None:
    chunks = iter([b" " * 40_000, b" " * 40_000])
    response = send(client, method, shipment, chunks)
    assert "content-length" not in response.request.headers
    problem_of(response, 413)


@pytest.mark.parametrize("method", WRITE_METHODS)
def test_a_body_of_exactly_64_kib_is_accepted(
    client: TestClient, shipment: dict[str, Any], method: str
) -> None:
    response = send(client, method, shipment, padded(LIMIT))
    assert response.status_code in (200, 201), response.text


@pytest.mark.parametrize("method", WRITE_METHODS)
@pytest.mark.parametrize(
    "content", [b"{", b'{"shipmentType": "HHG",}', b"", b"\xff\xfe", b"{'a': 1}", b"NaN"]
)
def test_a_malformed_json_body_is_a_400(
    client: TestClient, shipment: dict[str, Any], method: str, content: bytes
) -> None:
    problem_of(send(client, method, shipment, content), 400)


@pytest.mark.parametrize("method", WRITE_METHODS)
@pytest.mark.parametrize("content", [b"[]", b'[{"shipmentType": "HHG"}]', b"1", b"null"])
def test_a_json_body_that_is_not_an_object_is_a_422(
    client: TestClient, shipment: dict[str, Any], method: str, content: bytes
) -> None:
    problem_of(send(client, method, shipment, content), 422)


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_a_write_in_another_media_type_is_a_415(
    client: TestClient, shipment: dict[str, Any], method: str
) -> None:
    for content_type in ("text/plain", "application/xml", ""):
        response = send(client, method, shipment, padded(40), content_type)
        problem_of(response, 415)


MALFORMED_IDS = ["not-a-uuid", "123", "0b6f3a8e", "%20", "'; DROP TABLE x;--", "x" * 300, "é"]
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


@pytest.mark.parametrize("shipment_id", [*MALFORMED_IDS, UNKNOWN_ID])
def test_a_malformed_or_unknown_id_is_a_404_on_every_method(
    client: TestClient, shipment: dict[str, Any], shipment_id: str
) -> None:
    target = f"/v1/shipments/{shipment_id}"
    headers = {"If-Match": quoted(shipment), "Content-Type": "application/json"}
    problem_of(client.get(target), 404)
    assert client.head(target).status_code == 404
    problem_of(client.put(target, content=padded(40), headers=headers), 404)
    problem_of(client.patch(target, content=b'{"weightLbs": 1}', headers=headers), 404)


def test_an_unknown_route_and_an_unsupported_method_are_problems(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    problem_of(client.get("/v1/nothing-here"), 404)
    problem_of(client.delete(url(shipment)), 405)


def test_every_refusal_is_a_clean_problem(
    client: TestClient, shipment: dict[str, Any], new_shipment: dict[str, Any]
) -> None:
    tag = quoted(shipment)
    answers = [
        client.post("/v1/shipments", content=b"{", headers={"Content-Type": "application/json"}),
        client.post("/v1/shipments", json={**new_shipment, "weightLbs": -1}),
        client.post("/v1/shipments", json={**new_shipment, "x": 1}),
        client.put(url(shipment), json=new_shipment),
        client.put(url(shipment), json=new_shipment, headers={"If-Match": '"stale"'}),
        client.patch(
            url(shipment),
            content=b'{"status": "DELIVERED"}',
            headers={"If-Match": tag, "Content-Type": "application/merge-patch+json"},
        ),
        client.patch(url(shipment), content=b"x", headers={"If-Match": tag}),
        client.get("/v1/shipments/nope"),
    ]
    statuses = [check_problem(answer)["status"] for answer in answers]
    assert statuses == [400, 422, 422, 428, 412, 409, 415, 404]
    for answer in answers:
        assert answer.json()["type"]


def fail_unexpectedly(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError(INTERNALS)


def test_an_unexpected_failure_on_read_is_a_500_problem_that_hides_internals(
    client: TestClient, shipment: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    state = client.app.state  # type: ignore[attr-defined]
    # Both readers: the event loop's (``api.edge.reads``) and the view's own in a
    # worker thread (the route's, and the door's when the loop cannot read at once).
    monkeypatch.setattr(state.document_reads, "get", fail_unexpectedly)
    monkeypatch.setattr(state.services.view, "get", fail_unexpectedly)
    for path in (url(shipment), url(shipment).upper().replace("/V1/SHIPMENTS", "/v1/shipments")):
        response = client.get(path, headers={"X-Request-ID": "trace-500"})
        problem_of(response, 500)
        assert response.headers["X-Request-ID"] == "trace-500"


def test_an_unexpected_failure_on_write_is_a_500_problem_that_hides_internals(
    client: TestClient, shipment: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    view = client.app.state.services.view  # type: ignore[attr-defined]
    # Where every write starts: reading the current state in the append transaction.
    monkeypatch.setattr(view, "read_current", fail_unexpectedly)
    response = send(client, "PATCH", shipment, b'{"weightLbs": 5}')
    problem_of(response, 500)
    assert response.headers["X-Request-ID"]
