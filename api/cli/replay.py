"""``shipments replay ID [--to-version N] [--json]``: step through a shipment's stream."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson
from rich.console import Console

from api.cli.history_rendering import replay_document, replay_step
from api.cli.stream_steps import CommandFailed, read_steps_of, report_failure


def register(commands: Any) -> None:
    """Add the ``replay`` sub-command."""
    replay = commands.add_parser(
        "replay",
        help="show each event of a shipment and the state after it",
        description="Replays the shipment's stream from creation: each event, then the "
        "state it left, with the fields it changed highlighted.",
    )
    replay.add_argument("shipment_id", metavar="ID")
    replay.add_argument("--to-version", type=int, metavar="N", help="stop after version N")
    replay.add_argument("--json", action="store_true", help="one JSON document instead")
    replay.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    """Replay and print; 1 for an unknown shipment or version, 2 for a bad argument."""
    try:
        steps = read_steps_of(arguments.shipment_id, arguments.to_version)
    except CommandFailed as failure:
        return report_failure(failure)
    if arguments.json:
        document = replay_document(str(steps[0].event.originator_id), steps)
        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    console = Console()
    for step in steps:
        console.print(replay_step(step))
    console.print(f"[bold]{len(steps)} event(s) replayed[/bold]")
    return 0
