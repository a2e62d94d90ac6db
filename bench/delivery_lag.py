"""Push delivery benchmark: lag from commit to the receiver's request, with N subscriptions.

    python -m bench.delivery_lag --stores sqlite postgres --rate 200 --seconds 10 --runs 3

For each store (a fresh one, removed afterwards) and each run: ``--subscriptions``
webhook subscriptions to receivers in this process (one HTTP server, a path per
subscription), the process's log follower and deliverer as a server runs them,
and ``--seconds`` of writes through the service at ``--rate`` per second from
``--writers`` threads. Each delivery's lag is the receiver's arrival time minus
the event's ``recordedAt`` (taken when the write was decided, just before its
commit: an upper bound of commit → receiver by the commit's few ms). Per run:
p50, p99 and max over every delivery to every subscription, and whether every
event reached every subscription; then the median of the runs.

Receivers, writers and the deliverer share this process (and its GIL), so the
figures include their contention; it prints figures and never passes or fails.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson

from api.subscription_deliverer import start_deliverer
from api.wiring import build_services
from bench.stores import fresh_store, postgres_problem
from domain.details import ShipmentDetails
from domain.values import ShipmentType
from infrastructure.log_follower import LogFollower
from infrastructure.settings import Settings
from infrastructure.shipment_service import WriteContext


class Arrivals:
    """What the receivers got: (subscription path, position, lag in seconds)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[tuple[str, int, float]] = []

    def add(self, path: str, body: bytes) -> None:
        arrived = time.time()
        data: dict[str, Any] = orjson.loads(body)["data"]
        recorded = datetime.fromisoformat(data["recordedAt"].replace("Z", "+00:00")).timestamp()
        with self.lock:
            self.seen.append((path, int(data["position"]), arrived - recorded))


@contextmanager
def receiving(arrivals: Arrivals) -> Iterator[str]:
    """One HTTP server answering 204 to every POST; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the deliverer reuses its connections

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            arrivals.add(self.path, body)
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="bench-receiver", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def delivering_cpu_seconds() -> float:
    """CPU time so far of the deliverer's thread and the worker threads its store calls use."""
    total = 0.0
    for thread in threading.enumerate():
        if thread.ident is None or not thread.name.startswith(("deliverer", "asyncio_")):
            continue
        try:
            total += time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
        except OSError:  # ended between the listing and the reading
            continue
    return total


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def write_for(services: Any, seconds: float, rate: float, writers: int) -> int:
    """Create shipments at ``rate`` per second in all for ``seconds``; how many were written."""
    stop = threading.Event()
    counts = [0] * writers

    def write(index: int) -> None:
        interval = writers / rate
        next_at = time.perf_counter() + index * interval / writers
        details = ShipmentDetails(shipment_type=ShipmentType.PPM)
        while not stop.is_set():
            services.shipments.create(details, WriteContext("bench", None))
            counts[index] += 1
            next_at += interval
            time.sleep(max(0.0, next_at - time.perf_counter()))

    threads = [
        threading.Thread(target=write, args=(n,), name="bench-writer") for n in range(writers)
    ]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return sum(counts)


def one_run(
    url: str, arguments: argparse.Namespace
) -> tuple[float, float, float, bool, int, float]:
    """p50, p99, max (ms), whether everything arrived, the writes made, CPU ms per delivery."""
    settings = Settings(database_url=url, webhook_allow_private=True, projection_runner=False)
    services = build_services(settings)
    arrivals = Arrivals()
    follower = LogFollower(services.store).start()
    deliverer = None
    try:
        with receiving(arrivals) as base:
            for n in range(arguments.subscriptions):
                services.subscriptions.add(f"{base}/hook/{n}")
            deliverer = start_deliverer(services, settings, follower)
            time.sleep(1.5)  # let the deliverer lease every subscription
            cpu_started = delivering_cpu_seconds()
            written = write_for(services, arguments.seconds, arguments.rate, arguments.writers)
            expected = written * arguments.subscriptions
            deadline = time.monotonic() + 60
            while len(arrivals.seen) < expected and time.monotonic() < deadline:
                time.sleep(0.05)
            cpu = delivering_cpu_seconds() - cpu_started
        lags = [lag * 1000 for _, _, lag in arrivals.seen]
        complete = len({(path, position) for path, position, _ in arrivals.seen}) >= expected
        per_delivery = cpu * 1000 / max(1, len(arrivals.seen))
        return (
            percentile(lags, 0.5),
            percentile(lags, 0.99),
            max(lags),
            complete,
            written,
            per_delivery,
        )
    finally:
        if deliverer is not None:
            deliverer.stop()
        follower.stop()
        services.close()


def run_store(kind: str, arguments: argparse.Namespace, directory: Path) -> None:
    results = []
    for run in range(arguments.runs):
        with fresh_store(kind, directory, "delivery") as url:
            p50, p99, worst, complete, written, cpu_ms = one_run(url, arguments)
        results.append((p50, p99))
        print(
            f"[{kind}] run {run + 1}: {written} writes in {arguments.seconds:g}s "
            f"({written / arguments.seconds:.0f}/s), {arguments.subscriptions} subscriptions: "
            f"lag p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {worst:.1f} ms; "
            f"deliverer CPU {cpu_ms:.2f} ms per delivery; "
            f"{'every event reached every subscription' if complete else 'INCOMPLETE'}"
        )
    print(
        f"[{kind}] median of {arguments.runs} runs: "
        f"p50 {statistics.median(r[0] for r in results):.1f} ms, "
        f"p99 {statistics.median(r[1] for r in results):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--rate", type=float, default=200.0, help="writes per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--subscriptions", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        for kind in arguments.stores:
            if kind == "postgres" and (problem := postgres_problem()) is not None:
                print(f"[postgres] skipped: {problem}")
                continue
            run_store(kind, arguments, Path(directory))


if __name__ == "__main__":
    main()
