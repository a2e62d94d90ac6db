"""Push delivery benchmark: lag from commit to the receiver, and what delivering costs writes.

    python -m bench.delivery_lag --stores sqlite postgres --rate 500 --subscriptions 10 \\
        --seconds 10 --runs 3 [--nats | --no-nats]

The service is this process: a fresh store per phase, the log follower and the
deliverer as a server runs them, writes through the application service from
``--writers`` threads. The receivers are another process (``bench.delivery_receiver``:
one aiohttp server, a path per subscription, and with ``--nats``, on by default
when NATS answers, a JetStream consumer of one more subscription's subject).

Each run has three phases:

- lag: ``--seconds`` of writes at ``--rate`` per second, then until every
  delivery arrived (60 s at most). A delivery's lag is its first arrival minus the
  event's ``recordedAt`` (taken when the write was decided, just before its
  commit: commit → receiver plus the commit's few ms). Reported: p50, p99 and max
  over every delivery to every subscription; whether each subscription got every
  event of the feed, first arrivals in feed order (duplicates are allowed and
  counted); how many sampled signatures verified; this process's CPU per write.
- throughput without and with the subscriptions (order alternating by run):
  closed-loop writers as fast as they go for ``--throughput-seconds``, writes/s,
  and the ratio with / without.

Then the medians over runs. It prints figures and never passes or fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from api.subscription_deliverer import start_deliverer
from api.wiring import Services, build_services
from bench.delivery_arrivals import completeness, first_lags_ms, percentile
from bench.delivery_process import DelivererProcess, delivering_process
from bench.servers import bench_master_key
from bench.stores import fresh_store, postgres_problem
from domain.details import ShipmentDetails
from domain.values import ShipmentType
from infrastructure.change_feed import ChangeFeed
from infrastructure.log_follower import LogFollower
from infrastructure.settings import Settings
from infrastructure.shipment_service import WriteContext

NATS_URL = "nats://127.0.0.1:4222"
DRAIN_SECONDS = 60.0


@dataclass
class Receiver:
    """The receiver process: where to send, and its control endpoints."""

    base: str
    subject_prefix: str | None

    def call(self, method: str, what: str, prefix: str = "", body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        url = f"{self.base}/control/{what}?prefix={prefix}"
        with urllib.request.urlopen(urllib.request.Request(url, data, method=method)) as answer:
            raw = answer.read()
        return json.loads(raw) if raw else None


@contextmanager
def receiver_process(nats: bool) -> Iterator[Receiver]:
    """``bench.delivery_receiver`` started, until the block ends (its stdin closed)."""
    command = [sys.executable, "-m", "bench.delivery_receiver"]
    if nats:
        command += ["--nats", NATS_URL]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        ready = process.stdout.readline().split()
        if not ready or ready[0] != "READY":
            raise RuntimeError("the receiver process did not start")
        prefix = None if ready[2] == "-" else ready[2]
        yield Receiver(f"http://127.0.0.1:{ready[1]}", prefix)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def nats_reachable() -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 4222), timeout=1):
        return True
    return False


@dataclass
class Service:
    """One phase's service: its store, its subscriptions' paths, a deliverer process if any."""

    services: Services
    paths: list[str]
    child: DelivererProcess | None

    def cpu_seconds(self) -> float:
        """CPU so far of this process and of the deliverer process (when there is one)."""
        return time.process_time() + (0.0 if self.child is None else self.child.cpu_seconds())


@contextmanager
def serving(
    url: str,
    receiver: Receiver,
    tag: str,
    subscriptions: int,
    *,
    separate: bool,
    niceness: int = 0,
) -> Iterator[Service]:
    """The service on a fresh store with ``subscriptions`` webhooks (+ JetStream), delivering
    from this process or (``separate``) from a deliverer process of its own (``niceness``)."""
    settings = Settings(
        database_url=url,
        webhook_allow_private=True,  # the receivers are on loopback
        projection_runner=False,
        master_key=SecretStr(bench_master_key(url)),
    )
    services = build_services(settings)
    follower = LogFollower(services.store).start()
    deliverer = None
    try:
        paths, secrets = [], {}
        for n in range(subscriptions):
            paths.append(f"/{tag}/hook/{n}")
            secrets[paths[-1]] = [services.subscriptions.add(receiver.base + paths[-1]).secret]
        if subscriptions and receiver.subject_prefix is not None:
            paths.append(f"/{tag}/nats")
            nats_url = f"{NATS_URL}/{receiver.subject_prefix}.{tag}"
            secrets[paths[-1]] = [services.subscriptions.add(nats_url).secret]
        receiver.call("POST", "secrets", body=secrets)
        if separate:
            with delivering_process(settings, len(paths), niceness) as child:
                time.sleep(0.3)  # the first rounds: leases taken, rows read
                yield Service(services, paths, child)
            return
        deliverer = start_deliverer(services, settings, follower)
        deadline = time.monotonic() + 10
        while deliverer is not None and len(deliverer.delivering) < len(paths):
            if time.monotonic() > deadline:
                raise RuntimeError("the deliverer did not take every subscription")
            time.sleep(0.05)
        time.sleep(0.3)  # the first rounds: leases taken, rows read
        yield Service(services, paths, None)
    finally:
        if deliverer is not None:
            deliverer.stop()
        follower.stop()
        services.close()


def write_for(services: Services, seconds: float, rate: float | None, writers: int) -> int:
    """Create shipments for ``seconds`` at ``rate`` per second in all (None: as fast as they go)."""
    stop = threading.Event()
    counts = [0] * writers

    def write(index: int) -> None:
        interval = 0.0 if rate is None else writers / rate
        next_at = time.perf_counter() + index * interval / writers
        details = ShipmentDetails(shipment_type=ShipmentType.PPM)
        while not stop.is_set():
            services.shipments.create(details, WriteContext("bench", None))
            counts[index] += 1
            if rate is not None:
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


def feed_positions(services: Services) -> list[int]:
    """Every position of the store's feed, in order."""
    feed, positions, after = ChangeFeed(services.store), [], 0
    while True:
        page = feed.read(after, 1000)
        positions += [entry.position for entry in page.entries]
        if not page.entries:
            return positions
        after = positions[-1]


