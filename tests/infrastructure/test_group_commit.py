"""Group commit: shared transactions, yet every write keeps its own outcome."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError

from api.wiring import Services, build_services
from domain.details import ShipmentDetails
from domain.shipment import Shipment
from domain.values import ShipmentType
from infrastructure.group_commit import GroupCommitter
from infrastructure.settings import Settings
from infrastructure.shipment_service import WriteContext

CONTEXT = WriteContext(actor="tester", request_id=None)


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    built = build_services(Settings(database_url=database_url))
    yield built
    built.close()


class GatedSaves:
    """Wraps ``store.save``: counts batches, holds the first one, can fail a later one."""

    def __init__(self, services: Services) -> None:
        self.store = services.store
        self.original = services.store.save
        self.batch_sizes: list[int] = []
        self.first_started = threading.Event()
        self.release_first = threading.Event()
        self.second_started = threading.Event()
        self.release_second = threading.Event()
        self.release_second.set()  # only tests that hold the second batch clear it
        self.fail_next_with: BaseException | None = None
        services.store.save = self.save  # type: ignore[method-assign]

    def save(self, *aggregates: Any, **kwargs: Any) -> Any:
        self.batch_sizes.append(len(aggregates))
        if len(self.batch_sizes) == 1:
            self.first_started.set()
            assert self.release_first.wait(30)
        if len(self.batch_sizes) == 2:
            self.second_started.set()
            assert self.release_second.wait(30)
        if self.fail_next_with is not None and len(self.batch_sizes) > 1:
            error, self.fail_next_with = self.fail_next_with, None
            for aggregate in aggregates:
                aggregate.collect_events()  # as a real failed save would have drained them
            raise error
        return self.original(*aggregates, **kwargs)


def revision(services: Services, shipment: Shipment, weight: int) -> Shipment:
    """``shipment`` with one pending Revised event (not yet saved)."""
    loaded = services.shipments.load(shipment.id)
    loaded.revise(ShipmentDetails(ShipmentType.HHG, weight_lbs=weight), None, "tester", None)
    return loaded


def created(services: Services) -> Shipment:
    return services.shipments.create(ShipmentDetails(ShipmentType.HHG), CONTEXT)


def append_in_thread(
    committer: GroupCommitter, services: Services, shipment: Shipment, outcomes: dict[Any, Any]
) -> threading.Thread:
    statements = services.view.statements_for(shipment)

    def run() -> None:
        try:
            committer.append(shipment, statements, [])
            outcomes[id(shipment)] = "ok"
        except BaseException as error:  # noqa: BLE001 - recorded for the assertions
            outcomes[id(shipment)] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def wait_for_queue(committer: GroupCommitter, size: int) -> None:
    deadline = threading.Event()
    for _ in range(3000):
        if len(committer._queue) >= size:  # observing the queue
            return
        deadline.wait(0.01)
    raise AssertionError(f"queue never reached {size}")


def test_writes_arriving_during_a_commit_share_the_next_transaction(services: Services) -> None:
    shipments = [created(services) for _ in range(11)]
    gate = GatedSaves(services)
    committer = GroupCommitter(services.store, max_batch=64)
    outcomes: dict[Any, Any] = {}
    first = append_in_thread(committer, services, revision(services, shipments[0], 10), outcomes)
    assert gate.first_started.wait(30)
    others = [
        append_in_thread(committer, services, revision(services, s, 20), outcomes)
        for s in shipments[1:]
    ]
    wait_for_queue(committer, 10)
    gate.release_first.set()
    for thread in [first, *others]:
        thread.join(30)

    assert list(outcomes.values()) == ["ok"] * 11
    assert gate.batch_sizes == [1, 10]
    for shipment in shipments:
        assert services.shipments.current_version(shipment.id) == 2
        assert services.view.get(shipment.id) is not None
        assert services.view.get(shipment.id)[0] == 2  # type: ignore[index]


def test_a_conflict_inside_a_batch_fails_only_the_write_that_lost(services: Services) -> None:
    contested, bystander, opener = created(services), created(services), created(services)
    gate = GatedSaves(services)
    committer = GroupCommitter(services.store)
    outcomes: dict[Any, Any] = {}
    first = append_in_thread(committer, services, revision(services, opener, 1), outcomes)
    assert gate.first_started.wait(30)
    # Someone in another process takes the contested position before our batch commits.
    rival = revision(services, contested, 99)
    late = revision(services, contested, 42)
    services.store.save(rival, co_commit=services.view.statements_for(rival))
    doomed = append_in_thread(committer, services, late, outcomes)
    fine = append_in_thread(committer, services, revision(services, bystander, 7), outcomes)
    wait_for_queue(committer, 2)
    gate.release_first.set()
    for thread in (first, doomed, fine):
        thread.join(30)

    assert isinstance(outcomes[id(late)], IntegrityError)
    assert list(outcomes.values()).count("ok") == 2
    assert services.shipments.load(contested.id).details.weight_lbs == 99
    assert services.shipments.load(bystander.id).details.weight_lbs == 7


def test_two_writes_for_one_position_in_a_batch_have_exactly_one_winner(
    services: Services,
) -> None:
    contested, opener = created(services), created(services)
    gate = GatedSaves(services)
    committer = GroupCommitter(services.store)
    outcomes: dict[Any, Any] = {}
    first = append_in_thread(committer, services, revision(services, opener, 1), outcomes)
    assert gate.first_started.wait(30)
    a, b = revision(services, contested, 5), revision(services, contested, 6)
    threads = [append_in_thread(committer, services, w, outcomes) for w in (a, b)]
    wait_for_queue(committer, 2)
    gate.release_first.set()
    for thread in [first, *threads]:
        thread.join(30)

    results = [outcomes[id(a)], outcomes[id(b)]]
    assert results.count("ok") == 1
    assert sum(isinstance(r, IntegrityError) for r in results) == 1
    assert services.shipments.current_version(contested.id) == 2


def test_the_loser_of_an_in_batch_conflict_waits_until_the_winner_is_durable(
    services: Services,
) -> None:
    contested, opener = created(services), created(services)
    gate = GatedSaves(services)
    gate.release_second.clear()
    committer = GroupCommitter(services.store)
    outcomes: dict[Any, Any] = {}
    first = append_in_thread(committer, services, revision(services, opener, 1), outcomes)
    assert gate.first_started.wait(30)
    winner, loser = revision(services, contested, 5), revision(services, contested, 6)
    threads = [append_in_thread(committer, services, w, outcomes) for w in (winner, loser)]
    wait_for_queue(committer, 2)
    gate.release_first.set()
    assert gate.second_started.wait(30)  # the batch with the winner is being saved

    # Were the loser answered now, its caller would read the stream before the
    # winner's commit and tell its client a 412 naming the version it already holds.
    threads[1].join(0.5)
    assert threads[1].is_alive()
    assert id(loser) not in outcomes
    gate.release_second.set()
    for thread in [first, *threads]:
        thread.join(30)

    assert outcomes[id(winner)] == "ok"
    assert isinstance(outcomes[id(loser)], IntegrityError)
    assert gate.batch_sizes == [1, 1]
    assert services.shipments.current_version(contested.id) == 2


def test_a_batch_the_store_fails_leaves_nothing_behind(services: Services) -> None:
    shipments = [created(services) for _ in range(4)]
    gate = GatedSaves(services)
    committer = GroupCommitter(services.store)
    outcomes: dict[Any, Any] = {}
    first = append_in_thread(committer, services, revision(services, shipments[0], 1), outcomes)
    assert gate.first_started.wait(30)
    writes = [revision(services, s, 3) for s in shipments[1:]]
    threads = [append_in_thread(committer, services, w, outcomes) for w in writes]
    wait_for_queue(committer, 3)
    gate.fail_next_with = OperationalError("connection lost")  # the store dies mid-batch
    gate.release_first.set()
    for thread in [first, *threads]:
        thread.join(30)

    assert isinstance(outcomes[id(writes[0])], OperationalError)
    assert all(isinstance(outcomes[id(w)], OperationalError) for w in writes)
    for shipment in shipments[1:]:
        assert services.shipments.current_version(shipment.id) == 1
        assert services.view.get(shipment.id)[0] == 1  # type: ignore[index]
    # The committer keeps working afterwards.
    retry = revision(services, shipments[1], 5)
    committer.append(retry, services.view.statements_for(retry), [])
    assert services.shipments.current_version(shipments[1].id) == 2


def test_concurrent_batches_keep_the_change_feed_gapless_and_in_stream_order(
    services: Services,
) -> None:
    shipments = [created(services) for _ in range(8)]
    committer = GroupCommitter(services.store, max_batch=5)
    errors: list[BaseException] = []

    def writer(shipment: Shipment) -> None:
        for weight in range(1, 11):
            try:
                write = revision(services, shipment, weight)
                committer.append(write, services.view.statements_for(write), [])
            except BaseException as error:  # noqa: BLE001
                errors.append(error)

    threads = [threading.Thread(target=writer, args=(s,)) for s in shipments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

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
