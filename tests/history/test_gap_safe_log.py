"""Readers of the log never pass a position that commits later (PostgreSQL appends overlap).

Appends take no table lock, so a transaction may hold a lower position while a
later one commits. Here such a transaction is held open by hand (an append of
a new shipment's first event, without its view row, as a tool outside the
write path would make): the change feed, its SSE stream and the projection
runner must stop at its position and deliver it, in order, once it commits;
a rolled-back one's position must be passed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import orjson
import pytest
from fastapi.testclient import TestClient

from api.wiring import Services
from domain.details import ShipmentDetails
from domain.shipment import Shipment
from domain.values import ShipmentType
from infrastructure.delivery.messages import Message
from infrastructure.log_follower import LogFollower
from infrastructure.recorders import PostgresShipmentRecorder
from infrastructure.shipment_service import WriteContext
from projections.delivery_messages import FeedMessages
from tests.history.test_event_stream import server_sent_events

WAIT_SECONDS = 60


@pytest.fixture(params=[pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Only PostgreSQL has appends in flight side by side (SQLite has one writer)."""
    kind: str = request.param
    return kind


@pytest.fixture
def recorder(services: Services) -> PostgresShipmentRecorder:
    recorder = services.store.recorder
    assert isinstance(recorder, PostgresShipmentRecorder)
    # A reader gives up on a position in flight quickly here, so each look is short.
    recorder.gap_wait_seconds = 0.1
    return recorder


class HeldAppend:
    """An append transaction left open: its position is drawn, its commit is ours to call."""

    def __init__(self, shipment_id: UUID, finish: Callable[[bool], None]) -> None:
        self.shipment_id = shipment_id
        self._finish = finish

    def commit(self) -> None:
        self._finish(True)

    def roll_back(self) -> None:
        self._finish(False)


@contextmanager
def held_append(services: Services, recorder: PostgresShipmentRecorder) -> Iterator[HeldAppend]:
    """A new shipment's Created event inserted in a transaction held open on another thread."""
    shipment = Shipment(ShipmentDetails(shipment_type=ShipmentType.PPM), "held", None)
    stored = [services.store.mapper.to_stored_event(e) for e in shipment.collect_events()]
    inserted, decided = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def run() -> None:
        with recorder.datastore.get_connection() as connection:
            try:
                with connection.transaction(), connection.cursor() as cursor:
                    recorder._insert_stored_events(cursor, stored)
                    inserted.set()
                    decided.wait(WAIT_SECONDS)
                    if not outcome.get("commit"):
                        raise _RollBack
            except _RollBack:
                pass

    def finish(commit: bool) -> None:
        outcome["commit"] = commit
        decided.set()
        thread.join(WAIT_SECONDS)

    thread = threading.Thread(target=run)
    thread.start()
    assert inserted.wait(WAIT_SECONDS)
    try:
        yield HeldAppend(shipment.id, finish)
    finally:
        if not decided.is_set():
            finish(False)


class _RollBack(Exception):
    pass


def create(services: Services, name: str) -> Shipment:
    return services.shipments.create(
        ShipmentDetails(shipment_type=ShipmentType.HHG), WriteContext(name, None)
    )


def positions(recorder: PostgresShipmentRecorder, after: int) -> list[int]:
    return [n.id for n in recorder.select_notifications(after, 100, inclusive_of_start=False)]


def feed_positions(client: TestClient, after: int) -> list[int]:
    response = client.get("/v1/events", params={"after": after})
    assert response.status_code == 200, response.text
    return [item["position"] for item in response.json()["items"]]


def head(recorder: PostgresShipmentRecorder) -> int:
    return recorder.max_notification_id() or 0


def eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.02)


def test_a_reader_stops_at_a_position_in_flight_and_delivers_both_in_order_once_it_commits(
    client: TestClient, services: Services, recorder: PostgresShipmentRecorder
) -> None:
    before = create(services, "first")
    start = head(recorder)
    with held_append(services, recorder) as held:
        late = create(services, "late")
        late_position = head(recorder)

        assert positions(recorder, start) == []
        assert feed_positions(client, start) == []

        held.commit()

    delivered = positions(recorder, start)
    assert len(delivered) == 2
    assert delivered[-1] == late_position
    assert feed_positions(client, start) == delivered
    read_back = recorder.select_notifications(start, 2, inclusive_of_start=False)
    assert [n.originator_id for n in read_back] == [held.shipment_id, late.id]
    assert before.version == 1


def test_the_settled_run_before_a_position_in_flight_is_delivered_at_once(
    client: TestClient, services: Services, recorder: PostgresShipmentRecorder
) -> None:
    start = head(recorder)
    create(services, "before")
    settled = head(recorder)
    with held_append(services, recorder) as held:
        create(services, "after")

        assert positions(recorder, start) == [settled]
        assert feed_positions(client, start) == [settled]
        held.commit()

    assert len(positions(recorder, start)) == 3


def test_a_rolled_back_position_is_passed(
    client: TestClient, services: Services, recorder: PostgresShipmentRecorder
) -> None:
    start = head(recorder)
    with held_append(services, recorder) as held:
        create(services, "late")
        late_position = head(recorder)
        assert positions(recorder, start) == []
        held.roll_back()

    assert positions(recorder, start) == [late_position]
    assert feed_positions(client, start) == [late_position]


