"""Webhook deliveries: one signed ``POST`` per message, nothing followed, little kept.

Redirects are not followed (a 3xx is a failure: a receiver that moved must be
re-subscribed, and following would let a public URL point us at a private one);
of an answer at most ``EXCERPT_BYTES`` are read. Unless private addresses are
allowed, a host's addresses are checked when a connection is opened
(``checked_resolver``) and the connection is made to a checked address itself,
so what was checked is what is connected to.

A client of our own (``http_connection``: an ``asyncio.Protocol`` and httptools'
C parser; ``connection_pool``: kept-alive connections) rather than aiohttp's,
for the CPU: one sequential ``POST`` over a kept-alive connection to a local
receiver cost 109 µs of client CPU with aiohttp on uvloop and 33 µs with a
bare Protocol and httptools on this project's 2-core machine. A deliverer sends
about 5,500 a second on one event loop, where the difference is ~0.4 of a core.
Through ``WebhookSender.send`` itself (10,000 sequential sends on uvloop to a
local receiver answering 204) the aiohttp sender cost ~108 µs and this one ~36 µs.
What aiohttp did that is not needed here is not done: no cookies, proxies,
redirects, decompression, or reading of whole bodies. (httpx, before aiohttp,
cost ~2.3 ms per ``POST``.)

Each send has its own connection from the pool for its exchange (several
subscriptions send at once on one loop); the whole attempt, from finding a
connection to the answer's status, is bounded by the time-out.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from functools import lru_cache, partial
from urllib.parse import quote, urlsplit

import httptools

from infrastructure.delivery.checked_resolver import CheckedResolver, Resolver
from infrastructure.delivery.connection_pool import ConnectionPool
from infrastructure.delivery.destinations import RefusedDestination
from infrastructure.delivery.http_connection import Answer, ClosedBeforeAnswer, HttpConnection
from infrastructure.delivery.sending import Completion, SendResult

EXCERPT_BYTES = 200
POOL_SIZE = 100
USER_AGENT = "shipments-webhooks/1"
TIMED_OUT = "the receiver did not answer in time"
DEFAULT_PORTS = {"http": 80, "https": 443}
PATH_SAFE = "/%:@!$&'()*+,;=~"  # what a path may hold as it is (RFC 3986); the rest escaped


class WebhookSender:
    """POSTs messages over one shared, bounded pool of keep-alive connections.

    One message of a subscription at a time (``window`` 1): a receiver cannot
    refuse a message that overtook its predecessor, so none is sent before the
    one before it was answered.
    """

    def __init__(
        self,
        timeout_seconds: float,
        *,
        allow_private: bool,
        resolver: Resolver | None = None,  # the tests' own names
        pool_size: int = POOL_SIZE,
        tls_context: ssl.SSLContext | None = None,  # the tests' own certificate authority
    ) -> None:
        self._timeout = timeout_seconds
        self._resolver = CheckedResolver(resolver, allow_private=allow_private)
        self._pool_size = pool_size
        self._pool = ConnectionPool(pool_size)
        self._tls = tls_context  # else the system's, made on the first https send

    async def send(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        try:
            target = _target(url)
            answer = await self._answer(target, _request(target, body, headers))
        except RefusedDestination as refused:
            return SendResult(None, f"refused: {refused}")
        except TimeoutError:
            return SendResult(None, TIMED_OUT)
        except (
            OSError,  # refused, reset, closed, TLS
            ValueError,  # a URL or header we cannot send
            httptools.HttpParserError,
            httptools.HttpParserUpgrade,
        ) as error:
            # The exception's text names the host or URL at most; never headers (signatures).
            return SendResult(None, f"{type(error).__name__}: {error}"[:300])
        status = answer.status
        if 200 <= status < 300:
            return SendResult(status, None)
        text = answer.excerpt.decode("utf-8", errors="replace")
        return SendResult(status, f"HTTP {status}: {text}")

    def window(self, url: str) -> int:
        return 1

    async def send_ahead(
        self, url: str, body: bytes, headers: dict[str, str], *, follows: str | None
    ) -> Completion:
        """Sent when awaited: with a window of 1 that is after the one before was answered."""
        return partial(self.send, url, body, headers)

    async def close(self) -> None:
        """Close the kept connections; a later send opens new ones."""
        pool, self._pool = self._pool, ConnectionPool(self._pool_size)
        await pool.close()

    async def _answer(self, target: Target, request: bytes) -> Answer:
        pool = self._pool
        deadline = asyncio.get_running_loop().time() + self._timeout
        connection = pool.idle(target.key)
        if connection is not None:
            try:
                return await _exchange(pool, connection, request, deadline)
            except ClosedBeforeAnswer:
                # The receiver closed the kept connection while it was idle (its close
                # crossed our request): sent again, once, on a new connection. The first
                # may have been read before the close, so this can deliver twice; that is
                # safe, deliveries being at least once and receivers deduping by webhook-id.
                pass
        async with asyncio.timeout_at(deadline):
            connection = await pool.acquire(
                target.key, partial(self._connect, pool, target), fresh=connection is not None
            )
        return await _exchange(pool, connection, request, deadline)

    async def _connect(self, pool: ConnectionPool, target: Target) -> HttpConnection:
        """A new connection to one of the target's (checked) addresses, tried in turn."""
        loop = asyncio.get_running_loop()
        addresses = await self._resolver.resolve(target.host, target.port)
        tls = self._tls_context() if target.tls else None
        protocol = partial(HttpConnection, target.key, EXCERPT_BYTES, pool.lost)
        failure: OSError = OSError(f"the host {target.host!r} has no address")
        for address in addresses:
            try:
                _, connection = await loop.create_connection(
                    protocol,
                    address,  # the checked address itself: nothing resolves the name again
                    target.port,
                    ssl=tls,
                    server_hostname=target.host if tls is not None else None,
                )
            except OSError as error:
                failure = error
                continue
            return connection
        raise failure

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()  # certificates and host names verified
        return self._tls


