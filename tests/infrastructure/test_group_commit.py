"""The group committer: writes decided in their own transaction, shared, each with its outcome.

Batches are made by events, never by timing: the committer is held inside its
first transaction's write (``HeldWrites``) while the next writes queue up.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import OperationalError
from psycopg_pool import PoolTimeout

from api.wiring import Services, build_services
from domain.details import ShipmentDetails
from domain.shipment import Shipment
from domain.values import ShipmentType
from infrastructure.errors import StoreUnavailable, VersionConflict
from infrastructure.settings import Settings
from infrastructure.shipment_service import WriteContext
from infrastructure.write_commands import WriteCommand, WriteOutcome
from tests.support.stores import postgres_schema_url

CONTEXT = WriteContext(actor="tester", request_id=None)
BOUND_SECONDS = 30


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    """One batch in flight at a time, so what shares a batch is exactly what queued."""
    settings = Settings(database_url=database_url, projection_runner=False, commits_in_flight=1)
    built = build_services(settings)
    yield built
    built.close()


@pytest.fixture
def overlapping() -> Iterator[Services]:
    """Two batches in flight at once: on PostgreSQL only (SQLite has one writer)."""
    with postgres_schema_url() as url:
        built = build_services(Settings(database_url=url, projection_runner=False))
        assert built.committer._in_flight == 2  # the default
        yield built
        built.close()


class HeldWrites:
    """Wraps the session's ``write``: counts events per batch, holds the first, fails on demand."""

    def __init__(self, services: Services) -> None:
        self.first_id = created(services).id  # before the hold: creates take the path too
        session = services.committer._session
        self.original = session.write
        self.events_per_batch: list[int] = []
        self.first_started = threading.Event()
        self.release_first = threading.Event()
        self.fail_next_with: BaseException | None = None
        session.write = self.write  # type: ignore[method-assign]

    def write(self, cursor: Any, statements: Any, events: Any) -> None:
        self.events_per_batch.append(len(events))
        if len(self.events_per_batch) == 1:
            self.first_started.set()
            assert self.release_first.wait(BOUND_SECONDS)
        elif self.fail_next_with is not None:
            error, self.fail_next_with = self.fail_next_with, None
            raise error
        self.original(cursor, statements, events)


def created(services: Services) -> Shipment:
    return services.shipments.create(ShipmentDetails(ShipmentType.HHG), CONTEXT)


def weighing(weight: int, expected_version: int | None = None) -> Any:
    """A decision: set the weight, on the given version only (None: on whatever is current)."""

    def decide(current: Shipment | None) -> Shipment:
        assert current is not None
        if expected_version is not None and current.version != expected_version:
            raise VersionConflict(current.id, current.version)
        details = ShipmentDetails(ShipmentType.HHG, weight_lbs=weight)
        current.revise(details, None, "tester", None)
        return current

    return decide


def submitted(services: Services, command: WriteCommand) -> Future[WriteOutcome]:
    outcome: Future[WriteOutcome] = Future()
    services.shipments.submit(command, outcome.set_result)
    return outcome


def held_first_batch(services: Services, held: HeldWrites) -> Future[WriteOutcome]:
    """A write of a shipment of its own, held inside the committer's first transaction."""
    first = submitted(services, WriteCommand(held.first_id, weighing(1)))
    assert held.first_started.wait(BOUND_SECONDS)
    return first


def wait_for_queue(services: Services, size: int) -> None:
    pause = threading.Event()
    for _ in range(3000):
        if len(services.committer._queue) >= size:  # observing the queue
            return
        pause.wait(0.01)
    raise AssertionError(f"queue never reached {size}")


def outcome_of(future: Future[WriteOutcome]) -> WriteOutcome:
    return future.result(BOUND_SECONDS)


def test_writes_arriving_during_a_commit_share_the_next_transaction(services: Services) -> None:
    shipment_ids = [created(services).id for _ in range(10)]
    held = HeldWrites(services)
    first = held_first_batch(services, held)
    queued = [submitted(services, WriteCommand(i, weighing(7))) for i in shipment_ids]
    wait_for_queue(services, 10)
    held.release_first.set()

    assert outcome_of(first).appended
    assert all(outcome_of(f).appended for f in queued)
    assert held.events_per_batch == [1, 10]
    for shipment_id in shipment_ids:
        assert services.shipments.current_version(shipment_id) == 2
        assert services.view.get(shipment_id)[0] == 2  # type: ignore[index]


