"""Catching up: how fast subscriptions that are behind are delivered, and what each message costs.

    python -m bench.delivery_catchup --stores sqlite postgres --events 10000 \\
        --subscriptions 10 [--nats | --no-nats] --runs 3 [--nice 10]

An operator rewinds a subscription to replay it, or a receiver comes back after
an outage: the subscription is then ``--events`` behind, and how soon it is
level again is this figure. It is also the cleanest measure of delivery's own
cost per message: no writer shares the machine, so the delivery process runs as
fast as it can, and its CPU over the messages it sent is what one message costs.
The lag benchmark (``bench.delivery_lag``) needs that figure: in its closed-loop
phase 11 subscriptions ask for eleven messages per write, and what the delivery
process spends on them is taken from the writers.

Each run: a fresh store, ``--events`` creates written with no subscription,
then ``--subscriptions`` webhooks (+ one JetStream subscription, by default
when NATS answers) from position 0, delivered by a process of its own
(``bench.delivery_process``, niced as ``--nice``), until every message arrived.
Reported: messages per second in all and per subscription (webhooks, one at a
time each, and JetStream, published ahead), when each kind was level, and the
CPU per message of the delivery process, the receiver and the NATS server, with
the machine's idle share. It prints figures and never passes or fails.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from api.wiring import build_services
from bench.cpu_shares import (
    THIS_PROCESS,
    Party,
    Shares,
    mark_shares,
    named,
    postgres_serving,
    shares_between,
    shares_text,
    these,
)
from bench.delivery_arrivals import judge
from bench.delivery_lag import feed_positions, serving
from bench.receiver_control import (
    DRAIN_SECONDS,
    Receiver,
    add_nats_option,
    receiver_process,
    wants_nats,
)
from bench.servers import bench_master_key
from bench.stores import fresh_store, postgres_problem
from domain.details import ShipmentDetails
from domain.values import ShipmentType
from infrastructure.settings import Settings
from infrastructure.shipment_service import WriteContext


@dataclass(frozen=True)
class CatchUp:
    """One run: the messages sent after the mark, how long, and whose the cores were."""

    messages: int
    seconds: float
    webhooks_level_s: float  # from the mark to the last webhook's last message
    nats_level_s: float | None  # the same for JetStream (None: no JetStream subscription)
    shares: Shares
    complete: bool
    summary: str

    def us_per_message(self, party: str) -> float:
        return self.shares.cores.get(party, 0.0) * self.shares.window_s * 1e6 / self.messages


def write_events(url: str, events: int) -> None:
    """``events`` creates, one after another, before any subscription exists."""
    settings = Settings(
        database_url=url, projection_runner=False, master_key=SecretStr(bench_master_key(url))
    )
    services = build_services(settings)
    try:
        details = ShipmentDetails(shipment_type=ShipmentType.PPM)
        for _ in range(events):
            services.shipments.create(details, WriteContext("bench", None))
    finally:
        services.close()


def catch_up(url: str, receiver: Receiver, tag: str, arguments: argparse.Namespace) -> CatchUp:
    """Subscriptions from position 0 on a store ``--events`` long, delivered to the end."""
    write_events(url, arguments.events)
    with serving(
        url,
        receiver,
        tag,
        arguments.subscriptions,
        separate=True,
        niceness=arguments.nice,
        after=0,
    ) as service:
        assert service.child is not None
        parties: list[Party] = [("delivery process", these(service.child.pids))]
        if url.startswith("postgresql"):
            parties.append(("PostgreSQL", postgres_serving(service.child.pids)))
        parties += [
            ("receiver", these([receiver.pid])),
            ("NATS server", named("nats-server")),
            ("benchmark", these([THIS_PROCESS])),
        ]
        expected = arguments.events * len(service.paths)
        start, before = mark_shares(parties), receiver.call("GET", "count", f"/{tag}/")
        started = time.time()
        receiver.wait_for(f"/{tag}/", expected, DRAIN_SECONDS * 5)
        shares = shares_between(start, mark_shares(parties))
        seconds = time.time() - started
        positions = feed_positions(service.services)
        taken = receiver.call("POST", "take", f"/{tag}/")
    figures = judge(taken, service.paths, positions)
    last: dict[str, float] = {}
    for path, _, arrived, _ in taken["arrivals"]:
        last[path] = max(last.get(path, 0.0), arrived)
    webhooks = [when for path, when in last.items() if not path.endswith("/nats")]
    nats = [when for path, when in last.items() if path.endswith("/nats")]
    return CatchUp(
        messages=max(1, len(taken["arrivals"]) - before),
        seconds=seconds,
        webhooks_level_s=max(webhooks, default=started) - started,
        nats_level_s=max(nats) - started if nats else None,
        shares=shares,
        complete=figures.complete,
        summary=figures.summary,
    )


def describe(kind: str, label: str, run: CatchUp, webhooks: int) -> str:
    nats = "" if run.nats_level_s is None else f", JetStream in {run.nats_level_s:.1f} s"
    events = run.messages / (webhooks + (run.nats_level_s is not None))
    per_webhook = events / run.webhooks_level_s if run.webhooks_level_s > 0 else float("nan")
    costs = ", ".join(
        f"{party} {run.us_per_message(party):.0f}"
        for party in run.shares.cores
        if party != "benchmark"
    )
    return (
        f"[{kind}] {label}: {run.messages} messages in {run.seconds:.1f} s "
        f"({run.messages / run.seconds:.0f}/s); {webhooks} webhooks level in "
        f"{run.webhooks_level_s:.1f} s ({per_webhook:.0f} events/s each){nats}; "
        f"CPU per message (µs): {costs}\n"
        f"    cores: {shares_text(run.shares)}\n"
        f"    {run.summary}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--events", type=int, default=10_000, help="how far behind")
    parser.add_argument("--subscriptions", type=int, default=10, help="webhook subscriptions")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--nice", type=int, default=10, help="the delivery process's niceness (as serve's child)"
    )
    add_nats_option(parser)
    arguments = parser.parse_args()
    nats = wants_nats(arguments)
    with tempfile.TemporaryDirectory() as directory, receiver_process(nats) as receiver:
        for kind in arguments.stores:
            if kind == "postgres" and (problem := postgres_problem()) is not None:
                print(f"[postgres] skipped: {problem}")
                continue
            runs = []
            for run in range(1, arguments.runs + 1):
                with fresh_store(kind, Path(directory), "catchup") as url:
                    runs.append(catch_up(url, receiver, f"c{run}", arguments))
                print(describe(kind, f"run {run}", runs[-1], arguments.subscriptions), flush=True)
            rates = [run.messages / run.seconds for run in runs]
            costs = [run.us_per_message("delivery process") for run in runs]
            print(
                f"[{kind}] median of {len(runs)} runs: {statistics.median(rates):.0f} messages/s; "
                f"delivery process {statistics.median(costs):.0f} µs CPU per message; "
                f"complete in {sum(run.complete for run in runs)}/{len(runs)} runs",
                flush=True,
            )


if __name__ == "__main__":
    main()
