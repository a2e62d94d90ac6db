"""Helpers for the contract tests: create and write shipments, check problem answers.

Every answer of 400 or more that any test receives is checked against the contract's
"Errors" section (``problem_answers_are_clean``), so no test can pass on a leaky error.
"""

from __future__ import annotations

import json
import re
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient

from api.http.problem_types import PROBLEM_TYPES
from tests.support.auth_clients import cached_tokens_client

__all__ = ["cached_tokens_client"]

MERGE_PATCH = "application/merge-patch+json"
SERVER_OWNED = ("id", "eTag", "version", "createdAt", "updatedAt")
LEAKS = ("Traceback", "SELECT", "INSERT", "/work/", ".py")
# The validator's own words, which say how it works rather than which rule was broken.
# A name as the code spells it (``requested_pickup_date``), not as the API does.
CODE_NAME = re.compile(r"(?<![.\w])[a-z][a-z0-9]*_[a-z0-9_]+\b")
VALIDATOR_WORDS = ("Value error", "Input should", "Field required", "String should")


def check_problem(response: httpx.Response) -> dict[str, Any]:
    """The problem body of an error answer, after checking it is RFC 9457 and leaks nothing."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    text = response.text
    for leak in LEAKS:
        assert leak not in text, f"{leak!r} leaked in {text}"
    problem: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= set(problem), problem
    assert problem["status"] == response.status_code
    assert isinstance(problem["title"], str) and problem["title"]
    assert isinstance(problem["detail"], str) and problem["detail"]
    documented = PROBLEM_TYPES.get(problem["type"].removeprefix("/problems/"))
    if problem["type"].startswith("/problems/"):
        assert documented is not None, problem["type"]
        assert problem["title"] == documented.title, "one type, one title"
        assert problem["status"] == documented.status, problem
    for error in problem.get("errors") or []:
        assert not any(word in error["reason"] for word in VALIDATOR_WORDS), error
        assert not CODE_NAME.search(error["field"] + " " + error["reason"]), error
    return problem


def problem_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert the answer is a clean problem with ``status`` and return its body."""
    assert response.status_code == status, response.text
    return check_problem(response)


@pytest.fixture(autouse=True)
def problem_answers_are_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    """Check every error answer of every test in this package, not just the asserted ones.

    Every test client made during the test gets the check (the shared ``client`` and
    any a test makes itself); a test that needs no app builds none.
    """

    def check(response: httpx.Response) -> None:
        if response.status_code >= 400 and response.request.method != "HEAD":
            response.read()
            check_problem(response)

    made = TestClient.__init__

    def checked_client(self: TestClient, *args: Any, **kwargs: Any) -> None:
        made(self, *args, **kwargs)
        self.event_hooks["response"].append(check)

    monkeypatch.setattr(TestClient, "__init__", checked_client)


def create(client: TestClient, body: dict[str, Any], **headers: str) -> httpx.Response:
    response: httpx.Response = client.post("/v1/shipments", json=body, headers=headers)
    return response


@pytest.fixture
def shipment(client: TestClient, new_shipment: dict[str, Any]) -> dict[str, Any]:
    """A freshly created shipment's representation (version 1, DRAFT)."""
    response = create(client, new_shipment)
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


@pytest.fixture
def other_shipment(client: TestClient, new_shipment: dict[str, Any]) -> dict[str, Any]:
    """A second shipment, whose tags must never work on the first."""
    response = create(client, new_shipment)
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


def url(document: dict[str, Any]) -> str:
    return f"/v1/shipments/{document['id']}"


def quoted(document: dict[str, Any]) -> str:
    """The ETag header value of a representation."""
    return f'"{document["eTag"]}"'


def writable(document: dict[str, Any]) -> dict[str, Any]:
    """The client-writable part of a representation (a PUT body)."""
    return {k: v for k, v in document.items() if k not in SERVER_OWNED}


def put(
    client: TestClient,
    document: dict[str, Any],
    body: dict[str, Any],
    if_match: str | None = "current",
    **headers: str,
) -> httpx.Response:
    """PUT ``body`` over ``document``'s shipment; by default If-Match is its quoted tag."""
    if if_match == "current":
        if_match = quoted(document)
    if if_match is not None:
        headers["If-Match"] = if_match
    response: httpx.Response = client.put(url(document), json=body, headers=headers)
    return response


def patch(
    client: TestClient,
    document: dict[str, Any],
    changes: Any,
    if_match: str | None = "current",
    content_type: str = MERGE_PATCH,
    **headers: str,
) -> httpx.Response:
    """Merge-patch ``document``'s shipment; by default If-Match is its quoted tag."""
    if if_match == "current":
        if_match = quoted(document)
    if if_match is not None:
        headers["If-Match"] = if_match
    headers["Content-Type"] = content_type
    content = changes if isinstance(changes, bytes) else json.dumps(changes).encode()
    response: httpx.Response = client.patch(url(document), content=content, headers=headers)
    return response


def current(client: TestClient, document: dict[str, Any]) -> dict[str, Any]:
    """The shipment as GET shows it now."""
    response = client.get(url(document))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def stored_events(client: TestClient, shipment_id: str) -> list[Any]:
    """The shipment's events, read from the store itself (oldest first)."""
    return list(client.app.state.services.store.events.get(UUID(shipment_id)))  # type: ignore[attr-defined]


def moved_to(client: TestClient, document: dict[str, Any], *statuses: str) -> dict[str, Any]:
    """The shipment after PATCHing its status through ``statuses`` in order."""
    for status in statuses:
        response = patch(client, document, {"status": status})
        assert response.status_code == 200, response.text
        document = response.json()
    return document