def test_a_position_that_commits_while_a_read_is_judged_is_not_taken_as_rolled_back(
    services: Services, recorder: PostgresShipmentRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another thread learns the hole is final only after this read left it out.

    The read sees a hole (an append in flight); before it decides, the append
    commits and another reader of the process waits it out and records every
    position up to the head as final. Holes below a final position are rolled
    back only if that was known before the rows were read: this read's rows
    predate the commit, so it must look again, not pass the position for good.
    """
    start = head(recorder)
    read_page = recorder._page
    with held_append(services, recorder) as held:
        create(services, "late")
        late_position = head(recorder)

        def page_then_another_thread_settles(*args: Any) -> Any:
            rows = read_page(*args)
            monkeypatch.undo()  # once: the read after the wait is the real one
            held.commit()
            assert recorder.settled_head() == late_position  # what another reader learns
            return rows

        monkeypatch.setattr(recorder, "_page", page_then_another_thread_settles)
        delivered = positions(recorder, start)

    assert len(delivered) == 2, "a position that committed was passed for good"
    assert delivered[-1] == late_position


def test_the_sse_stream_waits_at_a_position_in_flight_then_sends_both_in_order(
    client: TestClient,
    services: Services,
    recorder: PostgresShipmentRecorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log_follower: LogFollower = client.app.state.log_follower  # type: ignore[attr-defined]
    log_follower.want()  # it follows from its first reader on: this test reads at once
    eventually(lambda: log_follower.following, "the log follower started")
    start = head(recorder)
    received: list[dict[str, str]] = []
    stream_reads = {"count": 0}
    read = recorder.select_notifications

    def counted_read(*args: Any, **kwargs: Any) -> Any:
        # The stream reads the process's log follower, which reads the log here.
        notifications = read(*args, **kwargs)
        if kwargs.get("start", args[0] if args else None) == start:
            stream_reads["count"] += 1
        return notifications

    monkeypatch.setattr(recorder, "select_notifications", counted_read)

    def follow() -> None:
        response = client.get("/v1/events/stream", params={"after": start, "limit": 2})
        received.extend(server_sent_events(response.text))

    with held_append(services, recorder) as held:
        create(services, "late")
        late_position = head(recorder)
        follower = threading.Thread(target=follow)
        follower.start()
        # Until the held append ends, nothing after ``start`` may be sent.
        eventually(lambda: stream_reads["count"] >= 2, "the stream looked at the log twice")
        assert received == []
        held.commit()
        follower.join(WAIT_SECONDS)

    ids = [int(event["id"]) for event in received]
    assert len(ids) == 2
    assert ids[0] < ids[1] == late_position


def test_the_projection_runner_waits_at_a_position_in_flight_and_then_projects_it(
    services: Services, recorder: PostgresShipmentRecorder
) -> None:
    view = services.view
    eventually(
        lambda: (view.max_tracking_id(view.tracking_name) or 0) == head(recorder), "caught up"
    )
    start = head(recorder)
    with held_append(services, recorder) as held:
        late = create(services, "late")
        late_position = head(recorder)
        looked = _count_reads_after(recorder, start)
        eventually(lambda: looked() >= 2, "the runner looked at the log twice")

        assert (view.max_tracking_id(view.tracking_name) or 0) == start
        held.commit()

    eventually(
        lambda: (view.max_tracking_id(view.tracking_name) or 0) >= late_position,
        "the runner passed both",
    )
    # The held event had no view row of its own: only the runner could have written it.
    assert view.get(held.shipment_id) is not None
    assert view.get(late.id) is not None


def _count_reads_after(recorder: PostgresShipmentRecorder, start: int) -> Callable[[], int]:
    """How many of the runner's reads of the log from ``start`` have returned since now."""
    calls = {"count": 0}
    read = recorder.select_unprojected

    def spy(after: int, limit: int, view: tuple[str, str]) -> Any:
        page = read(after, limit, view)
        if after == start:
            calls["count"] += 1
        return page

    recorder.select_unprojected = spy  # type: ignore[method-assign]
    return lambda: calls["count"]


def test_pages_kept_for_subscriptions_catching_up_never_link_past_a_position_in_flight(
    services: Services, recorder: PostgresShipmentRecorder
) -> None:
    start = head(recorder)
    before = create(services, "before")
    # Started before the append is held (its start waits for appends in flight), so its
    # memory begins after ``before``: a subscription at ``start`` reads the store.
    follower = LogFollower(services.store).start()
    try:
        follower.want()
        eventually(lambda: follower.following, "the follower started")
        messages = FeedMessages(services.store, follower)
        with held_append(services, recorder) as held:
            late = create(services, "late")

            first = messages.after(start, 100)
            assert [shipment_of(m) for m in first] == [before.id]  # not past the held one
            assert messages.rendered_after(first[-1].position, 100) is None

            held.commit()
        last = head(recorder)
        eventually(lambda: follower.last_position >= last, "the follower saw both")
        rest = messages.after(first[-1].position, 100)
        assert [shipment_of(m) for m in rest] == [held.shipment_id, late.id]
        # What the next subscription walks is the log as it committed, in order.
        assert messages.rendered_after(start, 100) == first + rest
    finally:
        follower.stop()


def shipment_of(message: Message) -> UUID:
    return UUID(orjson.loads(message.body)["data"]["shipmentId"])
