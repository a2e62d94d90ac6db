"""PUT and PATCH decided on this process's cached state in the event loop, or on the store.

``ShipmentWrites.patch_async``/``replace_async`` (the app's routes) decide a write of
a cached shipment without an Idempotency-Key in the loop when group commit is on;
everything else takes the synchronous ``patch``/``replace`` in a worker thread, told
not to try the cache again when the loop (or the edge, ``api.fast_writes``) already
did. These tests tell the paths apart by watching the synchronous methods, and check
that the answers are the contract's whichever path gave them.

A write with a query string skips the edge (it takes only plain writes), so
``VIA_ROUTE`` makes the route's own loop path decide it. The cross-process
stale-cache cases are in ``tests/concurrency/test_cached_state.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.shipment_writes import ShipmentWrites
from infrastructure.settings import Settings
from infrastructure.shipment_service import ShipmentService
from tests.api.conftest import (
    MERGE_PATCH,
    current,
    patch,
    problem_of,
    quoted,
    stored_events,
    url,
    writable,
)

VIA_ROUTE = "?via=route"
ENTRIES = [pytest.param("", id="edge-then-route"), pytest.param(VIA_ROUTE, id="route")]
Write = Callable[..., httpx.Response]


@pytest.fixture
def group_commit() -> bool:
    """Group commit is on unless a test parametrises this to False."""
    return True


@pytest.fixture
def settings(database_url: str, group_commit: bool) -> Settings:
    return Settings(database_url=database_url, snapshot_interval=5, group_commit=group_commit)


class SyncWrites:
    """Watches ``ShipmentWrites.patch``/``replace`` (the worker-thread path).

    Each call is recorded as (method, cached_first); ``refuse`` makes any call fail
    the request (a 500), for tests that prove the path is not taken.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, bool]] = []
        self.refuse = False
        for name in ("patch", "replace"):
            monkeypatch.setattr(ShipmentWrites, name, self._watched(name))

    def _watched(self, name: str) -> Callable[..., Any]:
        original = getattr(ShipmentWrites, name)

        def watched(writes: ShipmentWrites, *args: Any, cached_first: bool = True) -> Any:
            self.calls.append((name, cached_first))
            if self.refuse:
                raise AssertionError(f"the worker-thread {name} must not be used here")
            return original(writes, *args, cached_first=cached_first)

        return watched


@pytest.fixture
def sync_writes(monkeypatch: pytest.MonkeyPatch) -> SyncWrites:
    return SyncWrites(monkeypatch)


@pytest.fixture
def loop_submits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts appends queued from the event loop (``ShipmentService.submit_revision``)."""
    calls: list[int] = []
    original = ShipmentService.submit_revision

    def counted(service: ShipmentService, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(service, *args, **kwargs)

    monkeypatch.setattr(ShipmentService, "submit_revision", counted)
    return calls


def write_via(
    client: TestClient,
    method: str,
    document: dict[str, Any],
    changes: dict[str, Any],
    *,
    suffix: str = "",
    if_match: str | None = None,
    **headers: str,
) -> httpx.Response:
    """PATCH ``changes`` (merge patch) or PUT them over ``document``'s writable fields."""
    if method == "PATCH":
        body, content_type = changes, MERGE_PATCH
    else:
        body, content_type = {**writable(document), **changes}, "application/json"
    headers = {
        "Content-Type": content_type,
        "If-Match": if_match or quoted(document),
        **headers,
    }
    response: httpx.Response = client.request(
        method, url(document) + suffix, json=body, headers=headers
    )
    return response


def assert_answer_is_what_get_returns(client: TestClient, response: httpx.Response) -> None:
    """The write's answer is byte for byte the representation a GET returns afterwards."""
    assert response.status_code == 200, response.text
    got = client.get(url(response.json()))
    assert got.status_code == 200, got.text
    assert response.content == got.content
    assert response.headers["ETag"] == got.headers["ETag"] == quoted(response.json())


@pytest.mark.parametrize("first", ["PATCH", "PUT"])
def test_a_cached_write_is_decided_in_the_loop_and_answers_what_get_returns(
    client: TestClient,
    shipment: dict[str, Any],
    sync_writes: SyncWrites,
    loop_submits: list[int],
    first: str,
) -> None:
    sync_writes.refuse = True
    second = "PUT" if first == "PATCH" else "PATCH"

    one = write_via(client, first, shipment, {"weightLbs": 1200}, suffix=VIA_ROUTE)
    assert_answer_is_what_get_returns(client, one)
    # The loop's append is now this process's cached state: the next write starts there.
    two = write_via(client, second, one.json(), {"customerRemarks": "fragile"}, suffix=VIA_ROUTE)
    assert_answer_is_what_get_returns(client, two)

    assert sync_writes.calls == []
    assert len(loop_submits) == 2
    document = two.json()
    assert (document["version"], document["weightLbs"]) == (3, 1200)
    assert document["customerRemarks"] == "fragile"
    assert len(stored_events(client, shipment["id"])) == 3


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
@pytest.mark.parametrize("suffix", ENTRIES)
def test_a_write_with_an_idempotency_key_takes_the_store_path_and_a_retry_replays_it(
    client: TestClient,
    shipment: dict[str, Any],
    sync_writes: SyncWrites,
    loop_submits: list[int],
    method: str,
    suffix: str,
) -> None:
    key = {"Idempotency-Key": f"cached-writes-{method}"}
    first = write_via(client, method, shipment, {"weightLbs": 4200}, suffix=suffix, **key)
    assert_answer_is_what_get_returns(client, first)
    # The retry's tag is stale by now: only the key's replay can answer it 200.
    retry = write_via(client, method, shipment, {"weightLbs": 4200}, suffix=suffix, **key)

    assert retry.status_code == 200, retry.text
    assert retry.content == first.content
    assert retry.headers["ETag"] == first.headers["ETag"]
    name = method.lower() if method == "PATCH" else "replace"
    assert sync_writes.calls == [(name, True), (name, True)]  # the loop never tried the cache
    assert loop_submits == []
    assert len(stored_events(client, shipment["id"])) == 2


