"""``shipments encrypt-personal-data``: seal the personal data of streams written before keys."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from api.cli.store_opening import StoreNotOpened, open_settings
from api.wiring import append_session, build_services
from infrastructure.legacy_sealing import LegacySealing
from infrastructure.master_key import MasterKeyProblem


def register(commands: Any) -> None:
    """Add the ``encrypt-personal-data`` sub-command."""
    command = commands.add_parser(
        "encrypt-personal-data",
        help="seal the addresses and remarks of streams written before personal-data keys",
        description="Re-stores, in place, every event and snapshot that still holds personal "
        "data in plaintext, sealed under its shipment's key: no version, ETag or feed "
        "position changes. One shipment per transaction, safe while servers run; run it "
        "again to resume. Until it has run, erasing an older shipment cannot forget the "
        "values its old events hold.",
    )
    command.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    """0 when every stream is sealed; 2 when the store or its master key is unusable."""
    try:
        settings = open_settings(create=False)  # it seals what exists; it never makes a store
        services = build_services(settings)
    except (StoreNotOpened, MasterKeyProblem) as problem:
        print(f"shipments: {problem}", file=sys.stderr)
        return 2
    try:
        sealing = LegacySealing(
            services.store, append_session(services.store, settings), services.view
        )
        streams = events = snapshots = 0
        for shipment_id in sealing.shipment_ids():
            done = sealing.seal_stream(shipment_id)
            streams += 1
            events += done.events
            snapshots += done.snapshots
            if done.events or done.snapshots:
                print(
                    f"shipments: sealed {done.events} event(s), {done.snapshots} snapshot(s) "
                    f"of {shipment_id}",
                    file=sys.stderr,
                )
    finally:
        services.close()
    print(
        f"shipments: {streams} stream(s) checked; sealed {events} event(s) and "
        f"{snapshots} snapshot(s)",
        file=sys.stderr,
    )
    return 0
