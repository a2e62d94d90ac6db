"""Push delivery benchmark: lag from commit to the receiver, and what delivering costs writes.

    python -m bench.delivery_lag --stores sqlite postgres --rate 500 --subscriptions 10 \\
        --seconds 10 --runs 3 [--nats | --no-nats] \\
        [--deliverer thread | process | serve --workers 1|2 [--servers 2]]

With ``--deliverer thread`` or ``process``, the service is this process: a fresh
store per phase, the log follower and the deliverer as a server runs them (a
thread, or a spawned process: ``bench.delivery_process``), writes through the
application service from ``--writers`` threads. With ``--deliverer serve`` it is
the deployment: real ``shipments serve`` processes, each delivering from its
child, written to over HTTP (``bench.delivery_serve``). The receivers are
another process (``bench.delivery_receiver``, driven through
``bench.receiver_control``: one small HTTP server, a path per subscription, and
with ``--nats``, on by default when NATS answers, a JetStream consumer of one
more subscription's subject).

Each run has three phases:

- lag: ``--seconds`` of writes at ``--rate`` per second, then until every
  delivery arrived (60 s at most). A delivery's lag is its first arrival minus the
  event's ``recordedAt`` (taken when the write was decided, just before its
  commit: commit → receiver plus the commit's few ms). Reported: p50, p99 and max
  over every delivery to every subscription; whether each subscription got every
  event of the feed, first arrivals in feed order (duplicates are allowed and
  counted); how many sampled signatures verified; this process's CPU per write
  (serve: the servers' process trees, the delivery children among them,
  PostgreSQL's processes serving them, the receiver and the HTTP writers).
- throughput without and with the subscriptions (order alternating by run):
  closed-loop writers as fast as they go for ``--throughput-seconds``, writes/s,
  and the ratio with / without; for each phase, whose the cores were (the
  service, its delivery process(es), PostgreSQL serving them, the receiver, the
  NATS server, the writers, the idle share: ``bench.cpu_shares``) and the
  service's CPU per write. The writers lose what the others take.

In serve mode the writers send blind patches (``If-Match: *``) by default, or
with ``--writes rmw`` read-modify-write loops that read again and retry on 412
(``bench.delivery_serve``), on the latest ``--hot-set`` shipments.

Then the medians over runs. It prints figures and never passes or fails.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from api.subscription_deliverer import start_deliverer
from api.wiring import Services, build_services
from bench import delivery_serve
from bench.cpu_shares import (
    THIS_PROCESS,
    Party,
    Shares,
    mark_shares,
    median_shares,
    named,
    postgres_serving,
    shares_between,
    shares_text,
    these,
)
from bench.delivery_arrivals import LagFigures, judge
from bench.delivery_process import DelivererProcesses, delivering_processes
from bench.paced_writers import run_paced
from bench.receiver_control import (
    DRAIN_SECONDS,
    NATS_URL,
    Receiver,
    add_nats_option,
    receiver_process,
    wants_nats,
)
from bench.servers import bench_master_key
from bench.stores import fresh_store, postgres_problem
from domain.details import ShipmentDetails
from domain.values import ShipmentType
from infrastructure.change_feed import ChangeFeed
from infrastructure.log_follower import LogFollower
from infrastructure.settings import Settings
from infrastructure.shipment_service import WriteContext


@dataclass
class Service:
    """One phase's service: its store, its subscriptions' paths, a deliverer process if any."""

    services: Services
    paths: list[str]
    child: DelivererProcesses | None

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
    split_schemes: bool = False,
    deliverers: int = 1,
    after: int | None = None,
) -> Iterator[Service]:
    """The service on a fresh store with ``subscriptions`` webhooks (+ JetStream), delivering
    from this process or (``separate``) from a deliverer process of its own (``niceness``).

    ``after``: the subscriptions' start position (None: the feed's head, as by default).
    """
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
            made = services.subscriptions.add(receiver.base + paths[-1], after=after)
            secrets[paths[-1]] = [made.secret]
        if subscriptions and receiver.subject_prefix is not None:
            paths.append(f"/{tag}/nats")
            nats_url = f"{NATS_URL}/{receiver.subject_prefix}.{tag}"
            secrets[paths[-1]] = [services.subscriptions.add(nats_url, after=after).secret]
        receiver.call("POST", "secrets", body=secrets)
        if separate:
            groups: list[tuple[frozenset[str] | None, int]] = [(None, len(paths))]
            if split_schemes:
                groups = [(frozenset({"http", "https"}), subscriptions)]
                if len(paths) > subscriptions:
                    groups.append((frozenset({"nats"}), len(paths) - subscriptions))
            elif deliverers > 1:
                groups = [(None, 0)] * deliverers  # they share them: waited for below
            with delivering_processes(settings, groups, niceness) as children:
                shared_out(children, len(paths))
                time.sleep(0.3)  # the first rounds: leases taken, rows read
                yield Service(services, paths, children)
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


def shared_out(children: DelivererProcesses, subscriptions: int) -> None:
    """Wait until the deliverer processes deliver every subscription between them
    (a second one's share is handed over by the first: ``delivery_shares``)."""
    deadline = time.monotonic() + 30
    while sum(counts := children.delivering()) < subscriptions or 0 in counts:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the deliverers took {counts} of {subscriptions} subscriptions")
        time.sleep(0.05)


def write_for(services: Services, seconds: float, rate: float | None, writers: int) -> int:
    """Create shipments for ``seconds`` at ``rate`` per second in all (None: as fast as they go)."""
    details = ShipmentDetails(shipment_type=ShipmentType.PPM)

    def creates(index: int) -> Generator[bool, None, None]:
        while True:
            services.shipments.create(details, WriteContext("bench", None))
            yield True

    return run_paced(writers, seconds, rate, creates)


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
    figures: LagFigures
    cpu_ms_per_write: float  # the service's (this process and a deliverer's), or the servers'
    cpu_parts: dict[str, float] = field(default_factory=dict)  # more ms per write, by whose
    notes: str = ""  # what must not happen (write errors, a restarted delivery child)
    idle_percent: float | None = None  # the machine's, over the window (serve only)


def lag_run(
    url: str,
    receiver: Receiver,
    tag: str,
    arguments: argparse.Namespace,
    directory: Path,
    seed: int,
) -> LagRun:
    """Writes at the rate, then until every delivery arrived: lag, completeness, CPU."""
    if arguments.deliverer == "serve":
        served = delivery_serve.lag_run(
            url,
            receiver,
            tag,
            directory,
            subscriptions=arguments.subscriptions,
            seconds=arguments.seconds,
            rate=arguments.rate,
            writers=arguments.writers,
            servers=arguments.servers,
            workers=arguments.workers,
            seed=seed,
            traffic=traffic_of(arguments),
        )
        cpu = served.cpu
        return LagRun(
            served.written,
            served.figures,
            cpu.servers,
            cpu.parts(),
            served.notes,
            cpu.idle_percent,
        )
    separate = arguments.deliverer == "process"
    with serving(
        url,
        receiver,
        tag,
        arguments.subscriptions,
        separate=separate,
        niceness=arguments.nice,
        split_schemes=arguments.split_schemes,
        deliverers=arguments.deliverers,
    ) as service:
        cpu_started = service.cpu_seconds()
        written = write_for(service.services, arguments.seconds, arguments.rate, arguments.writers)
        receiver.wait_for(f"/{tag}/", written * len(service.paths), DRAIN_SECONDS)
        cpu_seconds = service.cpu_seconds() - cpu_started
        positions = feed_positions(service.services)
        taken = receiver.call("POST", "take", f"/{tag}/")
    figures = judge(taken, service.paths, positions)
    return LagRun(written, figures, cpu_seconds * 1000 / max(1, written))


@dataclass(frozen=True)
class Phase:
    """One closed-loop phase: writes and deliveries per second, and whose the cores were."""

    writes_per_s: float
    deliveries_per_s: float
    shares: Shares
    service_ms_per_write: float  # the service's parties' CPU (SERVICE_PARTIES)


def throughput(
    url: str,
    receiver: Receiver,
    tag: str,
    arguments: argparse.Namespace,
    subscriptions: int,
    directory: Path,
    seed: int,
) -> Phase:
    """Closed-loop writers for ``--throughput-seconds`` while ``subscriptions`` run."""
    seconds = arguments.throughput_seconds
    if arguments.deliverer == "serve":
        writes, delivered, shares = delivery_serve.throughput(
            url,
            receiver,
            tag,
            directory,
            subscriptions=subscriptions,
            seconds=seconds,
            writers=arguments.writers,
            servers=arguments.servers,
            workers=arguments.workers,
            seed=seed,
            traffic=traffic_of(arguments),
        )
        if writes.errors:
            print(f"{tag}: {writes.errors} WRITE ERRORS in the closed-loop phase", flush=True)
        if writes.conflicts:
            print(f"{tag}: {writes.conflicts} answers 412 in the closed-loop phase", flush=True)
        return Phase(
            writes.accepted / seconds,
            delivered / seconds,
            shares,
            shares.cpu_ms_per(writes.accepted, delivery_serve.SERVICE_PARTIES),
        )
    separate = arguments.deliverer == "process" and subscriptions > 0
    with serving(
        url,
        receiver,
        tag,
        subscriptions,
        separate=separate,
        niceness=arguments.nice,
        split_schemes=arguments.split_schemes,
        deliverers=arguments.deliverers,
    ) as service:
        parties = process_parties(service, receiver, postgres=url.startswith("postgresql"))
        started, delivered_before = mark_shares(parties), receiver.call("GET", "count", f"/{tag}/")
        written = write_for(service.services, seconds, None, arguments.writers)
        delivered = receiver.call("GET", "count", f"/{tag}/") - delivered_before
        shares = shares_between(started, mark_shares(parties))
    receiver.call("POST", "take", f"/{tag}/")  # what was delivered is not judged here
    return Phase(
        written / seconds,
        delivered / seconds,
        shares,
        shares.cpu_ms_per(written, SERVICE_PARTIES),
    )


SERVICE_PARTIES = ("service", "delivery process", "PostgreSQL")  # the service's own CPU


def process_parties(service: Service, receiver: Receiver, *, postgres: bool) -> list[Party]:
    """Whose a process is in the in-process modes: this process is the service and its
    writers; the delivery process(es), PostgreSQL serving them, the receiver, NATS."""
    parties: list[Party] = [
        ("service", these([THIS_PROCESS])),
        ("delivery process", these([] if service.child is None else service.child.pids)),
    ]
    if postgres:
        parties.append(("PostgreSQL", postgres_serving([THIS_PROCESS])))
    parties.append(("receiver", these([receiver.pid])))
    parties.append(("NATS server", named("nats-server")))
    return parties


def delivered_share(phase: Phase, paths: int) -> float:
    """Deliveries over the messages the phase's writes made (one per write and subscription).

    Below 1 the delivery fell behind, which closed-loop writers make it do; far below
    (a tenth) it hardly delivered, and the ratio beside it measures nothing.
    """
    return phase.deliveries_per_s / max(1e-9, phase.writes_per_s * paths)


def traffic_of(arguments: argparse.Namespace) -> delivery_serve.Traffic:
    """The serve mode's writers, as the options ask."""
    return delivery_serve.Traffic(arguments.writes == "rmw", arguments.hot_set)


def cpu_text(
    label: str, per_write: float, parts: dict[str, float], idle_percent: float | None = None
) -> str:
    """``service CPU 4.20 ms per write``, with the serve mode's other processes after it."""
    text = f"{label} CPU {per_write:.2f} ms per write"
    others = dict(parts)
    if (delivery := others.pop("delivery child", None)) is not None:
        text += f" (delivery child {delivery:.2f} of it)"
    if others:
        text += "; " + ", ".join(f"{whose} {ms:.2f}" for whose, ms in others.items())
        text += " ms per write"
    if idle_percent is not None:
        text += f"; machine idle {idle_percent:.0f}%"
    return text


def run_store(
    kind: str, arguments: argparse.Namespace, directory: Path, receiver: Receiver
) -> None:
    """Every run of one store, then the medians."""
    subscribed = f"{arguments.subscriptions} webhook" + (
        " + 1 JetStream" if receiver.subject_prefix else ""
    )
    paths = arguments.subscriptions + (1 if receiver.subject_prefix else 0)
    label = "servers'" if arguments.deliverer == "serve" else "service"
    lags: list[LagRun] = []
    ratios: list[float] = []
    withouts: list[Phase] = []
    withs: list[Phase] = []
    for run in range(1, arguments.runs + 1):
        seed = arguments.seed + 1000 * run
        with fresh_store(kind, directory, "delivery") as url:
            lag = lag_run(url, receiver, f"r{run}-lag", arguments, directory, seed)
        lags.append(lag)
        figures = lag.figures
        print(
            f"[{kind}] run {run}: {lag.written} writes in {arguments.seconds:g}s "
            f"({lag.written / arguments.seconds:.0f}/s), {subscribed} subscriptions: "
            f"lag p50 {figures.p50:.1f} ms, p99 {figures.p99:.1f} ms, max {figures.worst:.1f} ms "
            f"(JetStream p99 {figures.nats_p99:.1f} ms, "
            f"webhooks p99 {figures.webhooks_p99:.1f} ms); "
            f"{cpu_text(label, lag.cpu_ms_per_write, lag.cpu_parts, lag.idle_percent)}; "
            f"{figures.summary}" + (f"; {lag.notes}" if lag.notes else ""),
            flush=True,
        )
        if arguments.throughput_seconds <= 0:
            continue
        phases = {}
        order = (0, arguments.subscriptions) if run % 2 else (arguments.subscriptions, 0)
        for subscriptions in order:
            with fresh_store(kind, directory, "delivery") as url:
                tag = f"r{run}-tp{subscriptions}"
                phases[subscriptions] = throughput(
                    url, receiver, tag, arguments, subscriptions, directory, seed
                )
        without, with_them = phases[0], phases[arguments.subscriptions]
        ratios.append(with_them.writes_per_s / without.writes_per_s)
        withouts.append(without)
        withs.append(with_them)
        print(
            f"[{kind}] run {run}: closed-loop writes {without.writes_per_s:.0f}/s without "
            f"subscriptions, {with_them.writes_per_s:.0f}/s with "
            f"({with_them.deliveries_per_s:.0f} deliveries/s, "
            f"{delivered_share(with_them, paths):.0%} of the writes' messages): "
            f"ratio {ratios[-1]:.2f}; "
            f"the service's CPU per write {without.service_ms_per_write:.2f} ms without, "
            f"{with_them.service_ms_per_write:.2f} ms with\n"
            f"    cores without: {shares_text(without.shares)}\n"
            f"    cores with:    {shares_text(with_them.shares)}",
            flush=True,
        )
    complete = sum(lag.figures.complete for lag in lags)
    parts = {
        whose: statistics.median(lag.cpu_parts[whose] for lag in lags)
        for whose in lags[0].cpu_parts
    }
    cpu = statistics.median(lag.cpu_ms_per_write for lag in lags)
    idle = [lag.idle_percent for lag in lags if lag.idle_percent is not None]
    print(
        f"[{kind}] median of {arguments.runs} runs: "
        f"p50 {statistics.median(lag.figures.p50 for lag in lags):.1f} ms, "
        f"p99 {statistics.median(lag.figures.p99 for lag in lags):.1f} ms, "
        f"max {statistics.median(lag.figures.worst for lag in lags):.1f} ms "
        f"(JetStream p99 {statistics.median(lag.figures.nats_p99 for lag in lags):.1f} ms, "
        f"webhooks p99 {statistics.median(lag.figures.webhooks_p99 for lag in lags):.1f} ms); "
        f"{cpu_text(label, cpu, parts, statistics.median(idle) if idle else None)}; "
        f"complete in {complete}/{len(lags)} runs"
        + (f"; throughput ratio {statistics.median(ratios):.2f}" if ratios else ""),
        flush=True,
    )
    if withs:
        without_ms = statistics.median(phase.service_ms_per_write for phase in withouts)
        with_ms = statistics.median(phase.service_ms_per_write for phase in withs)
        print(
            f"[{kind}] closed-loop medians: the service's CPU per write {without_ms:.2f} ms "
            f"without, {with_ms:.2f} ms with\n"
            f"    cores without: {shares_text(median_shares([p.shares for p in withouts]))}\n"
            f"    cores with:    {shares_text(median_shares([p.shares for p in withs]))}",
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
        choices=["thread", "process", "serve"],
        default="thread",
        help="deliver from the writing process's deliverer thread, from a process of its own "
        "(bench.delivery_process), or run real `shipments serve` processes, each delivering "
        "from its child, and write to them over HTTP (bench.delivery_serve)",
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="with --deliverer process: its CPU priority lowered by this much "
        "(as shipments deliver --nice; serve's child always runs at 10)",
    )
    parser.add_argument(
        "--split-schemes",
        action="store_true",
        help="with --deliverer process: one deliverer process for the webhooks and one for "
        "JetStream (as two `shipments deliver --schemes`)",
    )
    parser.add_argument(
        "--deliverers",
        type=int,
        default=1,
        help="with --deliverer process: deliverer processes sharing the subscriptions "
        "(as several `shipments deliver`)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="with --deliverer serve: uvicorn workers per server"
    )
    parser.add_argument(
        "--servers",
        type=int,
        default=1,
        help="with --deliverer serve: `shipments serve` processes on the one store",
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="with --deliverer serve: the writers' base seed"
    )
    parser.add_argument(
        "--writes",
        choices=["patch", "rmw"],
        default="patch",
        help="with --deliverer serve: blind patches (If-Match: *) or read-modify-write loops "
        "that read again and retry on 412",
    )
    parser.add_argument(
        "--hot-set",
        type=int,
        default=delivery_serve.HOT_SET,
        help="with --deliverer serve: patches go to the latest this many shipments created",
    )
    add_nats_option(parser)
    arguments = parser.parse_args()
    nats = wants_nats(arguments)
    if arguments.deliverer == "serve":
        print(
            f"deliverer: {arguments.servers} x shipments serve --workers {arguments.workers}, "
            "each delivering from its child (shipments deliver --nice 10); "
            f"{arguments.writers} HTTP writer threads, {traffic_of(arguments).describe()}",
            flush=True,
        )
    with tempfile.TemporaryDirectory() as directory, receiver_process(nats) as receiver:
        for kind in arguments.stores:
            if kind == "postgres" and (problem := postgres_problem()) is not None:
                print(f"[postgres] skipped: {problem}")
                continue
            run_store(kind, arguments, Path(directory), receiver)


if __name__ == "__main__":
    main()
