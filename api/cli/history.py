"""``shipments history ID [--json]``: a shipment's events and what each changed."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson
from rich.console import Console

from api.cli.history_lines import WIDE_ENOUGH_FOR_THE_TABLE, history_document, history_lines
from api.cli.history_rendering import history_table
from api.cli.stream_steps import CommandFailed, read_steps_of, report_failure


def register(commands: Any) -> None:
    """Add the ``history`` sub-command."""
    history = commands.add_parser(
        "history",
        help="print a shipment's events: who changed what, when",
        description="Every event of the shipment, oldest first: its version, type, time "
        "(UTC), actor and request id, and each field it changed (from → to). A table on a "
        f"terminal of {WIDE_ENOUGH_FOR_THE_TABLE} columns or more; otherwise (and when piped) "
        "one line per event and one per changed field.",
    )
    history.add_argument("shipment_id", metavar="ID", help="the shipment's id (a UUID)")
    history.add_argument(
        "--json",
        action="store_true",
        help="print the history items as GET /v1/shipments/ID/history gives them",
    )
    history.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    """Print the history; 1 for an unknown shipment or store, 2 for a bad id."""
    try:
        steps = read_steps_of(arguments.shipment_id)
    except CommandFailed as failure:
        return report_failure(failure)
    if arguments.json:
        document = history_document(str(steps[0].event.originator_id), steps)
        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    console = Console()
    if console.is_terminal and console.width >= WIDE_ENOUGH_FOR_THE_TABLE:
        console.print(history_table(steps, f"Shipment {arguments.shipment_id}"))
    else:
        lines = history_lines(steps, f"Shipment {arguments.shipment_id}")
        sys.stdout.write("".join(line + "\n" for line in lines))
    return 0