@dataclass(frozen=True)
class LagRun:
    written: int
    p50: float
    p99: float
    worst: float
    nats_p99: float
    complete: bool
    summary: str
    cpu_ms_per_write: float


def lag_run(url: str, receiver: Receiver, tag: str, arguments: argparse.Namespace) -> LagRun:
    """Writes at the rate, then until every delivery arrived: lag, completeness, CPU."""
    separate = arguments.deliverer == "process"
    with serving(
        url, receiver, tag, arguments.subscriptions, separate=separate, niceness=arguments.nice
    ) as service:
        cpu_started = service.cpu_seconds()
        written = write_for(service.services, arguments.seconds, arguments.rate, arguments.writers)
        expected = written * len(service.paths)
        deadline = time.monotonic() + DRAIN_SECONDS
        while receiver.call("GET", "count", f"/{tag}/") < expected:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        cpu = service.cpu_seconds() - cpu_started
        positions = feed_positions(service.services)
        taken = receiver.call("POST", "take", f"/{tag}/")
    arrivals = [tuple(arrival) for arrival in taken["arrivals"]]
    lags = first_lags_ms(arrivals)
    nats_lags = first_lags_ms(a for a in arrivals if a[0].endswith("/nats"))
    judged = completeness(arrivals, service.paths, positions)
    summary = (
        "every event reached every subscription in order"
        if judged.complete
        else f"INCOMPLETE: {judged.missing} missing, {judged.out_of_order} paths out of order"
    ) + (
        f"; {judged.duplicates} duplicates; "
        f"signatures verified {taken['verified']}/{taken['sampled']} sampled"
    )
    return LagRun(
        written,
        percentile(lags, 0.5),
        percentile(lags, 0.99),
        max(lags, default=float("nan")),
        percentile(nats_lags, 0.99),
        judged.complete,
        summary,
        cpu * 1000 / max(1, written),
    )


