"""API.md "Conditional writes": If-Match (428/412), If-None-Match (304/412), no-op writes,
and a version that grows by exactly one per accepted write."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import (
    current,
    patch,
    problem_of,
    put,
    quoted,
    stored_events,
    url,
    writable,
)

Write = Any  # put or patch, called as write(client, document, body, if_match)


def heavier(document: dict[str, Any]) -> dict[str, Any]:
    """A PUT body that changes the weight (fits PATCH too)."""
    return {**writable(document), "weightLbs": (document["weightLbs"] or 0) + 1}


WRITES = [pytest.param(put, id="PUT"), pytest.param(patch, id="PATCH")]


@pytest.mark.parametrize("write", WRITES)
def test_a_write_without_if_match_is_a_428_and_changes_nothing(
    client: TestClient, shipment: dict[str, Any], write: Write
) -> None:
    problem_of(write(client, shipment, heavier(shipment), if_match=None), 428)
    assert current(client, shipment) == shipment


@pytest.mark.parametrize("write", WRITES)
def test_a_write_with_the_current_tag_answers_200_with_the_new_etag_and_body(
    client: TestClient, shipment: dict[str, Any], write: Write
) -> None:
    response = write(client, shipment, heavier(shipment))
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["version"] == 2
    assert response.headers["ETag"] == quoted(document) != quoted(shipment)
    assert current(client, shipment) == document


@pytest.mark.parametrize("write", WRITES)
@pytest.mark.parametrize(
    "form",
    [
        pytest.param(lambda tag: tag, id="bare"),
        pytest.param(lambda tag: f'"{tag}"', id="quoted"),
        pytest.param(lambda tag: "*", id="star"),
        pytest.param(lambda tag: f'"bm90LWEtdGFn", "{tag}"', id="list-second"),
        pytest.param(lambda tag: f'"{tag}", W/"{tag}"', id="list-first"),
    ],
)
def test_if_match_accepts_bare_quoted_star_and_list_forms(
    client: TestClient, shipment: dict[str, Any], write: Write, form: Any
) -> None:
    response = write(client, shipment, heavier(shipment), if_match=form(shipment["eTag"]))
    assert response.status_code == 200, response.text


def assert_precondition_failed(response: Any, document: dict[str, Any]) -> None:
    """A 412 that tells the client where the shipment is now."""
    problem = problem_of(response, 412)
    assert problem["currentVersion"] == document["version"]
    assert problem["currentETag"] == document["eTag"]
    assert response.headers["ETag"] == quoted(document)


@pytest.mark.parametrize("write", WRITES)
def test_a_stale_tag_is_a_412_carrying_the_current_version_and_etag(
    client: TestClient, shipment: dict[str, Any], write: Write
) -> None:
    newer = write(client, shipment, heavier(shipment)).json()
    response = write(client, shipment, heavier(newer), if_match=quoted(shipment))
    assert_precondition_failed(response, newer)
    assert current(client, shipment) == newer


@pytest.mark.parametrize("write", WRITES)
def test_a_weak_tag_never_matches_if_match(
    client: TestClient, shipment: dict[str, Any], write: Write
) -> None:
    for weak in (f'W/"{shipment["eTag"]}"', f"W/{shipment['eTag']}"):
        assert_precondition_failed(
            write(client, shipment, heavier(shipment), if_match=weak), shipment
        )


@pytest.mark.parametrize("write", WRITES)
def test_the_tag_of_another_shipment_never_matches(
    client: TestClient, shipment: dict[str, Any], other_shipment: dict[str, Any], write: Write
) -> None:
    response = write(client, shipment, heavier(shipment), if_match=quoted(other_shipment))
    assert_precondition_failed(response, shipment)


@pytest.mark.parametrize("write", WRITES)
@pytest.mark.parametrize("garbage", ['"garbage"', "garbage", '""', "W/", '"x", "y"', "  "])
def test_a_tag_we_never_issued_is_a_412(
    client: TestClient, shipment: dict[str, Any], write: Write, garbage: str
) -> None:
    assert_precondition_failed(
        write(client, shipment, heavier(shipment), if_match=garbage), shipment
    )


@pytest.mark.parametrize("write", WRITES)
def test_a_stale_tag_is_a_412_even_when_the_body_equals_the_current_state(
    client: TestClient, shipment: dict[str, Any], write: Write
) -> None:
    wanted = heavier(shipment)
    newer = write(client, shipment, wanted).json()
    response = write(client, shipment, wanted, if_match=quoted(shipment))
    assert_precondition_failed(response, newer)


def test_if_none_match_star_on_put_of_an_existing_shipment_is_a_412(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    response = put(client, shipment, heavier(shipment), **{"If-None-Match": "*"})
    assert_precondition_failed(response, shipment)
    assert current(client, shipment) == shipment


@pytest.mark.parametrize("write", WRITES)
def test_a_write_that_changes_nothing_answers_200_with_the_same_etag_and_appends_nothing(
    client: TestClient, shipment: dict[str, Any], write: Write
) -> None:
    same = writable(shipment) if write is put else {"weightLbs": shipment["weightLbs"]}
    response = write(client, shipment, same)
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == quoted(shipment)
    assert response.json() == shipment
    assert len(stored_events(client, shipment["id"])) == 1
    following = write(client, shipment, heavier(shipment))
    assert following.json()["version"] == 2


def test_status_left_out_or_equal_is_a_no_op_too(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    for body in (writable(shipment), {**writable(shipment), "status": "DRAFT"}):
        response = put(client, shipment, body)
        assert (response.status_code, response.json()) == (200, shipment)
    assert patch(client, shipment, {"status": "DRAFT"}).json() == shipment
    assert patch(client, shipment, {}).json() == shipment
    assert len(stored_events(client, shipment["id"])) == 1


def test_the_version_grows_by_exactly_one_per_accepted_write(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    document = shipment
    for step in range(2, 9):
        write = put if step % 2 else patch
        response = write(client, document, heavier(document))
        assert response.status_code == 200, response.text
        document = response.json()
        assert document["version"] == step
        assert len(stored_events(client, shipment["id"])) == step
        assert document["updatedAt"] >= shipment["updatedAt"]
        assert document["createdAt"] == shipment["createdAt"]


def test_refused_writes_append_nothing(client: TestClient, shipment: dict[str, Any]) -> None:
    put(client, shipment, heavier(shipment), if_match=None)
    put(client, shipment, heavier(shipment), if_match='W/"x"')
    put(client, shipment, {**heavier(shipment), "weightLbs": 0})
    patch(client, shipment, {"status": "DELIVERED"})
    assert len(stored_events(client, shipment["id"])) == 1
    assert current(client, shipment) == shipment


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(lambda tag: f'"{tag}"', id="quoted"),
        pytest.param(lambda tag: tag, id="bare"),
        pytest.param(lambda tag: f'W/"{tag}"', id="weak"),
        pytest.param(lambda tag: f'"bm90LWEtdGFn", "{tag}"', id="list"),
        pytest.param(lambda tag: "*", id="star"),
    ],
)
def test_get_and_head_with_a_matching_if_none_match_answer_304_with_etag_and_no_body(
    client: TestClient, shipment: dict[str, Any], form: Any
) -> None:
    for method in ("GET", "HEAD"):
        response = client.request(
            method, url(shipment), headers={"If-None-Match": form(shipment["eTag"])}
        )
        assert response.status_code == 304, (method, response.text)
        assert response.headers["ETag"] == quoted(shipment)
        assert response.content == b""


def test_get_with_a_stale_or_foreign_if_none_match_answers_the_current_body(
    client: TestClient, shipment: dict[str, Any], other_shipment: dict[str, Any]
) -> None:
    newer = put(client, shipment, heavier(shipment)).json()
    for tag in (quoted(shipment), quoted(other_shipment), '"garbage"'):
        response = client.get(url(shipment), headers={"If-None-Match": tag})
        assert response.status_code == 200
        assert response.json() == newer
        assert response.headers["ETag"] == quoted(newer)