def test_two_writes_with_one_tag_in_one_batch_have_one_winner_and_a_412_naming_it(
    services: Services,
) -> None:
    contested = created(services).id
    held = HeldWrites(services)
    first = held_first_batch(services, held)
    winner = submitted(services, WriteCommand(contested, weighing(10, expected_version=1)))
    loser = submitted(services, WriteCommand(contested, weighing(20, expected_version=1)))
    wait_for_queue(services, 2)
    held.release_first.set()

    assert outcome_of(first).appended
    assert outcome_of(winner).appended
    refusal = outcome_of(loser).error
    assert isinstance(refusal, VersionConflict)
    assert refusal.current_version == 2  # the winner's version, read in the same batch
    assert services.shipments.load(contested).details.weight_lbs == 10


def test_a_second_write_on_any_version_is_decided_on_the_firsts_result(
    services: Services,
) -> None:
    contested = created(services).id
    held = HeldWrites(services)
    first = held_first_batch(services, held)
    writes = [submitted(services, WriteCommand(contested, weighing(w))) for w in (10, 20)]
    wait_for_queue(services, 2)
    held.release_first.set()

    assert outcome_of(first).appended
    outcomes = [outcome_of(write) for write in writes]
    assert [o.shipment.version for o in outcomes if o.shipment] == [2, 3]
    assert held.events_per_batch == [1, 2]
    assert services.shipments.current_version(contested) == 3
    assert services.view.get(contested)[0] == 3  # type: ignore[index]


def test_a_refused_write_in_a_batch_touches_only_itself(services: Services) -> None:
    bystander, refused = created(services).id, created(services).id
    held = HeldWrites(services)
    first = held_first_batch(services, held)

    def refuse(current: Shipment | None) -> Shipment:
        raise ValueError("not this one")

    kept = submitted(services, WriteCommand(bystander, weighing(7)))
    lost = submitted(services, WriteCommand(refused, refuse))
    wait_for_queue(services, 2)
    held.release_first.set()

    assert outcome_of(first).appended
    assert outcome_of(kept).appended
    assert isinstance(outcome_of(lost).error, ValueError)
    assert services.shipments.current_version(bystander) == 2
    assert services.shipments.current_version(refused) == 1


def test_a_batch_the_store_fails_leaves_nothing_behind_and_the_committer_goes_on(
    services: Services,
) -> None:
    shipment_ids = [created(services).id for _ in range(3)]
    held = HeldWrites(services)
    first = held_first_batch(services, held)
    queued = [submitted(services, WriteCommand(i, weighing(3))) for i in shipment_ids]
    wait_for_queue(services, 3)
    timed_out = OperationalError("the pool timed out")
    timed_out.__cause__ = PoolTimeout()  # a spent time-out: not tried again
    held.fail_next_with = timed_out
    held.release_first.set()

    assert outcome_of(first).appended
    assert all(isinstance(outcome_of(f).error, StoreUnavailable) for f in queued)
    for shipment_id in shipment_ids:
        assert services.shipments.current_version(shipment_id) == 1
        assert services.view.get(shipment_id)[0] == 1  # type: ignore[index]
    again = submitted(services, WriteCommand(shipment_ids[0], weighing(5)))
    assert outcome_of(again).appended


def test_a_stream_that_moved_on_without_its_view_row_is_decided_on_the_stream(
    services: Services,
) -> None:
    """A writer outside this path (no view row): the store's key refuses, the stream decides."""
    shipment = created(services)
    rival = services.shipments.load(shipment.id)
    rival.revise(ShipmentDetails(ShipmentType.HHG, weight_lbs=42), None, "rival", None)
    services.store.save(rival)  # the event only: the view row stays at version 1

    outcome = services.shipments.execute(WriteCommand(shipment.id, weighing(50)))

    assert outcome.appended
    assert outcome.shipment is not None and outcome.shipment.version == 3
    assert services.view.get(shipment.id)[0] == 3  # type: ignore[index]
    refused = services.shipments.execute(WriteCommand(shipment.id, weighing(60, 2)))
    assert isinstance(refused.error, VersionConflict)
    assert refused.error.current_version == 3


