"""The ``shipments`` command line: run the service and operate its store.

One module per sub-command, each adding itself with ``register(subparsers)``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from api.cli import (
    auth,
    history,
    openapi,
    projections,
    replay,
    serve,
    subscriptions,
    tokens,
    verify,
)

# Each module adds its own sub-command; add new ones to this tuple.
COMMAND_MODULES = (
    serve,
    replay,
    history,
    tokens,
    auth,
    projections,
    verify,
    openapi,
    subscriptions,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run one sub-command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="shipments", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(commands)
    arguments = parser.parse_args(argv)
    result: int = arguments.run(arguments)
    return result
