"""Idle SSE streams: what a thousand open dashboards cost while nothing is written, and how
fast a write reaches all of them.

    python -m bench.idle_streams --connections 1000 --idle-seconds 20 --writes 20 --runs 3

Per run: a fresh PostgreSQL *database* (so its statistics count this server's
work and nobody else's), the service started as a user starts it (``shipments
serve``, one worker), ``--connections`` clients on ``/v1/events/stream`` from this
process (raw asyncio sockets: the client must cost less than what it measures).

* **Idle:** the statements the service sent over ``--idle-seconds`` with every
  stream open and nothing written, counted in PostgreSQL's own log: the run's
  database logs every statement (``log_statement = all``), and the lines of that
  database between two marker statements are counted (the database's transaction
  counters would count autovacuum's work on the new tables too). The server's CPU
  over the same window; its RSS with every stream open. Reading the log needs
  this machine's PostgreSQL (the log file readable here); elsewhere it says so.
* **Fan-out:** ``--writes`` creates, one every ``--write-gap`` seconds; each
  stream's arrival time of each event minus the event's ``recordedAt`` (taken
  just before its commit). p50, p99 and max over every (stream, event) pair, and
  whether every stream got every event once, in order.

Then the median of the runs. It prints figures and never passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import orjson
import psycopg

from bench.memory import rss_kib
from bench.proc_stat import CLOCK_TICKS_PER_S, descendants, read_processes, tree_ticks
from bench.servers import running_server
from bench.stores import POSTGRES_ADMIN_URL, postgres_problem

# Streams open and the server settles (the follower starts) before the window opens.
SETTLE_SECONDS = 3.0


@dataclass
class Stream:
    """One open stream: the positions it received and when."""

    arrivals: list[tuple[int, float, float]] = field(default_factory=list)  # (id, at, lag)


@contextlib.contextmanager
def fresh_database(admin_url: str) -> Iterator[tuple[str, str]]:
    """A new, empty database (URL, name), dropped afterwards."""
    name = f"bench_idle_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}", name
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_cpu_seconds(pid: int) -> float:
    """CPU of the server process and its children so far."""
    return tree_ticks(read_processes(), [pid]) / CLOCK_TICKS_PER_S


def server_rss_bytes(pid: int) -> int:
    """Resident memory of the server process and its children now."""
    return 1024 * sum(rss_kib(member) or 0 for member in descendants(read_processes(), [pid]))


class StatementLog:
    """The statements one database's sessions send, counted in PostgreSQL's log."""

    def __init__(self, admin_url: str, database_url: str, database: str) -> None:
        self._database_url = database_url
        self._database = database
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"ALTER DATABASE \"{database}\" SET log_statement = 'all'")
            row = conn.execute(
                "SELECT pg_current_logfile(), current_setting('data_directory')"
            ).fetchone()
        if row and row[0]:
            path = Path(row[0]) if row[0].startswith("/") else Path(row[1]) / row[0]
        else:  # no logging collector: Debian's clusters log to a file of their own
            found = sorted(Path("/var/log/postgresql").glob("postgresql-*.log"))
            path = max(found, key=lambda each: each.stat().st_mtime) if found else Path()
        self.path: Path | None = path if path.is_file() and os.access(path, os.R_OK) else None

    def mark(self, label: str) -> None:
        """A statement of the bench's own, to count from or up to."""
        with psycopg.connect(self._database_url, autocommit=True) as conn:
            conn.execute(f"SELECT '{label}-{self._database}'")

    def between(self, start: str, end: str) -> int | None:
        """Statements of the database after the mark ``start`` and before ``end``."""
        if self.path is None:
            return None
        counting, count = False, 0
        with self.path.open(errors="replace") as log:
            for line in log:
                if f"'{start}-{self._database}'" in line:
                    counting = True
                elif f"'{end}-{self._database}'" in line:
                    return count
                elif counting and "statement: " in line and f"@{self._database} " in line:
                    count += 1
        return None


