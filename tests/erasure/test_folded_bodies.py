"""Bodies rendered by folding the feed in memory say exactly what the stream read back says."""

from __future__ import annotations

from fastapi.testclient import TestClient

from infrastructure.change_feed import ChangeFeed
from infrastructure.stream_reader import StreamReader
from projections.delivery_messages import FeedMessages, StepFold, message_body
from projections.shipment_history import read_steps
from tests.api.conftest import create, patch
from tests.conftest import NEW_SHIPMENT
from tests.erasure.conftest import ok, write_every_kind_of_event
from tests.erasure.test_erasure import erase, quoted


def bodies_read_back(client: TestClient) -> dict[int, bytes]:
    """Each event's body from the stream read back at its version (the fold's reference)."""
    store = client.app.state.services.store  # type: ignore[attr-defined]
    reader = StreamReader(store)
    bodies = {}
    for entry in ChangeFeed(store).read(0, 1000).entries:
        version = int(entry.event.originator_version)
        step = read_steps(reader, entry.event.originator_id, version - 1, 1).steps[0]
        bodies[entry.position] = message_body(entry, step)
    return bodies


def test_folded_bodies_are_the_bodies_of_the_stream_read_back(
    erasure_client: TestClient,
) -> None:
    write_every_kind_of_event(erasure_client)  # snapshots every 3 versions, merges, keys
    other = ok(create(erasure_client, NEW_SHIPMENT), 201)
    ok(patch(erasure_client, other, {"customerRemarks": "a second stream in the feed"}))
    store = erasure_client.app.state.services.store  # type: ignore[attr-defined]
    fold = StepFold(StreamReader(store))
    entries = ChangeFeed(store).read(0, 1000).entries
    folded = {entry.position: message_body(entry, fold.step(entry.event)) for entry in entries}

    assert folded == bodies_read_back(erasure_client)
    assert fold.store_reads == 0  # followed from each creation: nothing read back


def test_a_fold_entered_midway_reads_the_state_it_misses_once(erasure_client: TestClient) -> None:
    write_every_kind_of_event(erasure_client)
    store = erasure_client.app.state.services.store  # type: ignore[attr-defined]
    entries = ChangeFeed(store).read(0, 1000).entries
    fold = StepFold(StreamReader(store))
    later = entries[3:]
    folded = {entry.position: message_body(entry, fold.step(entry.event)) for entry in later}

    expected = bodies_read_back(erasure_client)
    assert folded == {position: expected[position] for position in folded}
    assert fold.store_reads == 1


def test_after_an_erasure_no_body_holds_an_erased_value(erasure_client: TestClient) -> None:
    stream = write_every_kind_of_event(erasure_client)
    store = erasure_client.app.state.services.store  # type: ignore[attr-defined]
    messages = FeedMessages(store, None)
    before = b"".join(message.body for message in messages.after(0, 1000))
    assert b"Privet Drive 4" in before

    ok(erase(erasure_client, stream.document, quoted(stream.document)))

    # A subscription rewound to the start renders the whole feed again.
    after = messages.after(0, 1000)
    assert b"Privet Drive 4" not in b"".join(message.body for message in after)
    assert {m.position: m.body for m in after} == bodies_read_back(erasure_client)
