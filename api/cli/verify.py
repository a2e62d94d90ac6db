"""``shipments verify``: replay every stream and compare it with the views."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from eventsourcing.persistence import PersistenceError

from api.cli.projections import positive_int
from api.cli.store_opening import StoreNotOpened, open_settings
from api.wiring import build_services
from infrastructure.database_url import UnsupportedDatabaseUrl
from projections.stream_partitions import default_workers
from projections.verify import verify_view


def register(commands: Any) -> None:
    """Add the ``verify`` sub-command."""
    verify = commands.add_parser(
        "verify",
        help="replay every stream and compare it with the views (exit 1 on any difference)",
        description="Reads every shipment the view or the event log knows, replays its "
        "stream and compares the result with the view row, column by column and field by "
        "field, in several processes. Prints each difference.",
    )
    verify.add_argument(
        "--workers",
        type=positive_int,
        default=default_workers(),
        help="OS processes replaying the streams, each a share of them (default: the CPU "
        "count, %(default)s here)",
    )
    verify.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    """0 when the views match the events, 1 when any differs, 2 when the store is unusable."""
    try:
        services = build_services(open_settings(create=False))
    except StoreNotOpened as error:
        print(f"shipments: {error}", file=sys.stderr)
        return 2
    except (UnsupportedDatabaseUrl, PersistenceError) as error:
        print(f"shipments: cannot open the store: {error}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        report = verify_view(services.store, services.view, workers=arguments.workers)
    finally:
        services.close()
    elapsed = time.perf_counter() - started
    differences = report.differences
    for difference in differences:
        print(f"{services.view.tracking_name}: {difference}")
    if differences:
        shipments = len({difference.shipment_id for difference in differences})
        print(
            f"shipments: {len(differences)} difference(s) in {shipments} shipment(s)",
            file=sys.stderr,
        )
        return 1
    print(f"{services.view.tracking_name}: matches the event log")
    print(
        f"shipments: compared {report.shipments} shipment(s), replayed {report.events} "
        f"event(s) in {elapsed:.1f} s ({report.events / max(elapsed, 1e-9):,.0f} events/s, "
        f"{arguments.workers} process(es))",
        file=sys.stderr,
    )
    return 0