async def open_stream(host: str, port: int, after: int, stream: Stream) -> asyncio.Task[None]:
    """Connect, send the request, wait for the answer's head; then read in a task."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"GET /v1/events/stream?after={after} HTTP/1.1\r\nHost: {host}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"the stream answered {head[:40]!r}")

    async def read() -> None:
        position: int | None = None
        data: bytes | None = None
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                # Chunked framing: size lines and payload lines alike end with a newline;
                # an event's ``id:`` and ``data:`` lines come in either order.
                if line.startswith(b"id:"):
                    position = int(line[3:].strip())
                elif line.startswith(b"data:"):
                    data = line[5:].strip()
                if position is not None and data is not None:
                    arrived = time.time()
                    recorded = datetime.fromisoformat(orjson.loads(data)["recordedAt"])
                    stream.arrivals.append((position, arrived, arrived - recorded.timestamp()))
                    position = data = None
        finally:
            writer.close()

    return asyncio.create_task(read())


async def measure_run(
    base_url: str, pid: int, log: StatementLog, arguments: argparse.Namespace
) -> dict[str, float]:
    host, port = base_url.removeprefix("http://").split(":")
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        created = await client.post("/v1/shipments", json={"shipmentType": "HHG"})
        created.raise_for_status()
        head = (await client.get("/v1/events", params={"after": 0, "limit": 500})).json()
        after = head["items"][-1]["position"]

        streams = [Stream() for _ in range(arguments.connections)]
        readers = []
        for batch_start in range(0, len(streams), 100):  # not a thundering herd
            readers += await asyncio.gather(
                *(
                    open_stream(host, int(port), after, stream)
                    for stream in streams[batch_start : batch_start + 100]
                )
            )
        await asyncio.sleep(SETTLE_SECONDS)

        log.mark("IDLE")
        cpu_before, started = server_cpu_seconds(pid), time.monotonic()
        await asyncio.sleep(arguments.idle_seconds)
        cpu_idle = server_cpu_seconds(pid) - cpu_before
        idle_seconds = time.monotonic() - started
        rss = server_rss_bytes(pid)
        log.mark("WRITES")
        idle_statements = log.between("IDLE", "WRITES")

        written: list[int] = []
        for _ in range(arguments.writes):
            response = await client.post("/v1/shipments", json={"shipmentType": "HHG"})
            response.raise_for_status()
            await asyncio.sleep(arguments.write_gap)
        page = (await client.get("/v1/events", params={"after": after, "limit": 500})).json()
        written = [item["position"] for item in page["items"]]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(
            len(stream.arrivals) < len(written) for stream in streams
        ):
            await asyncio.sleep(0.1)
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)

    lags = sorted(lag for stream in streams for _, _, lag in stream.arrivals)
    complete = all([p for p, _, _ in stream.arrivals] == written for stream in streams)
    return {
        "idle_statements": float("nan") if idle_statements is None else idle_statements,
        "idle_statements_per_s": float("nan")
        if idle_statements is None
        else idle_statements / idle_seconds,
        "idle_cpu_pct": cpu_idle / idle_seconds * 100,
        "rss_mib": rss / 2**20,
        "p50_ms": statistics.median(lags) * 1000 if lags else float("nan"),
        "p99_ms": lags[int(len(lags) * 0.99) - 1] * 1000 if lags else float("nan"),
        "max_ms": lags[-1] * 1000 if lags else float("nan"),
        "complete": float(complete),
    }


def main(argv: list[str] | None = None) -> int:
    """Command line: idle cost and fan-out of many open SSE streams."""
    parser = argparse.ArgumentParser(prog="python -m bench.idle_streams", description=__doc__)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--writes", type=int, default=20)
    parser.add_argument("--write-gap", type=float, default=0.25, help="seconds between writes")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL)
    arguments = parser.parse_args(argv)
    if (problem := postgres_problem(arguments.postgres_url)) is not None:
        print(f"idle streams: {problem}")
        return 1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 2 * arguments.connections + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))  # the server inherits it
    runs = []
    for run in range(arguments.runs):
        with (
            tempfile.TemporaryDirectory(prefix="bench-idle-") as directory,
            fresh_database(arguments.postgres_url) as (url, database),
        ):
            log = StatementLog(arguments.postgres_url, url, database)  # before any session
            with running_server(
                "service", url, Path(directory), extra_env={"SHIPMENTS_LOG_LEVEL": "warning"}
            ) as server:
                figures = asyncio.run(
                    measure_run(server.base_url, server.process.pid, log, arguments)
                )
        runs.append(figures)
        print(
            f"run {run + 1}: {arguments.connections} streams | idle: "
            f"{figures['idle_statements']:.0f} statements from the service in "
            f"{arguments.idle_seconds:.0f} s ({figures['idle_statements_per_s']:.2f}/s), "
            f"server CPU {figures['idle_cpu_pct']:.1f} % "
            f"of a core, RSS {figures['rss_mib']:.0f} MiB | write → every stream: "
            f"p50 {figures['p50_ms']:.0f} ms, p99 {figures['p99_ms']:.0f} ms, "
            f"max {figures['max_ms']:.0f} ms, complete: {bool(figures['complete'])}",
            flush=True,
        )
    print(
        f"median of {len(runs)} runs: idle statements/s "
        f"{statistics.median(r['idle_statements_per_s'] for r in runs):.2f}, idle CPU "
        f"{statistics.median(r['idle_cpu_pct'] for r in runs):.1f} %, RSS "
        f"{statistics.median(r['rss_mib'] for r in runs):.0f} MiB, fan-out p99 "
        f"{statistics.median(r['p99_ms'] for r in runs):.0f} ms "
        f"(max {statistics.median(r['max_ms'] for r in runs):.0f} ms), every run complete: "
        f"{all(r['complete'] for r in runs)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
