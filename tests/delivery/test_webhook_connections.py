"""The webhook sender's connections: kept alive, reused, closed, retried, bounded; https.

Each test runs a small receiver written on asyncio's streams in the sender's own
loop, answering each request with bytes the test chooses (or closing without an
answer), and counting the connections it accepted and the requests on each.
Nothing depends on timing beyond generous time-outs.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest

from infrastructure.delivery import connection_pool
from infrastructure.delivery.sending import SendResult
from infrastructure.delivery.webhook_sender import EXCERPT_BYTES, WebhookSender
from tests.delivery.test_webhook_sender import SECRET_HEADERS, NamesOnLoopback

T = TypeVar("T")
NO_CONTENT = b"HTTP/1.1 204 No Content\r\n\r\n"

# The deliverer runs on uvloop where it is installed; the sender works on asyncio's loop too.
LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {"asyncio": asyncio.new_event_loop}
with suppress(ImportError):
    import uvloop

    LOOPS["uvloop"] = uvloop.new_event_loop


class Run(Protocol):
    def __call__(self, coroutine: Coroutine[Any, Any, T], /) -> T: ...


@pytest.fixture(params=sorted(LOOPS))
def run(request: pytest.FixtureRequest) -> Run:
    """Runs a test's scenario on each event loop there is."""
    new_loop = LOOPS[request.param]

    def run_on_loop(coroutine: Coroutine[Any, Any, T], /) -> T:
        with asyncio.Runner(loop_factory=new_loop) as runner:
            return runner.run(coroutine)

    return run_on_loop


@dataclass(frozen=True)
class Received:
    """One request as the receiver read it: on which connection, the how-many-th on it."""

    connection: int
    index: int  # 0 for a connection's first request
    head: bytes
    body: bytes


@dataclass(frozen=True)
class Reply:
    """What to write back, and whether to close the connection after it."""

    data: bytes
    close: bool = False


Script = Callable[[Received], Awaitable[Reply | None]]  # None: close without answering


@dataclass
class RawReceiver:
    """Answers each request as ``script`` says; counts connections and requests."""

    script: Script
    port: int = 0
    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    requests: list[Received] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = self.connections
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            index = 0
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return  # the sender closed it
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                received = Received(number, index, head, await reader.readexactly(length))
                self.requests.append(received)
                reply = await self.script(received)
                if reply is None:
                    return
                writer.write(reply.data)
                await writer.drain()
                if reply.close:
                    return
                index += 1
        except ConnectionError:
            return  # the sender cut the answer short
        finally:
            self.open_now -= 1
            writer.close()


@asynccontextmanager
async def receiving(
    script: Script, tls: ssl.SSLContext | None = None
) -> AsyncIterator[RawReceiver]:
    """A receiver listening until the block ends, then closed with every connection's task."""
    receiver = RawReceiver(script)
    tasks: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        await receiver.handle(reader, writer)

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.close()
        await server.wait_closed()
        # The sender has closed its connections by now: each task ends on its EOF.
        _, pending = await asyncio.wait(tasks, timeout=10) if tasks else (set(), set())
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def answering(*replies: Reply | None) -> Script:
    """The same reply, by the request's index on its connection (the last one after that)."""

    async def script(received: Received) -> Reply | None:
        return replies[min(received.index, len(replies) - 1)]

    return script


async def send_twice(receiver: RawReceiver, sender: WebhookSender) -> tuple[SendResult, SendResult]:
    url = f"http://127.0.0.1:{receiver.port}/hook"
    first = await sender.send(url, b"{}", dict(SECRET_HEADERS))
    second = await sender.send(url, b"{}", dict(SECRET_HEADERS))
    return first, second


def run_two_sends(run: Run, script: Script) -> tuple[SendResult, SendResult, RawReceiver]:
    async def scenario() -> tuple[SendResult, SendResult, RawReceiver]:
        async with receiving(script) as receiver:
            sender = WebhookSender(10.0, allow_private=True)
            try:
                first, second = await send_twice(receiver, sender)
            finally:
                await sender.close()
        return first, second, receiver

    return run(scenario())


def test_two_sends_share_one_kept_alive_connection(run: Run) -> None:
    first, second, receiver = run_two_sends(run, answering(Reply(NO_CONTENT)))

    assert first == second == SendResult(204, None)
    assert receiver.connections == 1
    assert [r.index for r in receiver.requests] == [0, 1]


def test_the_request_carries_the_host_type_length_agent_and_the_given_headers(run: Run) -> None:
    first, _, receiver = run_two_sends(run, answering(Reply(NO_CONTENT)))

    assert first == SendResult(204, None)
    head = receiver.requests[0].head.decode()
    lines = head.split("\r\n")
    assert lines[0] == "POST /hook HTTP/1.1"
    assert f"host: 127.0.0.1:{receiver.port}" in lines
    assert "content-type: application/json" in lines
    assert "content-length: 2" in lines
    assert "user-agent: shipments-webhooks/1" in lines
    for name, value in SECRET_HEADERS.items():
        assert f"{name}: {value}" in lines
    assert receiver.requests[0].body == b"{}"


