"""Streams to read back: shipments written through the API, with every write's answer kept.

Every error answer a test here receives is checked to be clean problem+json.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.wiring import Services

# A varied life: details, status alone, an address, status and details together.
PATCHES: list[dict[str, Any]] = [
    {"weightLbs": 4200},
    {"status": "SUBMITTED"},
    {
        "pickupAddress": {
            "streetAddress1": "1 Main St",
            "city": "Austin",
            "state": "TX",
            "postalCode": "73301",
        },
        "customerRemarks": "fragile piano",
    },
    {
        "destinationAddress": {
            "streetAddress1": "9 Bay Rd",
            "city": "Tampa",
            "state": "FL",
            "postalCode": "33601",
        }
    },
    {"status": "APPROVED", "weightLbs": 4300},
    {"customerRemarks": None},
]


@dataclass(frozen=True)
class Write:
    """One accepted write and exactly what the client received for it."""

    body: bytes
    etag: str
    document: dict[str, Any]

    @property
    def version(self) -> int:
        return int(self.document["version"])


@dataclass(frozen=True)
class WrittenStream:
    """A shipment and the answers of the writes that made its versions 1, 2, …"""

    id: str
    writes: list[Write]

    @property
    def url(self) -> str:
        return f"/v1/shipments/{self.id}"

    def write(self, version: int) -> Write:
        return self.writes[version - 1]


def _kept(response: httpx.Response) -> Write:
    assert response.status_code in (200, 201), response.text
    return Write(response.content, response.headers["ETag"], response.json())


def write_stream(
    client: TestClient, body: dict[str, Any], patches: list[dict[str, Any]], **headers: str
) -> WrittenStream:
    """Create a shipment and apply each merge patch in turn (each must append one event)."""
    writes = [_kept(client.post("/v1/shipments", json=body, headers=headers))]
    for changes in patches:
        response = client.patch(
            f"/v1/shipments/{writes[0].document['id']}",
            content=json.dumps(changes).encode(),
            headers={
                "Content-Type": "application/merge-patch+json",
                "If-Match": writes[-1].etag,
                **headers,
            },
        )
        writes.append(_kept(response))
        assert writes[-1].version == len(writes), "each patch must append exactly one event"
    return WrittenStream(writes[0].document["id"], writes)


def weight_patches(count: int) -> list[dict[str, Any]]:
    """``count`` patches that each change the weight (one event each)."""
    return [{"weightLbs": 100 + n} for n in range(count)]


@pytest.fixture
def stream(client: TestClient, new_shipment: dict[str, Any]) -> WrittenStream:
    """A shipment with seven versions: created, then each of ``PATCHES``."""
    return write_stream(client, new_shipment, PATCHES)


@pytest.fixture
def services(client: TestClient) -> Services:
    """The app's own services (same store), for writing beside the API."""
    wired: Services = client.app.state.services  # type: ignore[attr-defined]
    return wired


def check_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert ``response`` is a problem+json answer with ``status``; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    return problem


@pytest.fixture(autouse=True)
def error_answers_are_problems(client: TestClient) -> Iterator[None]:
    """Every error answer in this package must be problem+json, asserted or not."""

    def check(response: httpx.Response) -> None:
        if response.status_code >= 400:
            response.read()
            check_problem(response, response.status_code)

    client.event_hooks["response"].append(check)
    yield
    client.event_hooks["response"].remove(check)
