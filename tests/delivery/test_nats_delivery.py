"""NATS JetStream as a destination: the same body, the message id as ``Nats-Msg-Id``."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import nats
import orjson
import pytest
from fastapi.testclient import TestClient
from nats.js.errors import APIError

from infrastructure.delivery.jetstream_acks import Acknowledgements
from infrastructure.delivery.nats_sender import (
    EXPECTED_LAST_ID,
    WINDOW,
    WRONG_LAST_ID,
    NatsSender,
)
from infrastructure.delivery.sending import SendResult
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


@contextmanager
def made_stream(**config: Any) -> Iterator[str]:
    """A JetStream stream made for this test, and the one subject it holds."""
    require_nats()
    name = f"test_{uuid.uuid4().hex[:12]}"
    subject = f"{name}.changes"  # the stream holds every subject under its name
    run(lambda js: js.add_stream(name=name, subjects=[f"{name}.>"], **config))
    try:
        yield subject
    finally:
        run(lambda js: js.delete_stream(name))


@pytest.fixture
def stream_subject() -> Iterator[str]:
    with made_stream() as subject:
        yield subject


def stream_messages(subject: str) -> list[tuple[dict[str, str], dict[str, Any]]]:
    """Every message published to ``subject``, oldest first: headers and body."""
    return [(headers, body) for on, headers, body in whole_stream(subject) if on == subject]


def whole_stream(subject: str) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
    """Every message in the stream that holds ``subject``, oldest first."""

    async def read(js: Any) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
        name = await js.find_stream_name_by_subject(subject)
        info = await js.stream_info(name)
        found = []
        for sequence in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg(name, sequence)
            found.append((message.subject, dict(message.headers or {}), orjson.loads(message.data)))
        return found

    result: list[tuple[str, dict[str, str], dict[str, Any]]] = run(read)
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


def test_two_subscriptions_into_one_stream_each_get_every_event_in_order(
    client: TestClient, new_shipment: dict[str, Any], stream_subject: str
) -> None:
    """Their publishes interleave in the stream, so each refuses the other's guard often."""
    other_subject = stream_subject.replace(".changes", ".copies")
    for subject in (stream_subject, other_subject):
        url = f"{NATS_URL}/{subject}"
        created = client.post("/v1/subscriptions", json={"url": url, "after": 0})
        assert created.status_code == 201, created.text
    written = write_events(client, new_shipment, shipments=4, patches=4)
    eventually(lambda: len(whole_stream(stream_subject)) >= 2 * written, what="all published")

    positions = feed_positions(client)
    for subject in (stream_subject, other_subject):
        published = [body["data"]["position"] for _, body in stream_messages(subject)]
        assert published == positions, subject


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


def message(index: int, size: int = 10) -> tuple[bytes, dict[str, str]]:
    """A body and the headers a delivery sends with it (its id ``m<index>``)."""
    return orjson.dumps({"index": index, "pad": "x" * size}), {"webhook-id": f"m{index}"}


def stored_indexes(subject: str) -> list[int]:
    return [body["index"] for _, _, body in whole_stream(subject)]


def test_messages_published_ahead_are_stored_in_their_order(stream_subject: str) -> None:
    """Twenty out before the first is acknowledged, each guarded by the one before."""

    async def publish() -> list[SendResult]:
        sender = NatsSender(5.0, allow_private=True)
        try:
            completions, follows = [], None
            for index in range(20):
                body, headers = message(index)
                url = f"{NATS_URL}/{stream_subject}"
                completions.append(await sender.send_ahead(url, body, headers, follows=follows))
                follows = headers["webhook-id"]
            return [await completion() for completion in completions]
        finally:
            await sender.close()

    results = asyncio.run(publish())

    assert results == [SendResult(None, None)] * 20
    assert stored_indexes(stream_subject) == list(range(20))
    headers = stream_messages(stream_subject)[5][0]
    assert headers["Nats-Expected-Last-Msg-Id"] == "m4"


def test_a_message_whose_predecessor_was_refused_is_not_stored_before_it() -> None:
    """The stream refuses the too-large second message, and so the third, sent behind it."""

    async def publish(subject: str) -> list[BaseException | None]:
        connection = await nats.connect(NATS_URL, allow_reconnect=False)
        try:
            acknowledgements = Acknowledgements(connection)
            answers = []
            for index, size, follows in ((1, 10, None), (2, 4096, "m1"), (3, 10, "m2")):
                body, headers = message(index, size)
                guard = {} if follows is None else {EXPECTED_LAST_ID: follows}
                answers.append(
                    await acknowledgements.publish(
                        subject, body, {"Nats-Msg-Id": f"m{index}", **headers, **guard}
                    )
                )
            await asyncio.wait(answers)
            return [answer.exception() for answer in answers]
        finally:
            await connection.close()

    with made_stream(max_msg_size=1024) as subject:
        stored, too_large, behind = asyncio.run(publish(subject))
        assert stored is None
        assert isinstance(too_large, APIError) and "exceeds maximum" in str(too_large)
        assert isinstance(behind, APIError) and behind.err_code == WRONG_LAST_ID
        assert stored_indexes(subject) == [1]


def test_a_refused_message_is_a_failed_attempt_with_the_streams_reason() -> None:
    """The stream's refusal itself, not a time-out: nats-py's ``publish_async`` never answers it."""

    async def publish(url: str) -> SendResult:
        sender = NatsSender(30.0, allow_private=True)
        try:
            return await (await sender.send_ahead(url, *message(1, 4096), follows=None))()
        finally:
            await sender.close()

    with made_stream(max_msg_size=1024) as subject:
        refused = asyncio.run(publish(f"{NATS_URL}/{subject}"))
    assert refused.error is not None and "exceeds maximum" in refused.error, refused


def test_a_message_refused_for_another_publishers_message_is_published_again(
    stream_subject: str,
) -> None:
    """Another publisher wrote between two of ours: the second goes again, unguarded.

    And that subscription is then published one at a time, the stream being shared.
    """
    url = f"{NATS_URL}/{stream_subject}"

    async def publish() -> tuple[SendResult, int, int, int]:
        sender = NatsSender(5.0, allow_private=True)
        try:
            window_before = sender.window(url)
            first = await sender.send_ahead(url, *message(1), follows=None)
            assert await first() == SendResult(None, None)
            await _with_jetstream(lambda js: js.publish(stream_subject, orjson.dumps({"index": 0})))
            second = await sender.send_ahead(url, *message(2), follows="m1")
            result = await second()
            return result, window_before, sender.window(url), sender.window(f"{url}.other")
        finally:
            await sender.close()

    result, window_before, window_after, elsewhere = asyncio.run(publish())

    assert result == SendResult(None, None)
    assert stored_indexes(stream_subject) == [1, 0, 2]
    assert (window_before, window_after, elsewhere) == (WINDOW, 1, WINDOW)
