"""Two processes writing one shipment: each write is decided on what the store holds now.

Each server process keeps the states it last decided (to save decoding), but
the row read under the lock always says which version is current. Here two apps
on one store stand for two processes: A knows a shipment at version 1, B writes
version 2 behind A's back, and A's writes must be answered on the store's state:
applied on top of B's change, or refused naming the real current version, never
decided on A's copy.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from infrastructure.event_store import ShipmentStore
from infrastructure.settings import Settings
from tests.api.conftest import MERGE_PATCH, current, patch, problem_of, quoted, stored_events


@pytest.fixture
def writer_a(client: TestClient) -> TestClient:
    """One process: it creates the shipments below, so it holds them in its cache."""
    return client


@pytest.fixture
def writer_b(settings: Settings) -> Iterator[TestClient]:
    """Another process on the same store, with a cache of its own."""
    other = settings.model_copy(update={"projection_runner": False})
    with TestClient(create_app(other), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def cached_by_a(writer_a: TestClient, new_shipment: dict[str, Any]) -> dict[str, Any]:
    """A shipment at version 1, as A created (and cached) it."""
    response = writer_a.post("/v1/shipments", json=new_shipment)
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


def written_by_b(writer_b: TestClient, document: dict[str, Any], changes: Any) -> dict[str, Any]:
    """The shipment after B's PATCH, which A's cache knows nothing about."""
    response = patch(writer_b, document, changes)
    assert response.status_code == 200, response.text
    changed: dict[str, Any] = response.json()
    return changed


def test_a_star_patch_applies_on_top_of_the_other_process_write(
    writer_a: TestClient, writer_b: TestClient, cached_by_a: dict[str, Any]
) -> None:
    v2 = written_by_b(writer_b, cached_by_a, {"weightLbs": 1234})

    response = patch(writer_a, cached_by_a, {"customerRemarks": "fragile"}, if_match="*")

    assert response.status_code == 200, response.text
    document = response.json()
    assert document["version"] == v2["version"] + 1 == 3
    assert (document["weightLbs"], document["customerRemarks"]) == (1234, "fragile")
    assert response.headers["ETag"] == quoted(document)
    assert current(writer_b, cached_by_a) == document
    assert len(stored_events(writer_a, cached_by_a["id"])) == 3


def test_a_patch_with_the_current_tag_succeeds_though_the_cache_held_an_older_version(
    writer_a: TestClient, writer_b: TestClient, cached_by_a: dict[str, Any]
) -> None:
    v2 = written_by_b(writer_b, cached_by_a, {"weightLbs": 1234})

    response = patch(writer_a, v2, {"customerRemarks": "fragile"})

    assert response.status_code == 200, response.text
    document = response.json()
    assert document["version"] == 3
    assert (document["weightLbs"], document["customerRemarks"]) == (1234, "fragile")
    assert len(stored_events(writer_a, cached_by_a["id"])) == 3


def test_a_patch_with_the_tag_the_cache_holds_is_412_naming_the_real_current_version(
    writer_a: TestClient, writer_b: TestClient, cached_by_a: dict[str, Any]
) -> None:
    v2 = written_by_b(writer_b, cached_by_a, {"weightLbs": 1234})

    response = patch(writer_a, cached_by_a, {"customerRemarks": "fragile"})

    problem = problem_of(response, 412)
    assert (problem["currentVersion"], problem["currentETag"]) == (2, v2["eTag"])
    assert response.headers["ETag"] == quoted(v2)
    assert current(writer_a, cached_by_a) == v2
    assert len(stored_events(writer_a, cached_by_a["id"])) == 2


def test_a_patch_that_changes_nothing_on_the_cached_state_but_something_now_appends(
    writer_a: TestClient, writer_b: TestClient, cached_by_a: dict[str, Any]
) -> None:
    assert cached_by_a["weightLbs"] is None
    written_by_b(writer_b, cached_by_a, {"weightLbs": 1234})

    # Against A's cached version 1 this is a no-op; against version 2 it is a change.
    response = patch(writer_a, cached_by_a, {"weightLbs": None}, if_match="*")

    assert response.status_code == 200, response.text
    document = response.json()
    assert (document["version"], document["weightLbs"]) == (3, None)
    assert current(writer_b, cached_by_a) == document
    assert len(stored_events(writer_a, cached_by_a["id"])) == 3


@pytest.mark.parametrize("if_match", ["*", "current"])
def test_a_move_legal_from_the_cached_status_but_not_from_the_real_one_is_409(
    writer_a: TestClient, writer_b: TestClient, cached_by_a: dict[str, Any], if_match: str
) -> None:
    submitted = written_by_b(writer_b, cached_by_a, {"status": "SUBMITTED"})
    approved = written_by_b(writer_b, submitted, {"status": "APPROVED"})
    target = approved if if_match == "current" else cached_by_a

    # A still holds the DRAFT of version 1, from which SUBMITTED is the legal next step.
    response = patch(writer_a, target, {"status": "SUBMITTED"}, if_match=if_match)

    problem = problem_of(response, 409)
    assert "APPROVED" in problem["detail"]
    assert current(writer_a, cached_by_a) == approved
    assert len(stored_events(writer_a, cached_by_a["id"])) == 3


def test_a_retried_write_after_a_stale_start_is_replayed_not_applied_twice(
    writer_a: TestClient, writer_b: TestClient, cached_by_a: dict[str, Any]
) -> None:
    written_by_b(writer_b, cached_by_a, {"weightLbs": 1234})
    headers = {"If-Match": "*", "Idempotency-Key": "stale-start", "Content-Type": MERGE_PATCH}
    path = f"/v1/shipments/{cached_by_a['id']}"

    first = writer_a.patch(path, content=b'{"customerRemarks": "fragile"}', headers=headers)
    retry = writer_a.patch(path, content=b'{"customerRemarks": "fragile"}', headers=headers)

    assert first.status_code == retry.status_code == 200, (first.text, retry.text)
    assert first.json()["version"] == 3
    assert (retry.content, retry.headers["ETag"]) == (first.content, first.headers["ETag"])
    assert len(stored_events(writer_a, cached_by_a["id"])) == 3


class StreamReads:
    """Counts the queries the write path makes for one shipment's events or snapshots.

    Only those made on the committer's thread, where every write is decided: the
    projection runner folds events on a thread of its own.
    """

    def __init__(self, store: ShipmentStore, shipment_id: UUID) -> None:
        self.count = 0
        for event_store in (store.events, store.snapshots):
            assert event_store is not None
            self._watch(event_store.recorder, shipment_id)

    def _watch(self, recorder: Any, shipment_id: UUID) -> None:
        select_events = recorder.select_events

        def counted(originator_id: Any, *args: Any, **kwargs: Any) -> Any:
            if originator_id == shipment_id and threading.current_thread().name == "group-commit":
                self.count += 1
            return select_events(originator_id, *args, **kwargs)

        recorder.select_events = counted


def test_no_write_reads_the_stream_whoever_wrote_last(
    writer_a: TestClient, writer_b: TestClient, cached_by_a: dict[str, Any]
) -> None:
    store = writer_a.app.state.services.store  # type: ignore[attr-defined]
    reads = StreamReads(store, UUID(cached_by_a["id"]))
    second = patch(writer_a, cached_by_a, {"weightLbs": 2})
    assert second.status_code == 200, second.text
    assert second.json()["version"] == 2

    # After another process wrote, A decides on the view row, still without replaying.
    v3 = written_by_b(writer_b, second.json(), {"weightLbs": 3})
    third = patch(writer_a, v3, {"weightLbs": 4})
    assert third.status_code == 200, third.text
    assert third.json()["version"] == 4
    assert reads.count == 0  # (below the snapshot interval: a snapshot reads the stream)