@pytest.mark.parametrize("group_commit", [False])
@pytest.mark.parametrize("suffix", ENTRIES)
def test_without_group_commit_writes_take_the_store_path_and_still_work(
    client: TestClient, shipment: dict[str, Any], sync_writes: SyncWrites, suffix: str
) -> None:
    assert not client.app.state.services.shipments.submits_without_waiting  # type: ignore[attr-defined]

    patched = write_via(client, "PATCH", shipment, {"weightLbs": 900}, suffix=suffix)
    assert_answer_is_what_get_returns(client, patched)
    replaced = write_via(client, "PUT", patched.json(), {"weightLbs": 901}, suffix=suffix)
    assert_answer_is_what_get_returns(client, replaced)

    # The worker thread tries the cached state first itself: nobody did before it.
    assert sync_writes.calls == [("patch", True), ("replace", True)]
    assert replaced.json()["version"] == 3
    assert len(stored_events(client, shipment["id"])) == 3


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
@pytest.mark.parametrize("suffix", ENTRIES)
def test_a_stale_tag_is_a_412_naming_the_current_version(
    client: TestClient,
    shipment: dict[str, Any],
    sync_writes: SyncWrites,
    method: str,
    suffix: str,
) -> None:
    newer = patch(client, shipment, {"weightLbs": 10}).json()
    sync_writes.calls.clear()

    response = write_via(client, method, shipment, {"weightLbs": 11}, suffix=suffix)

    problem = problem_of(response, 412)
    assert problem["currentVersion"] == newer["version"] == 2
    assert problem["currentETag"] == newer["eTag"]
    assert response.headers["ETag"] == quoted(newer)
    assert current(client, shipment) == newer
    assert len(stored_events(client, shipment["id"])) == 2
    # Decided again on the store's state, without trying the cache a second time.
    assert sync_writes.calls == [(method.lower() if method == "PATCH" else "replace", False)]


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
@pytest.mark.parametrize("suffix", ENTRIES)
def test_an_illegal_status_move_is_a_409_and_changes_nothing(
    client: TestClient,
    shipment: dict[str, Any],
    sync_writes: SyncWrites,
    method: str,
    suffix: str,
) -> None:
    response = write_via(client, method, shipment, {"status": "APPROVED"}, suffix=suffix)

    problem = problem_of(response, 409)
    assert "DRAFT" in problem["detail"] and "APPROVED" in problem["detail"]
    assert current(client, shipment) == shipment
    assert len(stored_events(client, shipment["id"])) == 1
    assert sync_writes.calls == [(method.lower() if method == "PATCH" else "replace", False)]


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
@pytest.mark.parametrize("suffix", ENTRIES)
def test_a_write_that_changes_nothing_keeps_the_version_and_appends_nothing(
    client: TestClient,
    shipment: dict[str, Any],
    sync_writes: SyncWrites,
    method: str,
    suffix: str,
) -> None:
    same = {"shipmentType": shipment["shipmentType"]}
    response = write_via(client, method, shipment, same, suffix=suffix)

    assert_answer_is_what_get_returns(client, response)
    assert response.headers["ETag"] == quoted(shipment)
    assert response.json() == shipment
    assert len(stored_events(client, shipment["id"])) == 1
    assert sync_writes.calls == [(method.lower() if method == "PATCH" else "replace", False)]


def test_after_a_refusal_the_next_write_is_decided_in_the_loop_again(
    client: TestClient, shipment: dict[str, Any], sync_writes: SyncWrites
) -> None:
    refused = write_via(client, "PATCH", shipment, {"status": "DELIVERED"}, suffix=VIA_ROUTE)
    problem_of(refused, 409)
    sync_writes.refuse = True

    # The store path's read refreshed the cache; the next write is the loop's again.
    accepted = write_via(client, "PATCH", shipment, {"status": "SUBMITTED"}, suffix=VIA_ROUTE)

    assert_answer_is_what_get_returns(client, accepted)
    assert accepted.json()["status"] == "SUBMITTED"
    assert sync_writes.calls == [("patch", False)]
