"""The webhook sender's kept-alive connections: idle ones per destination, a bound on all.

Idle connections are kept per destination (scheme, host, port), the most
recently used taken first (the least likely to have been closed by the
receiver). At most ``size`` connections are open in all, idle ones included,
so a deliverer holds a bounded number of sockets however many receivers it
has. A send that finds none idle for its destination opens one if under the
bound, else closes the longest-idle connection of another destination and opens
one, else waits for a connection to come back, within its attempt's time-out.
Waiting rather than opening past the bound: each subscription sends one message
at a time, so a send waits only while more than ``size`` subscriptions are mid-send
(the aiohttp connector the service used before waited the same way).

A connection idle for more than ``IDLE_SECONDS`` is closed rather than used:
a NAT or load balancer may have dropped it without a word, and a request on it
would wait the whole time-out. A connection the receiver closed while idle
leaves the pool as soon as the loop hears of it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable

from infrastructure.delivery.http_connection import HttpConnection

IDLE_SECONDS = 15.0  # aiohttp's keep-alive time-out


class ConnectionPool:
    """Hands out connections one exchange at a time and takes them back."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._open = 0  # connections counted against ``size``, idle or in use
        self._idle: dict[Hashable, list[HttpConnection]] = {}  # most recently used last
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False

    @property
    def open_connections(self) -> int:
        return self._open

    def idle(self, key: Hashable) -> HttpConnection | None:
        """A kept connection to ``key``, if there is one fit to use (no waiting, no I/O)."""
        stack = self._idle.get(key)
        while stack:
            connection = stack.pop()
            if connection.closed:  # the receiver's close is in, its end not yet reported
                self._discard(connection)
            elif connection.idle_since + IDLE_SECONDS < asyncio.get_running_loop().time():
                # Those below it have been idle longer still: none of them is used.
                self._discard(connection)
                for old in stack:
                    self._discard(old)
                stack.clear()
            else:
                return connection
        return None

    async def acquire(
        self,
        key: Hashable,
        connect: Callable[[], Awaitable[HttpConnection]],
        *,
        fresh: bool = False,
    ) -> HttpConnection:
        """A connection to ``key``: a kept one (unless ``fresh``), else one from ``connect``."""
        while True:
            if not fresh and (connection := self.idle(key)) is not None:
                return connection
            if self._open < self._size or self._evict_one():
                break
            await self._wait()
        self._open += 1
        try:
            connection = await connect()
        except BaseException:
            self._open -= 1
            self._wake()
            raise
        connection.pooled = True
        if connection.closed:  # lost before we counted it: the count goes back down
            self._discard(connection)
        return connection

    def release(self, connection: HttpConnection, reusable: bool) -> None:
        """Take a connection back after an exchange: kept if ``reusable`` and still open."""
        if reusable and not connection.closed and not self._closed:
            connection.idle_since = asyncio.get_running_loop().time()
            stack = self._idle.get(connection.key)
            if stack is None:
                stack = self._idle[connection.key] = []
            stack.append(connection)
            if self._waiters:
                self._wake()  # a send waiting for another destination may close it for a slot
        else:
            self._discard(connection)

    def lost(self, connection: HttpConnection) -> None:
        """The loop's word that a connection ended (``HttpConnection`` calls it)."""
        stack = self._idle.get(connection.key)
        if stack and connection in stack:
            stack.remove(connection)
        self._discard(connection)

    async def close(self) -> None:
        """Close every idle connection; those in use are closed when they come back."""
        self._closed = True
        for stack in self._idle.values():
            for connection in stack:
                self._discard(connection)
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports report their ends before the loop may stop

    def _discard(self, connection: HttpConnection) -> None:
        connection.abort()
        if connection.pooled:
            connection.pooled = False
            self._open -= 1
            self._wake()

    def _evict_one(self) -> bool:
        """Close the longest-idle connection there is, for a slot (False: none idle)."""
        oldest: list[HttpConnection] | None = None
        for stack in self._idle.values():
            if stack and (oldest is None or stack[0].idle_since < oldest[0].idle_since):
                oldest = stack
        if oldest is None:
            return False
        self._discard(oldest.pop(0))
        return True

    async def _wait(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._wake()  # woken, then timed out: the turn goes to the next
            raise

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