async def _exchange(
    pool: ConnectionPool, connection: HttpConnection, request: bytes, deadline: float
) -> Answer:
    """One exchange on ``connection``, which goes back to the pool kept or closed."""
    try:
        answer = await connection.exchange(request, deadline)
    except BaseException:
        pool.release(connection, reusable=False)
        raise
    pool.release(connection, answer.reusable)
    return answer


@dataclass(frozen=True, slots=True)
class Target:
    """A subscription's URL as the sender needs it, and the constant start of its requests."""

    key: tuple[str, str, int]  # scheme, host, port: the pool's destination
    host: str
    port: int
    tls: bool
    head: bytes  # request line and the headers every message to it has


@lru_cache(maxsize=4096)
def _target(url: str) -> Target:
    """A URL parsed, and its request head written, once rather than per message."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError("only http and https URLs are sent to by this sender")
    if not parts.hostname:
        raise ValueError("the URL names no host")
    host = parts.hostname.encode("idna").decode("ascii")
    port = parts.port or DEFAULT_PORTS[scheme]
    path = quote(parts.path or "/", safe=PATH_SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=PATH_SAFE + "?")
    authority = f"[{host}]" if ":" in host else host
    if port != DEFAULT_PORTS[scheme]:
        authority += f":{port}"
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"host: {authority}\r\n"
        f"user-agent: {USER_AGENT}\r\n"
        "content-type: application/json\r\n"
    ).encode("ascii")
    return Target((scheme, host, port), host, port, scheme == "https", head)


def _request(target: Target, body: bytes, headers: dict[str, str]) -> bytes:
    """The whole request: the target's head, this message's headers and length, the body."""
    lines = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
    if lines.count("\n") != len(headers) or lines.count("\r") != len(headers):
        raise ValueError("a header holds a line break")  # would let it write headers of its own
    return b"".join(
        (target.head, lines.encode("latin-1"), b"content-length: %d\r\n\r\n" % len(body), body)
    )