def test_a_write_on_a_cached_state_another_committer_made_stale_sees_the_new_state(
    database_url: str,
) -> None:
    """Two processes' committers on one store: the row read under the lock decides, not a cache."""
    one = build_services(Settings(database_url=database_url, projection_runner=False))
    other = build_services(Settings(database_url=database_url, projection_runner=False))
    try:
        shipment_id = created(one).id
        assert one.shipments.execute(WriteCommand(shipment_id, weighing(2))).appended
        assert other.shipments.execute(WriteCommand(shipment_id, weighing(3))).appended
        refused = one.shipments.execute(WriteCommand(shipment_id, weighing(4, 2)))
        assert isinstance(refused.error, VersionConflict)
        assert refused.error.current_version == 3
        star = one.shipments.execute(WriteCommand(shipment_id, weighing(5)))
        assert star.shipment is not None and star.shipment.version == 4
    finally:
        one.close()
        other.close()


def test_concurrent_batches_keep_the_change_feed_gapless_and_in_stream_order(
    services: Services,
) -> None:
    shipment_ids = [created(services).id for _ in range(8)]
    errors: list[BaseException] = []

    def writer(shipment_id: UUID) -> None:
        for weight in range(1, 11):
            outcome = services.shipments.execute(WriteCommand(shipment_id, weighing(weight)))
            if outcome.error is not None:
                errors.append(outcome.error)

    threads = [threading.Thread(target=writer, args=(i,)) for i in shipment_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BOUND_SECONDS * 2)

    assert errors == []
    notifications = services.store.recorder.select_notifications(start=1, limit=10_000)
    positions = [n.id for n in notifications]
    assert positions == sorted(positions)
    assert len(positions) == len(set(positions)) == 8 * 11
    last_version: dict[Any, int] = {}
    for notification in notifications:
        previous = last_version.get(notification.originator_id, 0)
        assert notification.originator_version == previous + 1
        last_version[notification.originator_id] = notification.originator_version


def test_close_commits_what_is_queued_then_refuses_new_writes(services: Services) -> None:
    shipment_ids = [created(services).id for _ in range(3)]
    held = HeldWrites(services)
    first = held_first_batch(services, held)
    queued = [submitted(services, WriteCommand(i, weighing(9))) for i in shipment_ids]
    wait_for_queue(services, 3)
    closing = threading.Thread(target=services.committer.close)
    closing.start()
    held.release_first.set()
    closing.join(BOUND_SECONDS)

    assert not closing.is_alive()
    assert outcome_of(first).appended
    assert all(outcome_of(f).appended for f in queued)
    with pytest.raises(RuntimeError):
        services.shipments.submit(WriteCommand(shipment_ids[0], weighing(1)), lambda _: None)


def test_close_of_a_committer_that_never_committed_returns_at_once(database_url: str) -> None:
    idle = build_services(Settings(database_url=database_url, projection_runner=False))
    done = threading.Thread(target=idle.close)
    done.start()
    done.join(BOUND_SECONDS)
    assert not done.is_alive()


@pytest.mark.postgres
def test_a_batch_is_decided_and_committed_while_another_is_still_in_flight(
    overlapping: Services,
) -> None:
    other = created(overlapping).id
    held = HeldWrites(overlapping)
    first = held_first_batch(overlapping, held)

    second = outcome_of(submitted(overlapping, WriteCommand(other, weighing(5))))

    assert second.appended
    assert not first.done()  # the first batch is still inside its transaction
    held.release_first.set()
    assert outcome_of(first).appended
    assert overlapping.shipments.current_version(held.first_id) == 2


@pytest.mark.postgres
def test_a_write_to_a_shipment_a_batch_in_flight_holds_waits_and_is_decided_on_its_result(
    overlapping: Services,
) -> None:
    held = HeldWrites(overlapping)
    first = held_first_batch(overlapping, held)
    follower = submitted(overlapping, WriteCommand(held.first_id, weighing(9, expected_version=2)))
    wait_for_a_lock_wait(overlapping)
    assert not follower.done(), follower.result()

    held.release_first.set()

    assert outcome_of(first).appended
    outcome = outcome_of(follower)
    assert outcome.shipment is not None and outcome.shipment.version == 3
    assert overlapping.view.get(held.first_id)[0] == 3  # type: ignore[index]


def wait_for_a_lock_wait(services: Services) -> None:
    """Until a statement on this store's schema waits for a lock (the second batch, for the row)."""
    datastore = services.store.factory.datastore  # type: ignore[attr-defined]
    pause = threading.Event()
    for _ in range(3000):
        with datastore.get_connection() as connection:
            row = connection.execute(
                "SELECT count(*) AS waiting FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND position(%s in query) > 0",
                (datastore.schema,),
            ).fetchone()
        if row and row["waiting"] > 0:
            return
        pause.wait(0.01)
    raise AssertionError("no transaction ever waited for the row")
