"""One HTTP/1.1 connection of the webhook sender: a request written, its answer parsed as it comes.

An ``asyncio.Protocol`` fed straight into httptools' C parser (llhttp, what
uvicorn parses requests with) rather than streams: the socket's bytes go to the
parser in the loop's callback, and the parser's callbacks resolve one future per
exchange, so there is no reader task and nothing of the answer is buffered but
an excerpt. Only the callbacks needed are defined: httptools calls no Python
code for the others (not one call per header). The time-out is a timer handle
on the loop that fails the exchange and aborts the connection, cancelled when
the answer comes (``asyncio.wait_for`` would add a task per exchange).

The status is the receiver's verdict; the body only an excerpt for a person to
read. So a body longer than the excerpt is not waited for (the connection is
closed instead), and an answer whose connection ends partway through its body
keeps its status.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import NamedTuple, cast

import httptools


class Answer(NamedTuple):
    """A receiver's answer: its status, the start of its body, and whether to keep the line."""

    status: int
    excerpt: bytes
    reusable: bool  # read to its end, and the receiver keeps the connection open


class ClosedBeforeAnswer(ConnectionError):
    """The connection ended before any byte of an answer came back.

    On a connection kept from an earlier exchange this is usually the receiver
    having closed it while it was idle, which the sender retries once.
    """


class IncompleteAnswer(ConnectionError):
    """The connection ended partway through an answer's head."""


class HttpConnection(asyncio.Protocol):
    """One connection; one exchange at a time (``exchange``), then idle in the pool or closed."""

    def __init__(
        self, key: Hashable, excerpt_bytes: int, lost: Callable[[HttpConnection], None]
    ) -> None:
        self.key = key  # the destination (scheme, host, port) the pool keeps it under
        self.closed = False  # ended, ending, or not to be used again
        self.pooled = False  # counted among the pool's open connections
        self.idle_since = 0.0  # loop time when last put back in the pool
        self._loop = asyncio.get_running_loop()
        self._excerpt_bytes = excerpt_bytes
        self._lost = lost
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._answer: asyncio.Future[Answer] | None = None  # the exchange under way
        self._body = b""
        self._received = False  # any byte of this exchange's answer
        self._head_done = False  # this exchange's status and headers parsed

    async def exchange(self, request: bytes, deadline: float) -> Answer:
        """Write ``request`` and wait for its answer until ``deadline`` (loop time).

        ``TimeoutError`` past the deadline (the connection aborted),
        ``ClosedBeforeAnswer`` if the connection ended with no byte of answer.
        """
        transport = self._transport
        if self.closed or transport is None:
            raise ClosedBeforeAnswer("the connection was closed before the request was sent")
        answer: asyncio.Future[Answer] = self._loop.create_future()
        self._answer = answer
        self._body = b""
        self._received = self._head_done = False
        timer = self._loop.call_at(deadline, self._time_out)
        transport.write(request)
        try:
            return await answer
        finally:
            timer.cancel()
            self._answer = None

    def abort(self) -> None:
        """Close at once, dropping whatever is unsent or unread (``connection_lost`` follows)."""
        self.closed = True
        if self._transport is not None:
            self._transport.abort()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        answer = self._answer
        if answer is None or answer.done():
            # Bytes nobody asked for (or the rest of a cut body): not a line to send on again.
            self.abort()
            return
        self._received = True
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as error:
            self._fail(error)
            return
        if len(self._body) >= self._excerpt_bytes and not answer.done():
            self._finish(reusable=False)  # a long body: the excerpt is in, the rest not waited for

    def eof_received(self) -> None:
        """The receiver closed its side; the transport closes (``connection_lost`` follows)."""
        self.closed = True

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        answer = self._answer
        if answer is not None and not answer.done():
            if self._head_done:  # a body that ends with the connection (or was cut short)
                self._finish(reusable=False)
            elif not self._received:
                reason = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
                answer.set_exception(
                    ClosedBeforeAnswer(
                        f"the receiver closed the connection without answering{reason}"
                    )
                )
            else:
                answer.set_exception(
                    IncompleteAnswer("the connection ended within the answer's head")
                )
        self._lost(self)

    # httptools.HttpResponseParser's callbacks

    def on_headers_complete(self) -> None:
        self._head_done = True

    def on_body(self, body: bytes) -> None:
        room = self._excerpt_bytes - len(self._body)
        if room > 0:
            self._body += body[:room]

    def on_message_complete(self) -> None:
        if 100 <= self._parser.get_status_code() < 200:
            self._head_done = False  # informational (e.g. 103): the answer follows
            self._body = b""
            return
        self._finish(self._parser.should_keep_alive())

    # the exchange's end

    def _finish(self, reusable: bool) -> None:
        answer = self._answer
        if answer is not None and not answer.done():
            answer.set_result(Answer(self._parser.get_status_code(), self._body, reusable))

    def _fail(self, error: BaseException) -> None:
        answer = self._answer
        if answer is not None and not answer.done():
            answer.set_exception(error)
        self.abort()

    def _time_out(self) -> None:
        self._fail(TimeoutError())
