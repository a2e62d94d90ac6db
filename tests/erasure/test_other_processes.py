"""A second server on the same store, which wrote (and so kept in memory) the erased versions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from infrastructure.settings import Settings
from tests.api.conftest import patch, url
from tests.erasure.conftest import found_secrets, ok, write_every_kind_of_event


@pytest.fixture
def second_client(erasure_settings: Settings) -> Iterator[TestClient]:
    """Another app on the same store: its own caches, as another process has."""
    with TestClient(create_app(erasure_settings), raise_server_exceptions=False) as client:
        yield client


def test_a_server_that_cached_the_shipment_serves_no_erased_value(
    erasure_client: TestClient, second_client: TestClient
) -> None:
    stream = write_every_kind_of_event(second_client)  # every version kept in its memory
    first = ok(second_client.get(f"{url(stream.document)}/versions/1"))
    assert found_secrets(patch(second_client, first, {"weightLbs": 7}).text)  # cached, before

    ok(erasure_client.delete(f"{url(stream.document)}/personal-data", headers={"If-Match": "*"}))

    for n in range(1, stream.document["version"] + 2):
        assert found_secrets(second_client.get(f"{url(stream.document)}/versions/{n}").text) == []
    for tag_of in (first, stream.document):
        stale = patch(second_client, tag_of, {"weightLbs": 7})
        assert stale.status_code == 412
        assert found_secrets(stale.text) == [], (tag_of["version"], stale.text)
    merged = patch(
        second_client, first, {"requestedPickupDate": "2026-11-01"}, Prefer="conflict=merge"
    )
    assert merged.status_code == 200
    assert found_secrets(merged.text) == []
    assert found_secrets(second_client.get(f"{url(stream.document)}/history").text) == []
    assert found_secrets(second_client.get("/v1/events").text) == []
