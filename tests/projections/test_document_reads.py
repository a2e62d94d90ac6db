"""The event-loop reader of PostgreSQL (``PostgresDocumentReads``): shared queries, same answers.

Reads that arrive while ``max_in_flight`` queries are out wait and share the next
query. Whatever the batching, each read must get exactly what the view's own
``get`` returns; an outage fails every read of the failed batch (and only it);
a reader whose client went away must not take its neighbours down with it.

Batching here is made deterministic by asyncio's own order, not by timing: tasks
run in the order they were created, so reads created together all arrive before
the query task the first of them starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from api.wiring import Services, open_document_reads
from infrastructure.errors import StoreUnavailable
from infrastructure.shipment_service import WriteContext
from projections.document_reads import Found, PostgresDocumentReads
from projections.postgres_shipment_view import PostgresShipmentView
from tests.projections.conftest import BOUNDED_WAIT_SECONDS, create_through_service, details_for

pytestmark = pytest.mark.parametrize(
    "store_kind", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)

Select = Callable[[list[UUID]], Awaitable[dict[UUID, Found]]]


async def opened(services: Services) -> PostgresDocumentReads:
    """The reader the app opens at start-up, on this store."""
    reads = await open_document_reads(services)
    assert isinstance(reads, PostgresDocumentReads)
    return reads


def one_at_a_time(services: Services, reads: PostgresDocumentReads) -> PostgresDocumentReads:
    """A reader on ``reads``' pool that keeps at most one query out (so reads must batch)."""
    view = services.view
    assert isinstance(view, PostgresShipmentView)
    return PostgresDocumentReads(
        reads._pool,  # the same pool: the reader under test only differs in max_in_flight
        view.documents_query,
        timeout=services.settings.store_timeout_seconds,
        max_in_flight=1,
    )


class RecordedSelects:
    """Wraps a reader's ``_select``: records the ids of every query, can fail some of them."""

    def __init__(self, reads: PostgresDocumentReads, monkeypatch: pytest.MonkeyPatch) -> None:
        self.original: Select = reads._select
        self.calls: list[list[UUID]] = []
        self.fail: Callable[[int, list[UUID]], bool] = lambda index, ids: False
        self.before: Callable[[int, list[UUID]], None] = lambda index, ids: None
        monkeypatch.setattr(reads, "_select", self.select)

    async def select(self, shipment_ids: list[UUID]) -> dict[UUID, Found]:
        index = len(self.calls)
        self.calls.append(list(shipment_ids))
        self.before(index, shipment_ids)
        if self.fail(index, shipment_ids):
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return await self.original(shipment_ids)


def stored(services: Services, count: int) -> list[UUID]:
    return [create_through_service(services, number).id for number in range(count)]


def expected(services: Services, ids: list[UUID]) -> list[Found]:
    """What the view's own (synchronous) read answers for each id."""
    return [services.view.get(shipment_id) for shipment_id in ids]


async def read_all(reads: PostgresDocumentReads, ids: list[UUID]) -> list[Any]:
    """Every read's answer or error; a read never answered fails the test (bounded)."""
    async with asyncio.timeout(BOUNDED_WAIT_SECONDS):
        return await asyncio.gather(*(reads.get(i) for i in ids), return_exceptions=True)


def test_concurrent_reads_answer_exactly_what_the_view_holds(services: Services) -> None:
    existing = stored(services, 6)
    revised = services.shipments.load(existing[0])
    assert services.shipments.revise(revised, details_for(99), None, WriteContext("tester", None))
    missing = [uuid4(), uuid4()]
    # Every shipment read several times (the same id twice in one batch, too), and two
    # ids that name no shipment.
    ids = [*existing, existing[0], existing[3], missing[0], *existing, missing[1], *existing[:4]]
    assert len(ids) == 20
    wanted = expected(services, ids)
    assert wanted[0] is not None and wanted[0][0] == 2  # the revised one
    assert [wanted[ids.index(i)] for i in missing] == [None, None]

    async def scenario() -> list[Any]:
        reads = await opened(services)
        try:
            return await read_all(reads, ids)
        finally:
            await reads.close()

    assert asyncio.run(scenario()) == wanted


