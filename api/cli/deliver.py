"""``shipments deliver``: push delivery from a process of its own, beside the servers.

``shipments serve`` runs one of these as its child (``api/cli/delivery_child.py``):
delivery in a thread of a worker would share that worker's interpreter lock with
its requests. Run it yourself beside servers started with
``SHIPMENTS_DELIVERER=false``, on other hosts, or several for more throughput or
for failover (the leases give each subscription to one process at a time). It
runs the same follower and deliverer a server would, until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any

from api.cli.store_opening import StoreNotOpened, open_settings
from infrastructure.delivery.destinations import SCHEMES
from infrastructure.settings import Settings

if TYPE_CHECKING:
    from api.plumbing.delivery_metrics import DeliveryMetrics


def register(commands: Any) -> None:
    """Add the ``deliver`` sub-command."""
    parser = commands.add_parser(
        "deliver",
        help="deliver the push subscriptions from this process until stopped",
        description="Runs the log follower and the deliverer a server runs, without serving "
        "HTTP: every subscription this process can lease is delivered from here. Start the "
        "servers with SHIPMENTS_DELIVERER=false to leave all delivery to such processes. "
        "Stops on SIGINT (Ctrl-C) or SIGTERM, releasing its subscriptions to the others.",
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        metavar="N",
        help="lower this process's CPU priority by N (0-19) so that, when the cores are "
        "short, the servers' requests run first and delivery catches up after "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--schemes",
        type=_schemes,
        default=None,
        metavar="LIST",
        help="deliver only subscriptions whose URL has one of these schemes, comma-separated "
        "(http, https, nats), and leave the rest to other processes: e.g. JetStream from a "
        "process of its own, whose publishes then do not wait behind the webhooks' turns of "
        "one event loop (default: all)",
    )
    parser.add_argument(
        "--parent-pid",
        type=int,
        default=None,
        metavar="PID",
        help="stop when the process PID (the server that started this one) is gone",
    )
    parser.set_defaults(run=run)


def _schemes(text: str) -> frozenset[str]:
    """``http,https`` as a set; an unknown or empty scheme is a usage error."""
    schemes = frozenset(part.strip().lower() for part in text.split(","))
    unknown = schemes - set(SCHEMES)
    if unknown or not schemes:
        raise argparse.ArgumentTypeError(
            f"unknown scheme(s) {', '.join(sorted(unknown)) or '(none)'}; "
            f"choose from {', '.join(SCHEMES)}"
        )
    return schemes


def serve_metrics(settings: Settings) -> DeliveryMetrics | None:
    """The delivery metrics at ``SHIPMENTS_DELIVERY_METRICS_ADDRESS``, for Prometheus.

    A server's ``/metrics`` counts the attempts its own process makes: with delivery
    in this process, its attempts and their lag are counted and shown here.
    """
    if settings.delivery_metrics_address is None:
        return None
    from prometheus_client import CollectorRegistry, start_http_server

    from api.plumbing.delivery_metrics import DeliveryMetrics

    host, port = settings.delivery_metrics_address.rsplit(":", 1)
    registry = CollectorRegistry(auto_describe=True)
    metrics = DeliveryMetrics(registry)
    start_http_server(int(port), addr=host, registry=registry)
    return metrics


def lower_priority(niceness: int) -> None:
    """Yield the CPU to the servers when both want it: delivery may lag, writes may not.

    A webhook is at least once and catches up from its committed position, so
    under a burst it is the work that can wait; a request cannot.
    """
    if niceness > 0:
        os.nice(min(niceness, 19))


def run(arguments: argparse.Namespace) -> int:
    from api.subscription_deliverer import start_deliverer
    from api.wiring import build_services
    from infrastructure.log_follower import LogFollower

    try:
        settings = open_settings(create=False).model_copy(update={"deliverer": True})
    except StoreNotOpened as problem:
        print(f"shipments deliver: {problem}", file=sys.stderr)
        return 2
    lower_priority(arguments.nice)
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    services = build_services(settings)
    follower = LogFollower(services.store).start()
    deliverer = start_deliverer(
        services, settings, follower, serve_metrics(settings), schemes=arguments.schemes
    )
    assert deliverer is not None  # switched on above
    print(f"shipments deliver: delivering as {deliverer.owner}", file=sys.stderr, flush=True)
    try:
        while not stopping.wait(1.0):
            if arguments.parent_pid is not None and os.getppid() != arguments.parent_pid:
                print("shipments deliver: the server is gone; stopping", file=sys.stderr)
                break
    finally:
        deliverer.stop()
        follower.stop()
        services.close()
    print("shipments deliver: stopped", file=sys.stderr)
    return 0
