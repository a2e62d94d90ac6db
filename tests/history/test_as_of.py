"""``GET /v1/shipments/{id}?asOf=<instant>``: the shipment as it was at that moment."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from psycopg.sql import SQL, Identifier

from api.wiring import Services
from projections.version_index import VERSION_INDEX_TABLE, PostgresVersionIndex
from tests.history.conftest import WrittenStream, check_problem


def as_of(client: TestClient, stream: WrittenStream, instant: str) -> Any:
    return client.get(stream.url, params={"asOf": instant})


def recorded(stream: WrittenStream, version: int) -> datetime:
    return datetime.fromisoformat(stream.write(version).document["updatedAt"])


def rfc3339(moment: datetime) -> str:
    return moment.isoformat()


def test_the_instant_of_each_write_shows_the_version_it_made(
    client: TestClient, stream: WrittenStream
) -> None:
    for write in stream.writes:
        response = as_of(client, stream, write.document["updatedAt"])
        assert response.status_code == 200, response.text
        assert response.content == write.body
        assert response.headers["ETag"] == write.etag


def test_an_instant_between_two_writes_shows_the_earlier_one(
    client: TestClient, stream: WrittenStream
) -> None:
    for version in range(1, len(stream.writes)):
        earlier, later = recorded(stream, version), recorded(stream, version + 1)
        between = earlier + (later - earlier) / 2
        response = as_of(client, stream, rfc3339(between))
        assert response.json()["version"] == version, (earlier, between, later)


def test_an_instant_in_another_time_zone_means_the_same_moment(
    client: TestClient, stream: WrittenStream
) -> None:
    moment = recorded(stream, 3).astimezone(timezone(timedelta(hours=-7)))

    response = as_of(client, stream, rfc3339(moment))

    assert "-07:00" in rfc3339(moment)
    assert response.content == stream.write(3).body


def test_an_instant_after_the_last_write_shows_the_current_state(
    client: TestClient, stream: WrittenStream
) -> None:
    response = as_of(client, stream, "2999-01-01T00:00:00Z")

    assert response.content == stream.writes[-1].body


def test_an_instant_before_creation_is_404(client: TestClient, stream: WrittenStream) -> None:
    just_before = recorded(stream, 1) - timedelta(microseconds=1)

    check_problem(as_of(client, stream, rfc3339(just_before)), 404)
    check_problem(as_of(client, stream, "1999-12-31T23:59:59Z"), 404)


def test_as_of_an_unknown_shipment_is_404(client: TestClient) -> None:
    response = client.get(f"/v1/shipments/{uuid.uuid4()}", params={"asOf": "2020-01-01T00:00:00Z"})

    check_problem(response, 404)


@pytest.mark.parametrize(
    "instant",
    [
        "yesterday",
        "2020-05-01",
        "2020-05-01T18:56:13",  # no time zone: which instant?
        "1700000000",
        "2020-13-01T00:00:00Z",
        "2020-05-01T25:00:00Z",
        "2020-05-01T18:56:13+0200",
        "",
    ],
)
def test_a_malformed_instant_is_a_422_naming_as_of(
    client: TestClient, stream: WrittenStream, instant: str
) -> None:
    problem = check_problem(as_of(client, stream, instant), 422)

    assert problem["errors"][0]["field"] == "asOf"


@pytest.mark.parametrize(
    "spelling", ["2999-01-01T00:00:00Z", "2999-01-01t00:00:00z", "2999-01-01 00:00:00.123456789Z"]
)
def test_every_rfc_3339_spelling_is_accepted(
    client: TestClient, stream: WrittenStream, spelling: str
) -> None:
    assert as_of(client, stream, spelling).status_code == 200


def test_if_none_match_on_as_of_answers_304_for_that_versions_tag(
    client: TestClient, stream: WrittenStream
) -> None:
    write = stream.write(2)

    response = client.get(
        stream.url,
        params={"asOf": write.document["updatedAt"]},
        headers={"If-None-Match": write.etag},
    )

    assert response.status_code == 304


def test_versions_missing_from_the_index_are_found_from_the_stream(
    client: TestClient, stream: WrittenStream, services: Services
) -> None:
    """Events recorded before the index existed (or by a process without it) still count."""
    forget_indexed_versions(services, stream.id, versions=range(2, 6))

    for write in stream.writes:
        response = as_of(client, stream, write.document["updatedAt"])
        assert response.content == write.body, write.version


def test_the_current_state_without_as_of_still_comes_from_the_view(
    client: TestClient, stream: WrittenStream
) -> None:
    response = client.get(stream.url)

    assert response.content == stream.writes[-1].body
    assert response.headers["Cache-Control"] == "no-cache"


def forget_indexed_versions(services: Services, shipment_id: str, versions: range) -> None:
    """Delete some rows of the as-of index, as if those events predated it."""
    index = services.version_index
    parameters = (versions.start, versions.stop - 1)
    if isinstance(index, PostgresVersionIndex):
        statement = SQL(
            "DELETE FROM {}.{} WHERE shipment_id = %s AND version BETWEEN %s AND %s"
        ).format(Identifier(index.datastore.schema), Identifier(VERSION_INDEX_TABLE))
        with index.datastore.transaction(commit=True) as curs:
            curs.execute(statement, (uuid.UUID(shipment_id), *parameters))
        return
    with index.datastore.transaction(commit=True) as c:  # type: ignore[attr-defined]
        c.execute(
            f"DELETE FROM {VERSION_INDEX_TABLE} WHERE shipment_id = ? AND version BETWEEN ? AND ?",
            (uuid.UUID(shipment_id).hex, *parameters),
        )


def test_instants_at_the_ends_of_the_calendar_are_answered_not_errors(
    client: TestClient, stream: WrittenStream
) -> None:
    check_problem(as_of(client, stream, "0001-01-01T00:00:00+01:00"), 404)
    last = as_of(client, stream, "9999-12-31T23:59:59-01:00")

    assert last.content == stream.writes[-1].body
