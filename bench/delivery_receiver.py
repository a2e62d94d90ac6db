"""The delivery benchmark's receivers: a process of their own, as real receivers would be.

    python -m bench.delivery_receiver [--nats nats://127.0.0.1:4222]

One small HTTP/1.1 server (``httptools`` on uvloop) answers 204 to a ``POST``
on any path (a path per subscription) and records the arrival time of each (path, position); with
``--nats`` it also creates a JetStream stream for ``bench.delivery.<id>.>`` and
consumes it (subject ``….<tag>`` recorded as path ``/<tag>/nats``), deleting the
stream when it ends. Receivers in the service's own process would take its GIL
and CPU, which real receivers on other machines never do.

The benchmark drives it over HTTP on the same port: ``POST /control/secrets``
(``{path: [secrets]}``, to verify with), ``GET /control/count?prefix=`` and
``POST /control/take?prefix=`` (the records under that prefix, removed; a sample
of their signatures verified with the ``standardwebhooks`` library, after the
timed part). It prints ``READY <port> <subject prefix>`` once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import httptools
import orjson
import uvloop
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SAMPLE_EVERY = 25  # every 25th arrival of a path is kept whole and verified
CONTROL = "/control/"
STATUS_TEXT = {200: "OK", 204: "No Content", 400: "Bad Request", 404: "Not Found"}


@dataclass
class Records:
    """Arrivals (path, body, arrived), the sample kept to verify, counts by tag.

    A delivery's body is parsed only when taken, after the timed part: real
    receivers run on other machines, so what this one spends while deliveries
    arrive is taken from the service it measures. For the same reason ``count``
    (asked every 50 ms while the benchmark waits) reads counts kept by tag, not
    every arrival.
    """

    arrivals: list[tuple[str, bytes, float]] = field(default_factory=list)
    samples: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)
    per_path: dict[str, int] = field(default_factory=dict)
    per_tag: dict[str, int] = field(default_factory=dict)  # "/<tag>/": arrivals kept
    secrets: dict[str, list[str]] = field(default_factory=dict)

    def add(self, path: str, body: bytes, headers: dict[str, str]) -> None:
        self.arrivals.append((path, body, time.time()))
        tag = tag_of(path)
        self.per_tag[tag] = self.per_tag.get(tag, 0) + 1
        seen = self.per_path.get(path, 0)
        self.per_path[path] = seen + 1
        if seen % SAMPLE_EVERY == 0:
            self.samples.append((path, body, headers))

    def count(self, prefix: str) -> int:
        """How many arrivals under ``prefix`` (a ``/<tag>/``, or "" for all) are kept."""
        return sum(count for tag, count in self.per_tag.items() if tag.startswith(prefix))

    def take(self, prefix: str) -> dict[str, Any]:
        """The arrivals under ``prefix`` (path, position, arrived, recorded) and how many
        of their sample verified; removed."""
        taken = [arrival for arrival in self.arrivals if arrival[0].startswith(prefix)]
        self.arrivals = [arrival for arrival in self.arrivals if not arrival[0].startswith(prefix)]
        for tag in [tag for tag in self.per_tag if tag.startswith(prefix)]:
            del self.per_tag[tag]
        sample = [kept for kept in self.samples if kept[0].startswith(prefix)]
        self.samples = [kept for kept in self.samples if not kept[0].startswith(prefix)]
        verified = sum(1 for path, body, headers in sample if self._verifies(path, body, headers))
        return {
            "arrivals": [parsed(path, body, arrived) for path, body, arrived in taken],
            "sampled": len(sample),
            "verified": verified,
        }

    def _verifies(self, path: str, body: bytes, headers: dict[str, str]) -> bool:
        for secret in self.secrets.get(path, []):
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            return True
        return False


def tag_of(path: str) -> str:
    """``/r1-lag/hook/3`` → ``/r1-lag/``: what the benchmark counts and takes by."""
    end = path.find("/", 1)
    return path if end < 0 else path[: end + 1]


def parsed(path: str, body: bytes, arrived: float) -> tuple[str, int, float, float]:
    """An arrival as the benchmark judges it: its path, position, arrival and recording."""
    data: dict[str, Any] = orjson.loads(body)["data"]
    recorded = datetime.fromisoformat(data["recordedAt"].replace("Z", "+00:00")).timestamp()
    return path, int(data["position"]), arrived, recorded


class Receiving(asyncio.Protocol):
    """One connection: HTTP/1.1 keep-alive requests parsed by ``httptools``, answered in order.

    Not aiohttp's server: at thousands of deliveries a second it spent about as much
    CPU as the whole deliverer on the same 2 cores, which real receivers, on other
    machines, never take from the service. Every ``POST`` outside ``/control/`` is a
    delivery: recorded, answered 204.
    """

    def __init__(self, records: Records) -> None:
        self._records = records
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self._answer(400, b"")
            if self._transport is not None:
                self._transport.close()

    def on_message_begin(self) -> None:
        self._url, self._headers, self._body = b"", {}, []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        target = urlsplit(self._url.decode("latin-1"))
        body = b"".join(self._body)
        if not target.path.startswith(CONTROL):
            self._records.add(target.path, body, self._headers)
            self._answer(204, b"")
            return
        prefix = parse_qs(target.query).get("prefix", [""])[0]
        what = target.path.removeprefix(CONTROL)
        if what == "secrets":
            self._records.secrets.update(orjson.loads(body))
            self._answer(204, b"")
        elif what == "count":
            self._answer(200, orjson.dumps(self._records.count(prefix)))
        elif what == "take":
            self._answer(200, orjson.dumps(self._records.take(prefix)))
        else:
            self._answer(404, b"")

    def _answer(self, status: int, body: bytes) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        head = f"HTTP/1.1 {status} {STATUS_TEXT.get(status, 'OK')}\r\ncontent-length: {len(body)}"
        self._transport.write(head.encode() + b"\r\n\r\n" + body)
        if not self._parser.should_keep_alive():
            self._transport.close()


async def consume_nats(url: str, subject_prefix: str, records: Records) -> Any:
    """A stream for the bench's subjects, consumed; returns what ``stop_nats`` ends."""
    import nats

    connection = await nats.connect(servers=[url])
    stream = connection.jetstream()
    name = subject_prefix.replace(".", "_")
    await stream.add_stream(name=name, subjects=[subject_prefix + ".>"])

    async def arrived(message: Any) -> None:
        tag = message.subject.removeprefix(subject_prefix + ".")
        records.add(f"/{tag}/nats", message.data, dict(message.headers or {}))
        await message.ack()

    await stream.subscribe(subject_prefix + ".>", cb=arrived, manual_ack=True)
    return connection, stream, name


async def stop_nats(handle: Any) -> None:
    connection, stream, name = handle
    with contextlib.suppress(Exception):  # the stream is throw-away: best effort
        await stream.delete_stream(name)
    await connection.close()


async def serve(nats_url: str | None) -> None:
    records = Records()
    subject_prefix = f"bench.delivery.{uuid.uuid4().hex[:12]}"
    handle = None if nats_url is None else await consume_nats(nats_url, subject_prefix, records)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Receiving(records), "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(f"READY {port} {subject_prefix if handle else '-'}", flush=True)
    try:
        # Ends when the benchmark closes our stdin (or is gone).
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        await reader.read()
    finally:
        if handle is not None:
            await stop_nats(handle)
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nats", default=None, help="a NATS URL: consume a bench stream")
    arguments = parser.parse_args()
    uvloop.run(serve(arguments.nats))


if __name__ == "__main__":
    main()
