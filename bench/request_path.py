"""Micro-benchmark without sockets: the CPU one request costs the app, GET and PATCH.

The app is called in-process as an ASGI server calls it (one request at a time,
on the app's own event loop), so the figure is the request path itself — the
middleware stack, the request pipeline, the doors or the routes, the use case,
the committer, the store — without the server's parsing or the network, and
with little of the machine's noise: CPU time, not wall time, the median of
``--repeat`` rounds. GET reads one shipment; PATCH sends ``If-Match: *`` with
a weight that alternates, so every PATCH appends. The access log is written as
in service (to a sink, not a terminal). Never asserts on timing.

Run in two checkouts to compare them: ``python -m bench.request_path``
(``--store postgres`` for PostgreSQL in a fresh schema).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from starlette.testclient import TestClient

from api.http.app import create_app
from bench.proc_stat import CLOCK_TICKS_PER_S, parse_process_stat
from bench.servers import bench_master_key
from bench.stores import fresh_store, postgres_problem
from infrastructure.settings import Settings

Message = dict[str, Any]
ASGIApp = Callable[[dict[str, Any], Callable[[], Awaitable[Message]], Any], Awaitable[None]]

GET_HEADERS = [(b"host", b"bench"), (b"accept", b"application/json")]
PATCH_HEADERS = [
    (b"host", b"bench"),
    (b"content-type", b"application/merge-patch+json"),
    (b"if-match", b"*"),
]


async def _call(app: ASGIApp, method: str, path: str, body: bytes, headers: list[Any]) -> int:
    """One request through the app, as a server hands it over; its status."""
    status = 0
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays: nothing more to read
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
    await app(scope, receive, send)
    return status


async def _round(app: ASGIApp, method: str, path: str, count: int) -> None:
    for sent in range(count):
        if method == "GET":
            status = await _call(app, "GET", path, b"", GET_HEADERS)
        else:
            body = b'{"weightLbs": %d}' % (1000 + sent % 2)
            status = await _call(app, "PATCH", path, body, PATCH_HEADERS)
        if status != 200:
            raise AssertionError(f"{method} answered {status}")


def thread_cpu_seconds() -> dict[str, float]:
    """CPU seconds of each live thread of this process so far, by thread name.

    From ``/proc/self/task`` (Linux): what the request path costs in the threads
    behind it (the committer, the log follower, the projection runner…), which the
    process total hides. Pools' threads are added up under their common prefix.
    """
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    seconds: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            times = parse_process_stat((task / "stat").read_text())
        except OSError:
            continue  # the thread ended meanwhile
        name = names.get(int(task.name), "other")
        name = re.sub(r"[-_]\d+$|-[0-9a-f]{8,}$", "", name)
        seconds[name] = seconds.get(name, 0.0) + times.own_ticks / CLOCK_TICKS_PER_S
    return seconds


def measure(
    url: str, gets: int, patches: int, repeat: int, by_thread: dict[str, float] | None = None
) -> dict[str, list[float]]:
    """CPU µs per request of each round, by method (and per PATCH by thread, if asked)."""
    app = create_app(Settings(database_url=url, master_key=SecretStr(bench_master_key(url))))
    rounds: dict[str, list[float]] = {"GET": [], "PATCH": []}
    # The access log is written as in service, to a sink that costs no terminal.
    with (
        open(os.devnull, "w") as sink,
        contextlib.redirect_stderr(sink),
        TestClient(app) as client,
    ):
        created = client.post("/v1/shipments", json={"shipmentType": "UHAUL"})
        path = f"/v1/shipments/{created.json()['id']}"
        portal = client.portal  # the app's own event loop, which the client started
        assert portal is not None
        for _ in range(repeat):
            for method, count in (("GET", gets), ("PATCH", patches)):
                threads_before = thread_cpu_seconds()
                started = time.process_time()
                portal.call(_round, app, method, path, count)
                rounds[method].append((time.process_time() - started) / count * 1e6)
                if by_thread is not None and method == "PATCH":
                    time.sleep(0.3)  # what the PATCHes left to the follower threads
                    for name, spent in thread_cpu_seconds().items():
                        used = (spent - threads_before.get(name, 0.0)) / count * 1e6 / repeat
                        by_thread[name] = by_thread.get(name, 0.0) + used
    return rounds


def main(argv: list[str] | None = None) -> int:
    """Command line: the CPU per GET and per PATCH of the request path."""
    parser = argparse.ArgumentParser(prog="python -m bench.request_path", description=__doc__)
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--gets", type=int, default=3000, help="GETs per round")
    parser.add_argument("--patches", type=int, default=600, help="PATCHes per round")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the median is quoted")
    parser.add_argument(
        "--by-thread", action="store_true", help="also the CPU per PATCH of each thread (Linux)"
    )
    arguments = parser.parse_args(argv)
    if arguments.store == "postgres" and (problem := postgres_problem()) is not None:
        print(f"request path: skipping postgres: {problem}")
        return 1
    with (
        tempfile.TemporaryDirectory(prefix="bench-path-") as directory,
        fresh_store(arguments.store, Path(directory), "path") as url,
    ):
        by_thread: dict[str, float] | None = {} if arguments.by_thread else None
        rounds = measure(url, arguments.gets, arguments.patches, arguments.repeat, by_thread)
    for method, values in rounds.items():
        each = ", ".join(f"{value:.0f}" for value in values)
        print(
            f"request path: {arguments.store:8} {method:5} CPU per request: median "
            f"{statistics.median(values):5.0f} µs (rounds: {each})"
        )
    for name, spent in sorted((by_thread or {}).items(), key=lambda item: -item[1]):
        if spent >= 5:
            print(f"request path: {arguments.store:8} PATCH CPU in thread {name}: {spent:5.0f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