def test_a_receiver_that_closes_an_idle_connection_is_sent_to_on_a_new_one(run: Run) -> None:
    # It answers as if keeping the connection, then closes it: the sender either hears
    # of the close first or finds the connection dead when it sends; either way it arrives.
    first, second, receiver = run_two_sends(run, answering(Reply(NO_CONTENT, close=True)))

    assert first == second == SendResult(204, None)
    assert receiver.connections == 2


def test_a_kept_connection_closed_as_the_request_crosses_it_is_retried_once_on_a_new_one(
    run: Run,
) -> None:
    # The second request on a connection is read, then the connection closed unanswered
    # (what a receiver's idle time-out racing our request looks like).
    first, second, receiver = run_two_sends(run, answering(Reply(NO_CONTENT), None))

    assert first == second == SendResult(204, None)
    assert [(r.connection, r.index) for r in receiver.requests] == [(0, 0), (0, 1), (1, 0)]


def test_a_new_connection_closed_without_an_answer_is_a_failure_and_not_retried(run: Run) -> None:
    async def scenario() -> tuple[SendResult, RawReceiver]:
        async with receiving(answering(None)) as receiver:
            sender = WebhookSender(10.0, allow_private=True)
            try:
                url = f"http://127.0.0.1:{receiver.port}/hook"
                result = await sender.send(url, b"{}", dict(SECRET_HEADERS))
            finally:
                await sender.close()
        return result, receiver

    result, receiver = run(scenario())

    assert result.status_code is None
    assert result.error is not None and result.error.startswith("ClosedBeforeAnswer: ")
    assert "v1," not in result.error
    assert len(receiver.requests) == 1


def test_an_answer_saying_connection_close_is_not_reused(run: Run) -> None:
    closing = b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok"
    first, second, receiver = run_two_sends(run, answering(Reply(closing)))

    assert first == second == SendResult(200, None)
    assert receiver.connections == 2


def test_a_short_failing_body_is_read_to_its_end_and_the_connection_reused(run: Run) -> None:
    failing = b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\n\r\nnope"
    first, second, receiver = run_two_sends(run, answering(Reply(failing)))

    assert first == second == SendResult(500, "HTTP 500: nope")
    assert receiver.connections == 1


def test_a_long_body_is_cut_at_the_excerpt_and_its_connection_not_reused(run: Run) -> None:
    size = 1_000_000  # far more than the excerpt: not read to its end
    long_answer = b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: %d\r\n\r\n" % size
    first, second, receiver = run_two_sends(run, answering(Reply(long_answer + b"x" * size)))

    assert first == second == SendResult(500, "HTTP 500: " + "x" * EXCERPT_BYTES)
    assert receiver.connections == 2


def test_a_chunked_answer_is_parsed_and_its_connection_reused(run: Run) -> None:
    chunked = (
        b"HTTP/1.1 400 Bad Request\r\ntransfer-encoding: chunked\r\n\r\n"
        b"5\r\nwrong\r\n6\r\n input\r\n0\r\n\r\n"
    )
    first, second, receiver = run_two_sends(run, answering(Reply(chunked)))

    assert first == second == SendResult(400, "HTTP 400: wrong input")
    assert receiver.connections == 1


def test_a_body_that_ends_with_the_connection_is_read_to_that_end(run: Run) -> None:
    until_closed = b"HTTP/1.1 503 Service Unavailable\r\n\r\nback soon"
    first, second, receiver = run_two_sends(run, answering(Reply(until_closed, close=True)))

    assert first == second == SendResult(503, "HTTP 503: back soon")
    assert receiver.connections == 2


def test_an_informational_answer_before_the_answer_is_skipped(run: Run) -> None:
    early_hints = b"HTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n"
    first, second, receiver = run_two_sends(run, answering(Reply(early_hints + NO_CONTENT)))

    assert first == second == SendResult(204, None)
    assert receiver.connections == 1


def test_a_connection_idle_too_long_is_not_reused(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection_pool, "IDLE_SECONDS", -1.0)  # every kept one too old

    first, second, receiver = run_two_sends(run, answering(Reply(NO_CONTENT)))

    assert first == second == SendResult(204, None)
    assert receiver.connections == 2


def test_a_name_is_looked_up_once_for_connections_opened_close_together(run: Run) -> None:
    class CountedNames(NamesOnLoopback):
        lookups = 0

        async def resolve(self, host: str, port: int) -> list[str]:
            self.lookups += 1
            return await super().resolve(host, port)

    closing = b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n"
    names = CountedNames()

    async def scenario() -> tuple[list[SendResult], RawReceiver]:
        async with receiving(answering(Reply(closing))) as receiver:
            sender = WebhookSender(10.0, allow_private=True, resolver=names)
            url = f"http://hooks.example.test:{receiver.port}/hook"
            try:
                results = [await sender.send(url, b"{}", dict(SECRET_HEADERS)) for _ in range(3)]
            finally:
                await sender.close()
        return results, receiver

    results, receiver = run(scenario())

    assert results == [SendResult(204, None)] * 3
    assert receiver.connections == 3
    assert names.lookups == 1  # kept for 10 s


