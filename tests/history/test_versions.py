"""``GET /v1/shipments/{id}/versions/{n}``: the shipment exactly as a past write left it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.history.conftest import (
    PATCHES,
    WrittenStream,
    check_problem,
    weight_patches,
    write_stream,
)


def test_every_version_is_byte_for_byte_what_the_write_that_made_it_returned(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    # Thirteen versions cross two snapshots (taken every 5 versions in tests).
    stream = write_stream(client, new_shipment, PATCHES + weight_patches(6))

    for write in stream.writes:
        response = client.get(f"{stream.url}/versions/{write.version}")
        assert response.status_code == 200, response.text
        assert response.content == write.body, write.version
        assert response.headers["ETag"] == write.etag
        assert response.headers["content-type"] == "application/json"


def test_an_old_version_carries_its_own_tag_not_the_current_one(
    client: TestClient, stream: WrittenStream
) -> None:
    old = client.get(f"{stream.url}/versions/2").json()

    assert old["version"] == 2
    assert old["eTag"] == stream.write(2).document["eTag"]
    assert old["eTag"] != stream.writes[-1].document["eTag"]


@pytest.mark.parametrize("version", [0, -1, 8, 1000])
def test_a_version_that_does_not_exist_is_404(
    client: TestClient, stream: WrittenStream, version: int
) -> None:
    assert len(stream.writes) == 7
    check_problem(client.get(f"{stream.url}/versions/{version}"), 404)


def test_a_version_of_an_unknown_shipment_is_404(client: TestClient) -> None:
    check_problem(client.get(f"/v1/shipments/{uuid.uuid4()}/versions/1"), 404)
    check_problem(client.get("/v1/shipments/not-a-uuid/versions/1"), 404)


def test_a_version_that_is_not_a_number_is_422(client: TestClient, stream: WrittenStream) -> None:
    check_problem(client.get(f"{stream.url}/versions/latest"), 422)


def test_if_none_match_with_the_versions_tag_answers_304(
    client: TestClient, stream: WrittenStream
) -> None:
    write = stream.write(3)

    unchanged = client.get(f"{stream.url}/versions/3", headers={"If-None-Match": write.etag})
    other = client.get(f"{stream.url}/versions/4", headers={"If-None-Match": write.etag})

    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["ETag"] == write.etag
    assert other.status_code == 200