def throughput(
    url: str, receiver: Receiver, tag: str, arguments: argparse.Namespace, subscriptions: int
) -> tuple[float, float]:
    """Writes and deliveries per second of closed-loop writers while ``subscriptions`` run."""
    separate = arguments.deliverer == "process" and subscriptions > 0
    with serving(
        url, receiver, tag, subscriptions, separate=separate, niceness=arguments.nice
    ) as service:
        seconds = arguments.throughput_seconds
        started = receiver.call("GET", "count", f"/{tag}/")
        written = write_for(service.services, seconds, None, arguments.writers)
        delivered = receiver.call("GET", "count", f"/{tag}/") - started
    receiver.call("POST", "take", f"/{tag}/")  # what was delivered is not judged here
    return written / seconds, delivered / seconds


def run_store(
    kind: str, arguments: argparse.Namespace, directory: Path, receiver: Receiver
) -> None:
    """Every run of one store, then the medians."""
    subscribed = f"{arguments.subscriptions} webhook" + (
        " + 1 JetStream" if receiver.subject_prefix else ""
    )
    lags: list[LagRun] = []
    ratios: list[float] = []
    for run in range(1, arguments.runs + 1):
        with fresh_store(kind, directory, "delivery") as url:
            lag = lag_run(url, receiver, f"r{run}-lag", arguments)
        lags.append(lag)
        print(
            f"[{kind}] run {run}: {lag.written} writes in {arguments.seconds:g}s "
            f"({lag.written / arguments.seconds:.0f}/s), {subscribed} subscriptions: "
            f"lag p50 {lag.p50:.1f} ms, p99 {lag.p99:.1f} ms, max {lag.worst:.1f} ms "
            f"(JetStream p99 {lag.nats_p99:.1f} ms); "
            f"service CPU {lag.cpu_ms_per_write:.2f} ms per write; {lag.summary}",
            flush=True,
        )
        if arguments.throughput_seconds <= 0:
            continue
        rates = {}
        order = (0, arguments.subscriptions) if run % 2 else (arguments.subscriptions, 0)
        for subscriptions in order:
            with fresh_store(kind, directory, "delivery") as url:
                tag = f"r{run}-tp{subscriptions}"
                rates[subscriptions] = throughput(url, receiver, tag, arguments, subscriptions)
        without, (with_subscriptions, deliveries) = rates[0][0], rates[arguments.subscriptions]
        ratios.append(with_subscriptions / without)
        print(
            f"[{kind}] run {run}: closed-loop writes {without:.0f}/s without subscriptions, "
            f"{with_subscriptions:.0f}/s with ({deliveries:.0f} deliveries/s): "
            f"ratio {ratios[-1]:.2f}",
            flush=True,
        )
    complete = sum(lag.complete for lag in lags)
    print(
        f"[{kind}] median of {arguments.runs} runs: "
        f"p50 {statistics.median(lag.p50 for lag in lags):.1f} ms, "
        f"p99 {statistics.median(lag.p99 for lag in lags):.1f} ms, "
        f"max {statistics.median(lag.worst for lag in lags):.1f} ms; "
        f"CPU {statistics.median(lag.cpu_ms_per_write for lag in lags):.2f} ms per write; "
        f"complete in {complete}/{len(lags)} runs"
        + (f"; throughput ratio {statistics.median(ratios):.2f}" if ratios else ""),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--rate", type=float, default=200.0, help="writes per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--subscriptions", type=int, default=10, help="webhook subscriptions")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--throughput-seconds", type=float, default=5.0, help="each throughput phase (0: none)"
    )
    parser.add_argument(
        "--deliverer",
        choices=["thread", "process"],
        default="thread",
        help="deliver from the writing process's deliverer thread, as a server does today, "
        "or from a process of its own (bench.delivery_process)",
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="with --deliverer process: its CPU priority lowered by this much "
        "(as shipments deliver --nice)",
    )
    parser.add_argument(
        "--nats",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="one JetStream subscription more (default: when NATS answers on 127.0.0.1:4222)",
    )
    arguments = parser.parse_args()
    nats = nats_reachable() if arguments.nats is None else arguments.nats
    with tempfile.TemporaryDirectory() as directory, receiver_process(nats) as receiver:
        for kind in arguments.stores:
            if kind == "postgres" and (problem := postgres_problem()) is not None:
                print(f"[postgres] skipped: {problem}")
                continue
            run_store(kind, arguments, Path(directory), receiver)


if __name__ == "__main__":
    main()
