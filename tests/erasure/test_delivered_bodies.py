"""Delivery bodies rendered before an erasure are never sent after it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from infrastructure.log_follower import LogFollower
from projections.delivery_messages import FeedMessages
from tests.delivery.receivers import eventually
from tests.erasure.conftest import found_secrets, ok, write_every_kind_of_event
from tests.erasure.test_erasure import erase, quoted


def test_bodies_kept_from_before_an_erasure_are_rendered_anew(
    erasure_client: TestClient,
) -> None:
    services = erasure_client.app.state.services  # type: ignore[attr-defined]
    follower: LogFollower = erasure_client.app.state.log_follower  # type: ignore[attr-defined]
    follower.want()
    eventually(lambda: follower.following, what="the follower started")
    start = follower.last_position
    stream = write_every_kind_of_event(erasure_client)
    messages = FeedMessages(services.store, follower)
    eventually(lambda: follower.last_position > start, what="the follower saw the writes")
    before = messages.after(start, 100)  # rendered and kept, as a subscription ahead did
    assert found_secrets(b"".join(message.body for message in before).decode())

    erasures = follower.erasures_seen
    ok(erase(erasure_client, stream.document, quoted(stream.document)))
    eventually(lambda: follower.erasures_seen > erasures, what="the follower saw the erasure")

    # A subscription still behind the erasure asks for the same positions.
    after = messages.after(start, 100)
    bodies = b"".join(message.body for message in after).decode()
    assert found_secrets(bodies) == []
    assert [m.position for m in after][: len(before)] == [m.position for m in before]


def test_pages_kept_for_subscriptions_behind_the_follower_are_read_anew_after_an_erasure(
    erasure_client: TestClient,
) -> None:
    services = erasure_client.app.state.services  # type: ignore[attr-defined]
    stream = write_every_kind_of_event(erasure_client)
    follower = LogFollower(services.store).start()  # its memory starts after these events
    try:
        follower.want()
        eventually(lambda: follower.following, what="the follower started")
        messages = FeedMessages(services.store, follower)
        before = messages.after(0, 100)  # read from the store, as a subscription catching up
        assert found_secrets(b"".join(message.body for message in before).decode())
        assert messages.rendered_after(0, 100) == before  # kept: the next one walks it

        erasures = follower.erasures_seen
        ok(erase(erasure_client, stream.document, quoted(stream.document)))
        eventually(lambda: follower.erasures_seen > erasures, what="the follower saw the erasure")

        assert messages.rendered_after(0, 100) is None  # what was kept is forgotten
        after = messages.after(0, 100)
        assert found_secrets(b"".join(message.body for message in after).decode()) == []
        assert [m.position for m in after][: len(before)] == [m.position for m in before]
    finally:
        follower.stop()
