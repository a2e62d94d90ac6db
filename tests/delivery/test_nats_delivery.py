"""NATS JetStream as a destination: the same body, the message id as ``Nats-Msg-Id``."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import nats
import orjson
import pytest
from fastapi.testclient import TestClient

from tests.delivery.conftest import feed_positions, write_events
from tests.delivery.receivers import eventually
from tests.support.nats_server import NATS_URL, require_nats


async def _with_jetstream(action: Any) -> Any:
    connection = await nats.connect(NATS_URL, allow_reconnect=False, max_reconnect_attempts=0)
    try:
        return await action(connection.jetstream())
    finally:
        await connection.close()


def run(action: Any) -> Any:
    return asyncio.run(_with_jetstream(action))


@pytest.fixture
def stream_subject() -> Iterator[str]:
    """A JetStream stream made for this test, and the one subject it holds."""
    require_nats()
    name = f"test_{uuid.uuid4().hex[:12]}"
    subject = f"{name}.changes"
    run(lambda js: js.add_stream(name=name, subjects=[subject]))
    try:
        yield subject
    finally:
        run(lambda js: js.delete_stream(name))


def stream_messages(subject: str) -> list[tuple[dict[str, str], dict[str, Any]]]:
    """Every message in the subject's stream, oldest first: headers and body."""

    async def read(js: Any) -> list[tuple[dict[str, str], dict[str, Any]]]:
        name = await js.find_stream_name_by_subject(subject)
        info = await js.stream_info(name)
        found = []
        for sequence in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg(name, sequence)
            found.append((dict(message.headers or {}), orjson.loads(message.data)))
        return found

    result: list[tuple[dict[str, str], dict[str, Any]]] = run(read)
    return result


def test_every_event_is_published_in_order_with_its_message_id(
    client: TestClient, new_shipment: dict[str, Any], stream_subject: str
) -> None:
    created = client.post(
        "/v1/subscriptions", json={"url": f"{NATS_URL}/{stream_subject}", "after": 0}
    )
    assert created.status_code == 201, created.text
    written = write_events(client, new_shipment, shipments=2, patches=2)
    eventually(lambda: len(stream_messages(stream_subject)) >= written, what="all published")

    messages = stream_messages(stream_subject)
    assert [body["data"]["position"] for _, body in messages] == feed_positions(client)
    assert messages[0][1]["type"] == "shipment.created"
    ids = [headers["Nats-Msg-Id"] for headers, _ in messages]
    assert ids == [headers["webhook-id"] for headers, _ in messages]
    assert len(set(ids)) == written


def test_a_replay_is_dropped_by_jetstream_as_duplicates(
    client: TestClient, new_shipment: dict[str, Any], stream_subject: str
) -> None:
    created = client.post(
        "/v1/subscriptions", json={"url": f"{NATS_URL}/{stream_subject}", "after": 0}
    ).json()
    written = write_events(client, new_shipment, shipments=1, patches=3)
    path = f"/v1/subscriptions/{created['id']}"
    head = feed_positions(client)[-1]
    eventually(lambda: client.get(path).json()["position"] == head, what="all published")

    client.patch(path, json={"position": 0})  # publish everything again
    eventually(lambda: client.get(path).json()["position"] == head, what="all published again")

    assert len(stream_messages(stream_subject)) == written
    attempts = client.get(f"{path}/deliveries", params={"limit": 100}).json()["items"]
    assert len(attempts) == 2 * written
    assert all(attempt["error"] is None for attempt in attempts)


def test_a_subject_without_a_stream_fails_and_is_retried(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    require_nats()
    subject = f"nostream_{uuid.uuid4().hex[:12]}"
    created = client.post("/v1/subscriptions", json={"url": f"{NATS_URL}/{subject}"}).json()
    write_events(client, new_shipment, shipments=1, patches=0)
    path = f"/v1/subscriptions/{created['id']}"

    eventually(lambda: client.get(path).json()["status"] == "disabled", what="disabled")
    attempts = client.get(f"{path}/deliveries").json()["items"]
    assert [attempt["attempt"] for attempt in attempts] == [3, 2, 1]
    assert all(attempt["error"].startswith("NATS") for attempt in attempts)
