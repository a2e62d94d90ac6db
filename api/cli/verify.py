"""``shipments verify``: replay every stream and compare it with the views."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from eventsourcing.persistence import PersistenceError

from api.wiring import build_services
from infrastructure.database_url import UnsupportedDatabaseUrl
from infrastructure.settings import Settings
from projections.verify import view_differences


def register(commands: Any) -> None:
    """Add the ``verify`` sub-command."""
    verify = commands.add_parser(
        "verify",
        help="replay every stream and compare it with the views (exit 1 on any difference)",
        description="Reads every shipment the view or the event log knows, replays its "
        "stream and compares the result with the view row, column by column and field by "
        "field. Prints each difference.",
    )
    verify.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    """0 when the views match the events, 1 when any differs, 2 when the store is unusable."""
    try:
        services = build_services(Settings())
    except (UnsupportedDatabaseUrl, PersistenceError) as error:
        print(f"shipments: cannot open the store: {error}", file=sys.stderr)
        return 2
    try:
        differences = view_differences(services.store, services.view)
    finally:
        services.close()
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
    return 0
