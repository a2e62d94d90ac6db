"""Reads of a shipment's stored document that run on the event loop itself.

The hot read (``GET /v1/shipments/{id}``) is one indexed lookup of an
already-encoded document. Through the library's synchronous pool it costs a hop
to a worker thread and back, which on this stack is more than the lookup
itself; these readers answer it without leaving the event loop:

- PostgreSQL: psycopg's ``AsyncConnectionPool``, connected with the same
  parameters as the library's pool, reading the same view table. It is a second
  pool because the library's recorders are synchronous and have no async API.
- SQLite: one connection of the loop's own, in autocommit mode. A primary-key
  lookup in a WAL database is tens of microseconds and never waits for a writer
  (readers see the last committed snapshot), so running it on the loop is
  cheaper than any hand-off. It is opened with a zero busy time-out: in the
  rare moments SQLite cannot read at once, it raises ``ReadDeferred`` and the
  caller takes the ordinary path, which may wait in a worker thread.

Both read the view table by name; a rebuild swaps a new table in under that
same name (``projections.view_swap``), so they follow it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Protocol
from uuid import UUID

import psycopg
from psycopg.sql import Composed
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from infrastructure.errors import StoreUnavailable

Found = tuple[int, bytes] | None


class ReadDeferred(Exception):
    """This reader cannot answer right now without blocking; use the ordinary path."""


class DocumentReads(Protocol):
    """The current version and encoded document of one shipment, if it exists."""

    async def get(self, shipment_id: UUID) -> Found: ...

    async def close(self) -> None: ...


class PostgresDocumentReads:
    """Reads the view through an async pool, sharing one query among reads that coincide.

    A query costs this process far more than the rows it returns (psycopg's
    async path: about 140 µs of CPU per statement here, measured in
    ``bench/README.md``), so reads work like group commit does for writes: while
    ``max_in_flight`` queries are out, newly arrived reads wait, and the next
    query fetches all of them at once (``id = ANY(…)``). At low load every read
    gets its own query at once; under load batches grow by themselves.

    Read-your-writes holds: a read's query starts after the read arrived, so it
    sees every write acknowledged before the client sent it. An outage is
    ``StoreUnavailable`` for every read of the batch, within ``timeout``.
    """

    def __init__(
        self,
        pool: AsyncConnectionPool,
        query: Composed,
        *,
        timeout: float,
        max_in_flight: int = 4,
        max_batch: int = 64,
    ) -> None:
        self._pool = pool
        self._query = query
        self._timeout = timeout
        self._max_in_flight = max_in_flight
        self._max_batch = max_batch
        self._waiting: list[tuple[UUID, asyncio.Future[Found]]] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        self._closing = False

    @classmethod
    async def open(
        cls,
        connect_kwargs: dict[str, object],
        query: Composed,
        *,
        max_size: int,
        timeout: float,
    ) -> PostgresDocumentReads:
        """A reader on a pool of its own (at most ``max_size`` connections)."""
        kwargs = {k: v for k, v in connect_kwargs.items() if k != "row_factory"}
        pool: AsyncConnectionPool = AsyncConnectionPool(
            kwargs={**kwargs, "autocommit": True},
            min_size=1,
            max_size=max_size,
            timeout=timeout,
            open=False,
        )
        await pool.open(wait=True, timeout=timeout)
        return cls(pool, query, timeout=timeout, max_in_flight=min(4, max_size))

    async def get(self, shipment_id: UUID) -> Found:
        future: asyncio.Future[Found] = asyncio.get_running_loop().create_future()
        self._waiting.append((shipment_id, future))
        if len(self._in_flight) < self._max_in_flight:
            self._start_query()
        return await future

    def _start_query(self) -> None:
        batch = self._waiting[: self._max_batch]
        del self._waiting[: self._max_batch]
        task = asyncio.create_task(self._answer(batch))
        self._in_flight.add(task)  # a reference, so the task is not collected mid-way

        def done(task: asyncio.Task[None]) -> None:
            # A task cancelled by ``close`` (perhaps before it ran) answered no one:
            # no read may wait for ever.
            _fail(batch, StoreUnavailable("the reader was closed"))
            self._query_done(task)

        task.add_done_callback(done)

    def _query_done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        if self._closing:
            return
        if self._waiting and len(self._in_flight) < self._max_in_flight:
            self._start_query()

    async def _answer(self, batch: list[tuple[UUID, asyncio.Future[Found]]]) -> None:
        try:
            found = await self._fetch([shipment_id for shipment_id, _ in batch])
        except Exception as error:  # noqa: BLE001 - handed to every read of the batch
            _fail(batch, error)
            return

        for shipment_id, future in batch:
            if not future.done():  # a read whose client went away is cancelled
                future.set_result(found.get(shipment_id))

    async def _fetch(self, shipment_ids: list[UUID]) -> dict[UUID, Found]:
        try:
            async with asyncio.timeout(self._timeout):
                try:
                    return await self._select(shipment_ids)
                except psycopg.OperationalError:
                    # The connection may have died since its last use (no pre-ping,
                    # as on the library's pool); the pool discards it. One retry on
                    # a fresh connection, as store_retries does for the sync path.
                    return await self._select(shipment_ids)
        except (psycopg.Error, PoolTimeout, TimeoutError) as error:
            raise StoreUnavailable(str(error)) from error

    async def _select(self, shipment_ids: list[UUID]) -> dict[UUID, Found]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(self._query, (shipment_ids,), prepare=True)
            rows = await cursor.fetchall()
        return {row[0]: (int(row[1]), bytes(row[2])) for row in rows}

    async def close(self) -> None:
        """Fail the reads still waiting or in flight (as an outage), then close the pool."""
        self._closing = True
        waiting, self._waiting = self._waiting, []
        _fail(waiting, StoreUnavailable("the reader was closed"))
        for task in list(self._in_flight):
            task.cancel()
        await self._pool.close()


def _fail(batch: list[tuple[UUID, asyncio.Future[Found]]], error: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)


class SQLiteDocumentReads:
    """Reads the view on the loop's own connection (see the module docstring)."""

    def __init__(self, path: str, query: str) -> None:
        # check_same_thread off: test clients may run the loop in another thread than
        # the one that opened it; only that loop uses it, one statement at a time.
        # uri=True as the library opens it, so ``file:…`` names mean the same file.
        self._connection = sqlite3.connect(
            path, uri=True, timeout=0, isolation_level=None, check_same_thread=False
        )
        self._query = query

    async def get(self, shipment_id: UUID) -> Found:
        try:
            row = self._connection.execute(self._query, (shipment_id.hex,)).fetchone()
        except sqlite3.Error as error:
            raise ReadDeferred(str(error)) from error
        return None if row is None else (int(row[0]), bytes(row[1]))

    async def close(self) -> None:
        self._connection.close()
