"""``shipments deliver``: push delivery from a process of its own, beside the servers.

Every server process delivers subscriptions by default, in a thread beside its
requests; at high write rates the two share one interpreter lock (GIL), and the
delivery benchmark measured a server writing at 0.2 to 0.35x its rate without
subscriptions, against about 0.6x with the deliverer in a process of its own
(``python -m bench.delivery_lag --deliverer process``). This command is that
process: the same follower and deliverer a server runs, until SIGINT or SIGTERM.
Start the servers with ``SHIPMENTS_DELIVERER=false`` to leave delivery to it; run
several for more throughput or for failover (the leases give each subscription
to one process at a time).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

from api.cli.store_opening import StoreNotOpened, open_settings


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
    parser.set_defaults(run=run)


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
    deliverer = start_deliverer(services, settings, follower)
    assert deliverer is not None  # switched on above
    print(f"shipments deliver: delivering as {deliverer.owner}", file=sys.stderr, flush=True)
    try:
        while not stopping.wait(1.0):
            pass
    finally:
        deliverer.stop()
        follower.stop()
        services.close()
    print("shipments deliver: stopped", file=sys.stderr)
    return 0
