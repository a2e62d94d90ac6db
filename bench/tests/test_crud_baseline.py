"""The CRUD baseline keeps the contract's PATCH semantics under races.

``If-Match: *`` is never 412 while the shipment exists (a lost race is decided
again on the new state), a stale tag is always 412, and a named tag that loses
the race is 412 too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

import bench.crud_baseline as baseline
from bench.crud_baseline_store import Documents, create_table, open_documents
from bench.seeding import NEW_SHIPMENT

MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


class RacingDocuments:
    """A store where another writer slips in before the first ``races`` updates."""

    def __init__(self, inner: Documents, races: int) -> None:
        self.inner = inner
        self.races = races

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def update(self, shipment_id: UUID, expected_version: int, document: str) -> bool:
        if self.races > 0:
            self.races -= 1
            # The other writer: same document, next version (UPDATE ... WHERE version = ?).
            version, stored = await self.inner.get(shipment_id)  # type: ignore[misc]
            assert await self.inner.update(shipment_id, version, stored)
        return await self.inner.update(shipment_id, expected_version, document)


@pytest.fixture
def racing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, Any]]:
    url = f"sqlite:///{tmp_path}/baseline.db"
    create_table(url)
    holder: dict[str, RacingDocuments] = {}

    def open_racing(database_url: str) -> RacingDocuments:
        holder["documents"] = RacingDocuments(open_documents(database_url), races=0)
        return holder["documents"]

    monkeypatch.setattr(baseline, "open_documents", open_racing)
    with TestClient(baseline.create_baseline_app(url)) as client:
        yield client, holder["documents"]


def test_if_match_star_is_decided_again_after_a_lost_race(racing: Any) -> None:
    client, documents = racing
    created = client.post("/v1/shipments", json=NEW_SHIPMENT).json()
    documents.races = 2
    answer = client.patch(
        f"/v1/shipments/{created['id']}",
        json={"weightLbs": 7},
        headers={**MERGE_PATCH, "If-Match": "*"},
    )
    assert answer.status_code == 200
    assert answer.json()["version"] == 4  # two racing writes, then ours
    assert answer.json()["weightLbs"] == 7


def test_a_named_tag_that_loses_the_race_is_412(racing: Any) -> None:
    client, documents = racing
    created = client.post("/v1/shipments", json=NEW_SHIPMENT)
    documents.races = 1
    answer = client.patch(
        f"/v1/shipments/{created.json()['id']}",
        json={"weightLbs": 7},
        headers={**MERGE_PATCH, "If-Match": created.headers["etag"]},
    )
    assert answer.status_code == 412


def test_a_stale_tag_is_412_even_when_the_state_would_not_change(racing: Any) -> None:
    client, _ = racing
    created = client.post("/v1/shipments", json=NEW_SHIPMENT)
    path = f"/v1/shipments/{created.json()['id']}"
    stale = created.headers["etag"]
    patched = client.patch(path, json={"weightLbs": 7}, headers={**MERGE_PATCH, "If-Match": stale})
    assert patched.status_code == 200
    again = client.patch(path, json={"weightLbs": 7}, headers={**MERGE_PATCH, "If-Match": stale})
    assert again.status_code == 412
    assert again.headers["etag"] == patched.headers["etag"]
