"""The doors in front of FastAPI's routing (``api.edge``) are inside the one request pipeline.

The plain GET, HEAD, PUT and PATCH of one shipment skip FastAPI's router and
dependency solving, but nothing else: the pipeline's request ids, caller
checks, body limit, problem rendering, access log and metrics, and any
middleware an integrator adds, apply to them as to every request.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import OperationalError
from fastapi.testclient import TestClient
from psycopg_pool import PoolTimeout
from starlette.datastructures import State
from starlette.routing import Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http import write_answers
from api.http.app import create_app
from api.plumbing.pipeline import RequestPipeline
from infrastructure.errors import StoreUnavailable
from infrastructure.settings import Settings
from projections.document_reads import ReadDeferred
from tests.api.conftest import MERGE_PATCH, create, patch, problem_of, quoted, url


def refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("this path must not be used here")


def history(client: TestClient, document: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get(url(document) + "/history").json()["items"]
    return items


class StampEveryAnswer:
    """A middleware an integrator might add: it marks every answer it sees."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (b"x-stamped", b"yes")]
            await send(message)

        await self.app(scope, receive, stamped)


def test_a_middleware_added_to_the_app_sees_every_request(
    settings: Settings, new_shipment: dict[str, Any]
) -> None:
    app = create_app(settings)
    app.add_middleware(StampEveryAnswer)
    with TestClient(app) as client:
        created = create(client, new_shipment)
        document = created.json()
        answers = [
            created,
            client.get(url(document)),
            client.head(url(document)),
            client.patch(
                url(document),
                content=b'{"weightLbs": 10}',
                headers={"Content-Type": MERGE_PATCH, "If-Match": "*"},
            ),
            client.put(url(document), json={}, headers={"If-Match": '"stale"'}),
            client.get(url(document) + "/history"),
            client.get("/healthz"),
            client.get("/no/such/path"),
        ]
    assert [answer.headers.get("x-stamped") for answer in answers] == ["yes"] * len(answers)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_plain_read_skips_the_router_and_is_answered_with_its_headers(
    client: TestClient, shipment: dict[str, Any], method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = patch(client, shipment, {"weightLbs": 1234}).json()
    monkeypatch.setattr(Router, "__call__", refuse)
    read = client.request(method, url(changed), headers={"X-Request-ID": "door-1"})
    assert read.status_code == 200
    assert read.headers["etag"] == quoted(changed)
    assert read.headers["cache-control"] == "no-cache"
    assert read.headers["x-request-id"] == "door-1"
    if method == "GET":
        assert read.json() == changed


@pytest.mark.parametrize(
    ("condition", "status"),
    [("current", 304), ("W/current", 304), ("*", 304), ("old", 200), ("garbage", 200)],
)
def test_if_none_match_is_weighed_as_rfc_9110_says(
    client: TestClient, shipment: dict[str, Any], condition: str, status: int
) -> None:
    changed = patch(client, shipment, {"weightLbs": 99}).json()
    header = {
        "current": quoted(changed),
        "W/current": "W/" + quoted(changed),
        "*": "*",
        "old": quoted(shipment),
        "garbage": '"not-a-tag"',
    }[condition]
    read = client.get(url(changed), headers={"If-None-Match": header})
    assert read.status_code == status
    assert read.headers["etag"] == quoted(changed)
    as_of_route = client.get(url(changed) + "?asOf=2999-01-01T00:00:00Z")
    assert as_of_route.headers["etag"] == quoted(changed)


def test_a_plain_read_is_made_in_the_event_loop(
    client: TestClient, shipment: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client.app.state.services.view, "get", refuse)  # type: ignore[attr-defined]
    response = client.get(url(shipment))
    assert response.status_code == 200
    assert response.json() == shipment


def test_a_read_the_loop_cannot_make_at_once_is_made_in_a_worker_thread(
    client: TestClient, shipment: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def busy(shipment_id: UUID) -> None:
        raise ReadDeferred("database is locked")

    monkeypatch.setattr(client.app.state.document_reads, "get", busy)  # type: ignore[attr-defined]
    response = client.get(url(shipment))
    assert response.status_code == 200
    assert response.json() == shipment


def test_a_store_outage_on_read_is_the_503_problem(
    client: TestClient, shipment: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(shipment_id: UUID) -> None:
        raise StoreUnavailable("connection refused at 10.0.0.1")

    monkeypatch.setattr(client.app.state.document_reads, "get", down)  # type: ignore[attr-defined]
    problem = problem_of(client.get(url(shipment), headers={"X-Request-ID": "down-1"}), 503)
    assert problem["instance"] == url(shipment)
    assert "10.0.0.1" not in str(problem)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/shipments/00000000-0000-4000-8000-000000000000",  # no such shipment
        "/v1/shipments/not-a-uuid-but-exactly-36-characters",  # not an id
        "/v1/shipments/00000000000040008000000000000000",  # an id, not canonical
    ],
)
def test_what_names_no_shipment_is_a_404_problem(client: TestClient, path: str) -> None:
    problem_of(client.get(path), 404)


def test_door_and_route_are_counted_under_the_same_route_template(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    client.get(url(shipment))  # the door
    client.get(url(shipment).upper().replace("/V1/SHIPMENTS", "/v1/shipments"))  # the route
    metrics = client.get("/metrics").text
    line = next(
        line
        for line in metrics.splitlines()
        if line.startswith("shipments_http_requests_total{")
        and 'route="/v1/shipments/{shipment_id}"' in line
        and 'method="GET"' in line
        and 'status="200"' in line
    )
    assert float(line.rsplit(" ", 1)[1]) == 2.0


def test_a_token_is_checked_at_the_door(
    cached_tokens_client: tuple[TestClient, dict[str, str]], new_shipment: dict[str, Any]
) -> None:
    client, tokens = cached_tokens_client
    writer = {"Authorization": f"Bearer {tokens['writer']}"}
    created = client.post("/v1/shipments", json=new_shipment, headers=writer).json()
    reader = client.get(url(created), headers={"Authorization": f"Bearer {tokens['reader']}"})
    assert reader.status_code == 200
    assert reader.json() == created
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic eDp5"}):
        refused = client.get(url(created), headers=headers)
        problem_of(refused, 401)
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_plain_write_skips_the_router(
    client: TestClient, shipment: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Router, "__call__", refuse)
    answer = client.patch(
        url(shipment),
        content=b'{"customerRemarks": "door"}',
        headers={"Content-Type": MERGE_PATCH, "If-Match": quoted(shipment), "X-Request-ID": "w-1"},
    )
    assert answer.status_code == 200
    assert answer.json()["customerRemarks"] == "door"
    assert answer.json()["version"] == 2
    assert answer.headers["X-Request-ID"] == "w-1"
    assert answer.headers["ETag"] == f'"{answer.json()["eTag"]}"'
    monkeypatch.undo()
    assert history(client, shipment)[-1]["requestId"] == "w-1"


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_a_body_over_the_limit_is_a_413_and_changes_nothing(
    client: TestClient, shipment: dict[str, Any], method: str
) -> None:
    limit = client.app.state.services.settings.max_body_bytes  # type: ignore[attr-defined]
    remarks = "x" * (limit + 10)
    answer = client.request(
        method,
        url(shipment),
        content=json.dumps({"customerRemarks": remarks}).encode(),
        headers={"Content-Type": MERGE_PATCH, "If-Match": "*"},
    )
    problem_of(answer, 413)
    assert client.get(url(shipment)).json()["version"] == 1


def test_an_idempotent_write_at_the_door_replays(
    client: TestClient, shipment: dict[str, Any]
) -> None:
    headers = {"Content-Type": MERGE_PATCH, "If-Match": "*", "Idempotency-Key": "door-key-1"}
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

    monkeypatch.setattr(write_answers, "shipment_response", broken)  # the answer, once appended
    answer = client.patch(
        url(shipment),
        content=b'{"weightLbs": 13}',
        headers={"Content-Type": MERGE_PATCH, "If-Match": "*"},
    )
    problem = problem_of(answer, 500)
    assert "secret" not in json.dumps(problem)
    monkeypatch.undo()
    assert [item["version"] for item in history(client, shipment)] == [1, 2]


def test_the_door_writes_only_for_a_writer(
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


def _read_through_pipeline(messages: list[Message], limit: int) -> tuple[int, bytes]:
    """Status and body read by an app behind a pipeline that allows ``limit`` bytes."""
    source = iter(messages)
    read: list[bytes] = []
    sent: list[Message] = []

    async def receive() -> Message:
        return next(source)

    async def send(message: Message) -> None:
        sent.append(message)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        more = True
        while more:
            message = await receive()
            read.append(message.get("body", b""))
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    pipeline = RequestPipeline(app, app_state=State(), observers=[], max_body_bytes=limit)
    scope = {"type": "http", "method": "POST", "path": "/", "headers": [], "query_string": b""}
    asyncio.run(pipeline(scope, receive, send))
    return int(sent[0]["status"]), b"".join(read)


def test_a_body_in_several_messages_is_passed_on_whole() -> None:
    messages: list[Message] = [
        {"type": "http.request", "body": b'{"weight', "more_body": True},
        {"type": "http.request", "body": b'Lbs": 1}', "more_body": False},
    ]
    assert _read_through_pipeline(messages, limit=100) == (204, b'{"weightLbs": 1}')


def test_a_body_found_over_the_limit_while_streaming_is_a_413() -> None:
    messages: list[Message] = [
        {"type": "http.request", "body": b"x" * 6, "more_body": True},
        {"type": "http.request", "body": b"x" * 6, "more_body": False},
    ]
    assert _read_through_pipeline(messages, limit=10)[0] == 413
