"""A shipment whose stream holds every kind of event, with personal values easy to search for."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from infrastructure.settings import Settings
from tests.api.conftest import create, patch, put, url
from tests.support.stores import POSTGRES_ADMIN_URL

# Distinctive personal values: none may be found anywhere once erased.
SECRETS = (
    "Privet Drive 4",
    "Cupboard Under The Stairs",
    "Littlewhinging",
    "Mulberry Lane 99",
    "Quillhaven",
    "gate code 4242 ask for Petunia",
    "call Vernon before noon",
    "the dog bites",
)
PICKUP = {
    "streetAddress1": "Privet Drive 4",
    "streetAddress2": "Cupboard Under The Stairs",
    "city": "Littlewhinging",
    "state": "TX",
    "postalCode": "75001",
}
DESTINATION = {
    "streetAddress1": "Mulberry Lane 99",
    "city": "Quillhaven",
    "state": "CA",
    "postalCode": "92102",
}
# Another shipment's personal values: an erasure of the first must leave them alone.
OTHER_REMARKS = "Keep this remark, it belongs to someone else"


@dataclass
class Stream:
    """The shipment written with every kind of event, and how it read before erasure."""

    id: str
    document: dict[str, Any]  # its current representation


@pytest.fixture
def erasure_settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, snapshot_interval=3)


@pytest.fixture
def erasure_client(erasure_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(erasure_settings), raise_server_exceptions=False) as client:
        yield client


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def write_every_kind_of_event(client: TestClient) -> Stream:
    """POST (with a key), PUT, PATCH, an idempotent retry, a merged write, status changes;
    with a snapshot every 3 versions, some are snapshotted too."""
    created = ok(
        create(
            client,
            {
                "shipmentType": "HHG",
                "deliveryDate": "2026-12-01",
                "pickupAddress": PICKUP,
                "destinationAddress": DESTINATION,
                "customerRemarks": "gate code 4242 ask for Petunia",
            },
            **{"Idempotency-Key": "create-1"},
        ),
        201,
    )
    v1 = created
    replaced = ok(
        put(
            client,
            v1,
            {
                "shipmentType": "HHG",
                "deliveryDate": "2026-12-02",
                "pickupAddress": PICKUP,
                "destinationAddress": DESTINATION,
                "customerRemarks": "call Vernon before noon",
                "weightLbs": 1000,
            },
        )
    )
    patched = ok(
        patch(client, replaced, {"customerRemarks": "the dog bites"}, **{"Idempotency-Key": "p-1"})
    )
    retried = ok(
        patch(client, replaced, {"customerRemarks": "the dog bites"}, **{"Idempotency-Key": "p-1"})
    )
    assert retried["version"] == patched["version"]
    merged = ok(patch(client, replaced, {"weightLbs": 2000}, Prefer="conflict=merge"))
    submitted = ok(patch(client, merged, {"status": "SUBMITTED"}))
    approved = ok(patch(client, submitted, {"status": "APPROVED", "weightLbs": 2100}))
    return Stream(approved["id"], approved)


def every_answer(client: TestClient, stream: Stream) -> str:
    """Every API answer about the past and present of the shipment, as one text."""
    answers: list[str] = []
    base = url(stream.document)
    answers.append(client.get(base).text)
    answers.append(client.get(f"{base}/history").text)
    version = client.get(base).json()["version"]
    for n in range(1, version + 1):
        answers.append(client.get(f"{base}/versions/{n}").text)
    answers.append(client.get(f"{base}?asOf={stream.document['createdAt']}").text)
    answers.append(client.get("/v1/events?limit=1000").text)
    answers.append(client.get("/v1/events/stream?follow=false").text)
    answers.append(client.get("/v1/shipments?limit=200").text)
    return "\n".join(answers)


def found_secrets(text: str, secrets: tuple[str, ...] = SECRETS) -> list[str]:
    """The secrets in ``text``, as text or hex-encoded (as dumps show blobs and bytea)."""
    lowered = text.lower()
    return [s for s in secrets if s in text or s.encode().hex() in lowered]


def database_dump(database_url: str) -> str:
    """What ``pg_dump`` of the test schema, or SQLite's ``.dump`` after a checkpoint, holds."""
    parts = urlsplit(database_url)
    if parts.scheme == "sqlite":
        path = parts.path[1:]
        with sqlite3.connect(path) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return "\n".join(connection.iterdump())
    schema = parse_qs(parts.query)["schema"][0]
    dumped = subprocess.run(
        ["pg_dump", "--schema", schema, "--data-only", POSTGRES_ADMIN_URL],
        capture_output=True,
        text=True,
        check=True,
    )
    return dumped.stdout


def history_without_changes(client: TestClient, stream: Stream) -> list[dict[str, Any]]:
    items = ok(client.get(f"{url(stream.document)}/history"))["items"]
    return [{k: v for k, v in item.items() if k != "changes"} for item in items]


def json_text(value: Any) -> str:
    return json.dumps(value)
