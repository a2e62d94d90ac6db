"""``shipments history ID``: the table of a shipment's events and what each changed."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from api.cli.history_rendering import history_table
from api.cli.stream_steps import CommandFailed, read_steps_of, report_failure


def register(commands: Any) -> None:
    """Add the ``history`` sub-command."""
    history = commands.add_parser(
        "history", help="print the table of a shipment's events (who changed what, when)"
    )
    history.add_argument("shipment_id", metavar="ID")
    history.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    """Print the history table; 1 for an unknown shipment, 2 for a bad id."""
    try:
        steps = read_steps_of(arguments.shipment_id)
    except CommandFailed as failure:
        return report_failure(failure)
    Console().print(history_table(steps, f"Shipment {arguments.shipment_id}"))
    return 0
