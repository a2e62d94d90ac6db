"""Problem ``type`` URIs resolve to a page saying what happened and what to do (RFC 9457 §3.1.1)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.problem_pages import PROBLEM_TYPES
from tests.api.conftest import patch, problem_of, quoted

API_SOURCES = Path(__file__).resolve().parents[2] / "api"


def emitted_problem_types() -> set[str]:
    """Every ``/problems/…`` type the service's code can put in an answer."""
    found: set[str] = set()
    for source in API_SOURCES.rglob("*.py"):
        found.update(re.findall(r"[\"'](/problems/[a-z0-9-]+)[\"']", source.read_text()))
    return found


def test_every_problem_type_the_service_emits_has_a_page() -> None:
    emitted = emitted_problem_types()
    assert "/problems/version-conflict" in emitted
    assert emitted == {f"/problems/{name}" for name in PROBLEM_TYPES}


@pytest.mark.parametrize("name", sorted(PROBLEM_TYPES))
def test_a_problem_type_is_a_human_readable_page(client: TestClient, name: str) -> None:
    response = client.get(f"/problems/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert PROBLEM_TYPES[name].title in page.replace("&#x27;", "'")
    assert "What happened" in page
    assert "What to do" in page


def test_the_type_of_a_412_resolves_to_its_page(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    assert patch(client, shipment, {"weightLbs": 10}).status_code == 200
    problem = problem_of(patch(client, shipment, {"weightLbs": 11}, if_match=quoted(shipment)), 412)
    page = client.get(problem["type"])
    assert page.status_code == 200
    assert "If-Match" in page.text


def test_an_unknown_problem_type_is_a_404(client: TestClient) -> None:
    problem_of(client.get("/problems/no-such-thing"), 404)


def test_problem_pages_need_no_token(
    cached_tokens_client: tuple[TestClient, dict[str, str]],
) -> None:
    protected, _ = cached_tokens_client
    assert protected.get("/v1/shipments").status_code == 401
    assert protected.get("/problems/version-conflict").status_code == 200


def test_problem_pages_stay_out_of_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not any(path.startswith("/problems") for path in paths)


def test_the_problem_index_links_every_problem_type(client: TestClient) -> None:
    page = client.get("/problems")
    assert page.status_code == 200
    for name in PROBLEM_TYPES:
        assert f'href="/problems/{name}"' in page.text
