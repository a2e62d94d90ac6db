"""The edge door (``api.edge.writes``) answers as the route does: it calls the same write.

A write with a query string always goes through the app's route (the edge takes
only plain writes), which gives the reference answers here.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from eventsourcing.persistence import OperationalError
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg_pool import PoolTimeout
from starlette.types import Message

from api.edge.writes import _read_body, _replaying
from api.http import shipment_writes
from tests.api.conftest import MERGE_PATCH, create, problem_of, quoted, url, writable

VIA_ROUTE = "?via=route"
PER_WRITE = {"id", "eTag", "createdAt", "updatedAt"}


def refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the app's write path must not be used here")


def normalised(response: httpx.Response) -> tuple[int, list[str], dict[str, Any]]:
    """Status, header names in order, and the body without what differs per shipment."""
    names = [name for name, _ in response.headers.multi_items()]
    body = {k: v for k, v in response.json().items() if k not in PER_WRITE}
    return response.status_code, names, body


def history(client: TestClient, document: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get(url(document) + "/history").json()["items"]
    return items


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_an_edge_write_is_the_routes_answer(
    client: TestClient, new_shipment: dict[str, Any], method: str
) -> None:
    first, second = create(client, new_shipment).json(), create(client, new_shipment).json()
    if method == "PATCH":
        body, content_type = b'{"weightLbs": 3100}', MERGE_PATCH
    else:
        body, content_type = (
            json.dumps({**writable(first), "weightLbs": 3100}).encode(),
            ("application/json"),
        )
    headers = {"Content-Type": content_type, "X-Request-ID": "edge-1"}
    edge = client.request(method, url(first), content=body, headers={**headers, "If-Match": "*"})
    routed = client.request(
        method, url(second) + VIA_ROUTE, content=body, headers={**headers, "If-Match": "*"}
    )
    assert edge.status_code == 200
    assert normalised(edge) == normalised(routed)
    assert edge.headers["X-Request-ID"] == "edge-1"
    assert edge.headers["ETag"] == f'"{edge.json()["eTag"]}"'
    assert client.get(url(first)).content == edge.content
    assert history(client, first)[-1]["requestId"] == "edge-1"


def test_a_plain_write_does_not_reach_fastapi(
    client: TestClient, shipment: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FastAPI, "__call__", refuse)
    answer = client.patch(
        url(shipment),
        content=b'{"customerRemarks": "edge"}',
        headers={"Content-Type": MERGE_PATCH, "If-Match": quoted(shipment)},
    )
    assert answer.status_code == 200
    assert answer.json()["customerRemarks"] == "edge"
    assert answer.json()["version"] == 2


def test_an_invalid_body_is_a_422_naming_the_field_and_changes_nothing(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    answer = client.patch(
        url(shipment),
        content=b'{"weightLbs": -5}',
        headers={"Content-Type": MERGE_PATCH, "If-Match": "*"},
    )
    problem = problem_of(answer, 422)
    assert any(error["field"] == "weightLbs" for error in problem["errors"])
    assert client.get(url(shipment)).json()["version"] == 1


def test_a_stale_tag_is_a_412_naming_the_current_version(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    headers = {"Content-Type": MERGE_PATCH, "If-Match": quoted(shipment)}
    assert client.patch(url(shipment), content=b'{"weightLbs": 1}', headers=headers).is_success
    problem = problem_of(
        client.patch(url(shipment), content=b'{"weightLbs": 2}', headers=headers), 412
    )
    assert problem["currentVersion"] == 2


def test_a_body_over_the_limit_is_the_apps_413(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    limit = client.app.state.services.settings.max_body_bytes  # type: ignore[attr-defined]
    remarks = "x" * (limit + 10)
    answer = client.patch(
        url(shipment),
        content=json.dumps({"customerRemarks": remarks}).encode(),
        headers={"Content-Type": MERGE_PATCH, "If-Match": "*"},
    )
    problem_of(answer, 413)


def test_an_idempotent_write_at_the_edge_replays(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    headers = {"Content-Type": MERGE_PATCH, "If-Match": "*", "Idempotency-Key": "edge-key-1"}
    first = client.patch(url(shipment), content=b'{"weightLbs": 77}', headers=headers)
    again = client.patch(url(shipment), content=b'{"weightLbs": 77}', headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert client.get(url(shipment)).json()["version"] == 2


def test_a_store_outage_during_the_append_is_a_503_and_nothing_is_written(
    client: TestClient, shipment: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    session = client.app.state.services.committer._session  # type: ignore[attr-defined]

    def failing_write(*args: Any) -> None:
        error = OperationalError("connection to 10.0.0.9 lost")
        error.__cause__ = PoolTimeout()  # a spent time-out: answered at once, not retried
        raise error

    monkeypatch.setattr(session, "write", failing_write)
    answer = client.patch(
        url(shipment),
        content=b'{"weightLbs": 12}',
        headers={"Content-Type": MERGE_PATCH, "If-Match": "*", "X-Request-ID": "outage-1"},
    )
    problem = problem_of(answer, 503)
    assert "10.0.0.9" not in json.dumps(problem)
    assert answer.headers["X-Request-ID"] == "outage-1"
    monkeypatch.undo()
    assert client.get(url(shipment)).json()["version"] == 1


def test_a_failure_after_the_append_is_a_500_never_a_second_append(
    client: TestClient, shipment: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("/work/secret.py exploded")

    monkeypatch.setattr(shipment_writes, "shipment_response", broken)  # the answer, once appended
    answer = client.patch(
        url(shipment),
        content=b'{"weightLbs": 13}',
        headers={"Content-Type": MERGE_PATCH, "If-Match": "*"},
    )
    problem_of(answer, 500)
    monkeypatch.undo()
    assert [item["version"] for item in history(client, shipment)] == [1, 2]


def test_the_edge_writes_only_for_a_writer(
    cached_tokens_client: tuple[TestClient, dict[str, str]], new_shipment: dict[str, Any]
) -> None:
    client, tokens = cached_tokens_client
    writer = {"Authorization": f"Bearer {tokens['writer']}"}
    created = client.post("/v1/shipments", json=new_shipment, headers=writer).json()
    headers = {"Content-Type": MERGE_PATCH, "If-Match": "*"}
    accepted = client.patch(url(created), content=b'{"weightLbs": 5}', headers=headers | writer)
    assert accepted.status_code == 200
    events = client.get(url(created) + "/history", headers=writer).json()["items"]
    assert events[-1]["actor"] == "writer-1"
    reader = {"Authorization": f"Bearer {tokens['reader']}"}
    problem_of(client.patch(url(created), content=b"{}", headers=headers | reader), 403)
    problem_of(client.patch(url(created), content=b"{}", headers=headers), 401)


def test_a_body_in_several_messages_is_read_whole_and_replayed_in_order() -> None:
    messages: list[Message] = [
        {"type": "http.request", "body": b'{"weight', "more_body": True},
        {"type": "http.request", "body": b'Lbs": 1}', "more_body": False},
    ]
    source = iter(messages)

    async def receive() -> Message:
        return next(source)

    async def scenario() -> None:
        read, body = await _read_body(receive, limit=100)
        assert body == b'{"weightLbs": 1}'
        replay = _replaying(read, receive)
        assert [await replay(), await replay()] == messages

    asyncio.run(scenario())


def test_a_body_over_the_limit_or_a_disconnect_is_not_taken() -> None:
    async def read(messages: list[Message], limit: int) -> bytes | None:
        source = iter(messages)

        async def receive() -> Message:
            return next(source)

        return (await _read_body(receive, limit))[1]

    big: list[Message] = [{"type": "http.request", "body": b"x" * 11, "more_body": False}]
    gone: list[Message] = [{"type": "http.disconnect"}]
    assert asyncio.run(read(big, limit=10)) is None
    assert asyncio.run(read(gone, limit=10)) is None
