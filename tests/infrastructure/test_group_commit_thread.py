"""The group committer's own thread: appends submitted from an event loop, waiters that
go away, shutdown, and conflicts, each write keeping its own outcome.

The committer is held mid-save where a test needs writes to be queued (``GatedSaves``
from ``test_group_commit``), so batches are made by events, never by timing.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from api.wiring import Services, build_services
from domain.shipment import Shipment
from infrastructure.group_commit import GroupCommitter
from infrastructure.settings import Settings
from tests.infrastructure.test_group_commit import (
    GatedSaves,
    created,
    revision,
    wait_for_queue,
)

BOUND_SECONDS = 30


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    built = build_services(Settings(database_url=database_url))
    yield built
    built.close()


@pytest.fixture
def committer(services: Services) -> Iterator[GroupCommitter]:
    """A committer of the test's own (the services' one is left alone), closed afterwards."""
    own = GroupCommitter(services.store)
    yield own
    own.close()


def submitted(committer: GroupCommitter, services: Services, shipment: Shipment) -> Future[None]:
    return committer.submit(shipment, services.view.statements_for(shipment), [])


def assert_committed(services: Services, shipment: Shipment, version: int, weight: int) -> None:
    """The event is in the stream and the view row shows it (both written in one commit)."""
    assert services.shipments.current_version(shipment.id) == version
    assert services.shipments.load(shipment.id).details.weight_lbs == weight
    row = services.view.get(shipment.id)
    assert row is not None and row[0] == version
    assert len(list(services.store.events.get(shipment.id))) == version


def wait_until_closing(committer: GroupCommitter) -> None:
    """Block (bounded) until ``close()`` has been called on ``committer``."""
    pause = threading.Event()
    for _ in range(BOUND_SECONDS * 100):
        with committer._condition:  # observing the committer's state
            if committer._closed:
                return
        pause.wait(0.01)
    raise AssertionError("close() was never called")


def test_an_append_submitted_from_an_event_loop_commits_on_the_committer_thread(
    services: Services, committer: GroupCommitter
) -> None:
    shipment = created(services)
    write = revision(services, shipment, 25)
    saving_threads: list[str] = []
    original_save = services.store.save

    def save(*aggregates: Any, **kwargs: Any) -> Any:
        saving_threads.append(threading.current_thread().name)
        return original_save(*aggregates, **kwargs)

    services.store.save = save  # type: ignore[method-assign]

    async def scenario() -> str:
        await asyncio.wrap_future(submitted(committer, services, write))
        return threading.current_thread().name

    loop_thread = asyncio.run(scenario())

    assert_committed(services, shipment, 2, 25)
    assert saving_threads == ["group-commit"]
    assert loop_thread != "group-commit"


@pytest.mark.parametrize("held", ["queued", "saving"])
def test_a_waiter_that_goes_away_does_not_cancel_its_append(
    services: Services, committer: GroupCommitter, held: str
) -> None:
    opener, shipment = created(services), created(services)
    gate = GatedSaves(services)
    if held == "queued":  # another write's save is held, ours waits in the queue
        first = submitted(committer, services, revision(services, opener, 1))
        assert gate.first_started.wait(BOUND_SECONDS)
    write = revision(services, shipment, 42)

    async def scenario() -> Future[None]:
        outcome = submitted(committer, services, write)
        if held == "saving":
            assert gate.first_started.wait(BOUND_SECONDS)  # our own save is under way
        else:
            wait_for_queue(committer, 1)
        waiting = asyncio.Event()
        wrapped: list[asyncio.Future[None]] = []

        async def wait_for_it() -> None:
            wrapped.append(asyncio.wrap_future(outcome))
            waiting.set()
            await wrapped[0]

        waiter = asyncio.create_task(wait_for_it())
        await waiting.wait()
        waiter.cancel()  # as a request whose client went away
        with pytest.raises(asyncio.CancelledError):
            await waiter
        # Cancelling the loop's future asked the append's future to cancel too; it refused.
        assert wrapped[0].cancelled()
        assert outcome.cancel() is False  # nor can anyone cancel it directly
        return outcome

    outcome = asyncio.run(scenario())
    assert not outcome.cancelled()
    gate.release_first.set()

    assert outcome.result(BOUND_SECONDS) is None
    assert_committed(services, shipment, 2, 42)
    if held == "queued":
        assert first.result(BOUND_SECONDS) is None
    later = revision(services, shipment, 43)
    committer.append(later, services.view.statements_for(later), [])
    assert_committed(services, shipment, 3, 43)


def test_close_commits_what_is_queued_then_refuses_new_appends(
    services: Services, committer: GroupCommitter
) -> None:
    shipments = [created(services) for _ in range(4)]
    gate = GatedSaves(services)
    outcomes = [submitted(committer, services, revision(services, shipments[0], 10))]
    assert gate.first_started.wait(BOUND_SECONDS)
    outcomes += [submitted(committer, services, revision(services, s, 20)) for s in shipments[1:]]
    wait_for_queue(committer, 3)

    closer = threading.Thread(target=committer.close)
    closer.start()
    wait_until_closing(committer)
    assert not any(outcome.done() for outcome in outcomes)  # still held: close() waits
    gate.release_first.set()
    closer.join(BOUND_SECONDS)

    assert not closer.is_alive()
    assert all(outcome.done() and outcome.exception() is None for outcome in outcomes)
    assert gate.batch_sizes == [1, 3]
    assert_committed(services, shipments[0], 2, 10)
    for shipment in shipments[1:]:
        assert_committed(services, shipment, 2, 20)
    assert committer._thread is not None and not committer._thread.is_alive()

    refused = revision(services, shipments[1], 30)
    with pytest.raises(RuntimeError):
        submitted(committer, services, refused)
    with pytest.raises(RuntimeError):
        committer.append(refused, services.view.statements_for(refused), [])
    committer.close()  # closing twice is harmless
    assert_committed(services, shipments[1], 2, 20)


def test_close_of_a_committer_that_never_committed_returns_at_once(services: Services) -> None:
    idle = GroupCommitter(services.store)
    idle.close()
    with pytest.raises(RuntimeError):
        submitted(idle, services, revision(services, created(services), 1))


def test_a_conflict_in_a_batch_fails_only_the_losers_future(
    services: Services, committer: GroupCommitter
) -> None:
    opener, contested, bystander = created(services), created(services), created(services)
    gate = GatedSaves(services)
    first = submitted(committer, services, revision(services, opener, 1))
    assert gate.first_started.wait(BOUND_SECONDS)
    # Two revisions of the same loaded version: both aim at version 2.
    winner = submitted(committer, services, revision(services, contested, 5))
    loser = submitted(committer, services, revision(services, contested, 6))
    fine = submitted(committer, services, revision(services, bystander, 7))
    wait_for_queue(committer, 3)
    gate.release_first.set()

    assert first.result(BOUND_SECONDS) is None
    assert winner.result(BOUND_SECONDS) is None
    assert fine.result(BOUND_SECONDS) is None
    assert isinstance(loser.exception(BOUND_SECONDS), IntegrityError)
    assert_committed(services, contested, 2, 5)  # the earlier write in the batch won
    assert_committed(services, bystander, 2, 7)


def test_a_conflict_awaited_in_an_event_loop_raises_only_for_the_loser(
    services: Services, committer: GroupCommitter
) -> None:
    contested = created(services)
    writes = [revision(services, contested, weight) for weight in (5, 6, 7)]

    async def scenario() -> list[Any]:
        outcomes = [submitted(committer, services, write) for write in writes]
        return await asyncio.gather(*map(asyncio.wrap_future, outcomes), return_exceptions=True)

    results = asyncio.run(scenario())

    assert results.count(None) == 1, results
    assert sum(isinstance(result, IntegrityError) for result in results) == 2, results
    winner = results.index(None)
    assert_committed(services, contested, 2, (5, 6, 7)[winner])
    later = revision(services, contested, 8)
    committer.append(later, services.view.statements_for(later), [])
    assert_committed(services, contested, 3, 8)
