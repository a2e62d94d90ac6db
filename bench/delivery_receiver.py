"""The delivery benchmark's receivers: a process of their own, as real receivers would be.

    python -m bench.delivery_receiver [--nats nats://127.0.0.1:4222]

One aiohttp server answers 204 to a ``POST`` on any path (a path per
subscription) and records the arrival time of each (path, position); with
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
from typing import Any

import orjson
from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SAMPLE_EVERY = 25  # every 25th arrival of a path is kept whole and verified
CONTROL = "/control/"


@dataclass
class Records:
    """Arrivals (path, position, arrived, recorded) and the sample kept to verify."""

    arrivals: list[tuple[str, int, float, float]] = field(default_factory=list)
    samples: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)
    per_path: dict[str, int] = field(default_factory=dict)
    secrets: dict[str, list[str]] = field(default_factory=dict)

    def add(self, path: str, body: bytes, headers: dict[str, str]) -> None:
        arrived = time.time()
        data: dict[str, Any] = orjson.loads(body)["data"]
        recorded = datetime.fromisoformat(data["recordedAt"].replace("Z", "+00:00")).timestamp()
        self.arrivals.append((path, int(data["position"]), arrived, recorded))
        seen = self.per_path.get(path, 0)
        self.per_path[path] = seen + 1
        if seen % SAMPLE_EVERY == 0:
            self.samples.append((path, body, headers))

    def take(self, prefix: str) -> dict[str, Any]:
        """The arrivals under ``prefix`` and how many of their sample verified; removed."""
        taken = [arrival for arrival in self.arrivals if arrival[0].startswith(prefix)]
        self.arrivals = [arrival for arrival in self.arrivals if not arrival[0].startswith(prefix)]
        sample = [kept for kept in self.samples if kept[0].startswith(prefix)]
        self.samples = [kept for kept in self.samples if not kept[0].startswith(prefix)]
        verified = sum(1 for path, body, headers in sample if self._verifies(path, body, headers))
        return {"arrivals": taken, "sampled": len(sample), "verified": verified}

    def _verifies(self, path: str, body: bytes, headers: dict[str, str]) -> bool:
        for secret in self.secrets.get(path, []):
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            return True
        return False


def application(records: Records) -> web.Application:
    """Every ``POST`` outside ``/control/`` is a delivery: recorded, answered 204."""

    async def receive(request: web.Request) -> web.StreamResponse:
        path = request.path
        if not path.startswith(CONTROL):
            records.add(
                path, await request.read(), {k.lower(): v for k, v in request.headers.items()}
            )
            return web.Response(status=204)
        prefix = request.query.get("prefix", "")
        if path == CONTROL + "secrets":
            records.secrets.update(orjson.loads(await request.read()))
            return web.Response(status=204)
        if path == CONTROL + "count":
            count = sum(1 for arrival in records.arrivals if arrival[0].startswith(prefix))
            return web.Response(body=orjson.dumps(count))
        if path == CONTROL + "take":
            return web.Response(body=orjson.dumps(records.take(prefix)))
        return web.Response(status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receive)
    return app


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
    runner = web.AppRunner(application(records), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = runner.addresses[0][1]
    print(f"READY {port} {subject_prefix if handle else '-'}", flush=True)
    try:
        # Ends when the benchmark closes our stdin (or is gone).
        reader = asyncio.StreamReader()
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        await reader.read()
    finally:
        if handle is not None:
            await stop_nats(handle)
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nats", default=None, help="a NATS URL: consume a bench stream")
    arguments = parser.parse_args()
    asyncio.run(serve(arguments.nats))


if __name__ == "__main__":
    main()