def test_reads_that_arrive_while_a_query_is_out_share_the_next_one(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = stored(services, 5)
    ids = [*existing, *existing, uuid4(), *existing[:3], *existing, uuid4()]
    assert len(ids) == 20
    wanted = expected(services, ids)

    async def scenario() -> tuple[list[Any], list[list[UUID]]]:
        pooled = await opened(services)
        try:
            reads = one_at_a_time(services, pooled)
            selects = RecordedSelects(reads, monkeypatch)
            return await read_all(reads, ids), selects.calls
        finally:
            await pooled.close()

    answers, calls = asyncio.run(scenario())
    assert answers == wanted
    assert len(calls) <= 2, calls
    assert sorted(map(str, (i for call in calls for i in call))) == sorted(map(str, ids))


def test_an_outage_fails_every_read_of_its_batch_and_the_reader_recovers(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = stored(services, 3)
    # Distinct ids, so that each answer can be traced to the query that carried it.
    ids = [*existing, *(uuid4() for _ in range(17))]
    wanted = dict(zip(ids, expected(services, ids), strict=True))
    failed: list[int] = []  # the indexes of the queries made to fail

    def fail(index: int, shipment_ids: list[UUID]) -> bool:
        # The first query that several reads share fails, and so does its one retry.
        if not failed and len(shipment_ids) > 1:
            failed.extend((index, index + 1))
        return index in failed

    async def scenario() -> tuple[list[Any], list[Any], list[list[UUID]]]:
        pooled = await opened(services)
        try:
            reads = one_at_a_time(services, pooled)
            selects = RecordedSelects(reads, monkeypatch)
            selects.fail = fail
            during = await read_all(reads, ids)
            after = await read_all(reads, ids)
            return during, after, selects.calls
        finally:
            await pooled.close()

    during, after, calls = asyncio.run(scenario())
    assert failed, calls  # some batch held several reads
    batch = calls[failed[0]]
    assert calls[failed[1]] == batch  # the retry asked for the same reads
    for shipment_id, answer in zip(ids, during, strict=True):
        if shipment_id in batch:
            assert isinstance(answer, StoreUnavailable), answer
            assert isinstance(answer.__cause__, psycopg.OperationalError)
        else:
            assert answer == wanted[shipment_id]
    assert after == [wanted[i] for i in ids]


def test_one_failed_query_is_retried_on_a_fresh_connection(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = stored(services, 2)
    wanted = expected(services, existing)

    async def scenario() -> tuple[list[Any], list[list[UUID]]]:
        reads = await opened(services)
        try:
            selects = RecordedSelects(reads, monkeypatch)
            selects.fail = lambda index, ids: index == 0
            return [(await read_all(reads, [i]))[0] for i in existing], selects.calls
        finally:
            await reads.close()

    answers, calls = asyncio.run(scenario())
    assert answers == wanted
    assert calls == [[existing[0]], [existing[0]], [existing[1]]]


@pytest.mark.parametrize("cancelled", ["while-waiting", "while-its-query-runs"])
def test_a_cancelled_read_does_not_break_the_others_in_its_batch(
    services: Services, monkeypatch: pytest.MonkeyPatch, cancelled: str
) -> None:
    existing = stored(services, 4)
    ids = [*existing, uuid4(), existing[1]]
    wanted = expected(services, ids)
    victim = 2  # not the first read: that one has a query of its own

    async def scenario() -> tuple[list[Any], list[list[UUID]]]:
        pooled = await opened(services)
        try:
            reads = one_at_a_time(services, pooled)
            selects = RecordedSelects(reads, monkeypatch)
            tasks = [asyncio.create_task(reads.get(i)) for i in ids]

            def cancel_victim(index: int, shipment_ids: list[UUID]) -> None:
                # Called as each query starts. The first carries read 0 alone, while
                # the others (the victim among them) wait; the second carries them.
                if (index, cancelled) in ((0, "while-waiting"), (1, "while-its-query-runs")):
                    tasks[victim].cancel()

            selects.before = cancel_victim
            async with asyncio.timeout(BOUNDED_WAIT_SECONDS):  # a lost answer fails, not hangs
                answers = await asyncio.gather(*tasks, return_exceptions=True)
            answers += await read_all(reads, [ids[victim]])  # the reader still works
            return answers, selects.calls
        finally:
            await pooled.close()

    answers, calls = asyncio.run(scenario())
    assert isinstance(answers[victim], asyncio.CancelledError)
    others = [a for n, a in enumerate(answers[: len(ids)]) if n != victim]
    assert others == [w for n, w in enumerate(wanted) if n != victim]
    assert answers[-1] == wanted[victim]
    # The victim shared its batch with other reads, which the cancellation must spare.
    assert any(ids[victim] in call and len(call) > 1 for call in calls), calls


def test_reads_still_out_when_the_reader_closes_fail_as_an_outage(services: Services) -> None:
    ids = stored(services, 5)

    async def scenario() -> list[Any]:
        reads = one_at_a_time(services, await opened(services))
        pending = [asyncio.create_task(reads.get(i)) for i in ids]
        await asyncio.sleep(0)  # every read is queued or in its query's task
        await reads.close()
        async with asyncio.timeout(BOUNDED_WAIT_SECONDS):
            return await asyncio.gather(*pending, return_exceptions=True)

    answers = asyncio.run(scenario())
    assert len(answers) == 5
    # None waits for ever: each read either got its document or the outage error.
    assert all(
        isinstance(answer, StoreUnavailable) or answer == expected(services, [i])[0]
        for answer, i in zip(answers, ids, strict=True)
    )
    assert any(isinstance(answer, StoreUnavailable) for answer in answers)