def test_a_header_with_a_line_break_is_not_sent(run: Run) -> None:
    async def scenario() -> tuple[SendResult, RawReceiver]:
        async with receiving(answering(Reply(NO_CONTENT))) as receiver:
            sender = WebhookSender(10.0, allow_private=True)
            url = f"http://127.0.0.1:{receiver.port}/hook"
            headers = {**SECRET_HEADERS, "webhook-id": "msg_1\r\nx-injected: yes"}
            try:
                result = await sender.send(url, b"{}", headers)
            finally:
                await sender.close()
        return result, receiver

    result, receiver = run(scenario())

    assert result == SendResult(None, "ValueError: a header holds a line break")
    assert receiver.requests == []


def test_concurrent_sends_each_have_a_connection_and_never_more_than_the_pool(run: Run) -> None:
    pool_size = 5

    async def slow(_: Received) -> Reply:
        await asyncio.sleep(0.05)
        return Reply(NO_CONTENT)

    async def scenario() -> tuple[list[SendResult], RawReceiver]:
        async with receiving(slow) as receiver:
            sender = WebhookSender(30.0, allow_private=True, pool_size=pool_size)
            url = f"http://127.0.0.1:{receiver.port}/hook"
            try:
                results = await asyncio.gather(
                    *(sender.send(url, b"{}", dict(SECRET_HEADERS)) for _ in range(20))
                )
            finally:
                await sender.close()
        return list(results), receiver

    results, receiver = run(scenario())

    assert results == [SendResult(204, None)] * 20
    assert len(receiver.requests) == 20
    assert receiver.connections <= pool_size
    assert receiver.most_open <= pool_size


def test_a_full_pool_closes_an_idle_connection_to_reach_another_receiver(run: Run) -> None:
    async def scenario() -> tuple[list[SendResult], RawReceiver, RawReceiver]:
        async with (
            receiving(answering(Reply(NO_CONTENT))) as one,
            receiving(answering(Reply(NO_CONTENT))) as other,
        ):
            sender = WebhookSender(10.0, allow_private=True, pool_size=1)
            results = []
            try:
                for receiver in (one, other, one):
                    url = f"http://127.0.0.1:{receiver.port}/hook"
                    results.append(await sender.send(url, b"{}", dict(SECRET_HEADERS)))
            finally:
                await sender.close()
        return results, one, other

    results, one, other = run(scenario())

    assert results == [SendResult(204, None)] * 3
    assert (one.connections, other.connections) == (2, 1)  # one's first closed for other's


def test_https_is_sent_to_a_checked_address_under_the_certificate_of_the_name(
    run: Run,
    tmp_path: Path,
) -> None:
    server_tls, client_tls = tls_contexts(tmp_path, "hooks.example.test")

    async def scenario() -> tuple[SendResult, SendResult, SendResult, RawReceiver]:
        asyncio.get_running_loop().set_exception_handler(quiet_about_refused_handshakes)
        async with receiving(answering(Reply(NO_CONTENT)), tls=server_tls) as receiver:
            url = f"https://hooks.example.test:{receiver.port}/hook?kind=shipment"
            sender = WebhookSender(
                10.0, allow_private=True, resolver=NamesOnLoopback(), tls_context=client_tls
            )
            untrusting = WebhookSender(10.0, allow_private=True, resolver=NamesOnLoopback())
            try:
                first = await sender.send(url, b"{}", dict(SECRET_HEADERS))
                second = await sender.send(url, b"{}", dict(SECRET_HEADERS))
                refused = await untrusting.send(url, b"{}", dict(SECRET_HEADERS))
            finally:
                await sender.close()
                await untrusting.close()
        return first, second, refused, receiver

    first, second, refused, receiver = run(scenario())

    assert first == second == SendResult(204, None)
    assert receiver.connections == 1  # kept for both (the refused handshake never reached it)
    head = receiver.requests[0].head.decode()
    assert head.startswith("POST /hook?kind=shipment HTTP/1.1\r\n")
    assert f"host: hooks.example.test:{receiver.port}\r\n" in head
    assert refused.status_code is None
    assert refused.error is not None and "CERTIFICATE_VERIFY_FAILED" in refused.error


def quiet_about_refused_handshakes(
    loop: asyncio.AbstractEventLoop, context: dict[str, Any]
) -> None:
    """The receiver's loop need not log the handshake the untrusting sender broke off."""
    if not isinstance(context.get("exception"), ssl.SSLError | ConnectionResetError):
        loop.default_exception_handler(context)


def tls_contexts(directory: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for ``name`` and a client trusting only its CA.

    Made with ``cryptography`` (a runtime dependency); ``trustme`` is not installed.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test webhooks CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "server.pem").write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    (directory / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(directory / "server.pem", directory / "server.key")
    client = ssl.create_default_context(cafile=str(directory / "ca.pem"))
    return server, client
