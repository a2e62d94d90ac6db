"""The ``shipments`` command line: run the service and operate its store.

One module per sub-command, each adding itself with ``register(subparsers)``.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence

from api.cli import (
    auth,
    deliver,
    encrypt_personal_data,
    history,
    master_key,
    openapi,
    projections,
    replay,
    serve,
    subscriptions,
    tokens,
    verify,
)
from api.cli.store_opening import STORE_HELP

DESCRIPTION = """\
Run the event-sourced shipment service and operate its store: serve the API,
manage its tokens, read a shipment's history, rebuild and verify its views.
Every command says which store it opened (on stderr); the ones that only read
never create one."""

# Commands that never open the store (the others' --help says how it is chosen).
STORELESS_COMMANDS = frozenset(("openapi", "master-key"))

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
    master_key,
    encrypt_personal_data,
    subscriptions,
    deliver,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run one sub-command; returns the exit status."""
    arguments = build_parser().parse_args(argv)
    result: int = arguments.run(arguments)
    return result


def build_parser() -> argparse.ArgumentParser:
    """The ``shipments`` parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="shipments",
        description=DESCRIPTION,
        epilog=STORE_HELP,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(commands)
    for name, command in commands.choices.items():
        if name not in STORELESS_COMMANDS:
            _say_where_the_store_is(command)
    return parser


def sub_parsers(
    parser: argparse.ArgumentParser, name: str = "shipments"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """``parser`` and every sub-command's parser under it, each by its full name."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child_name, child in action.choices.items():
                yield from sub_parsers(child, f"{name} {child_name}")


def _say_where_the_store_is(parser: argparse.ArgumentParser) -> None:
    """End the --help of ``parser`` and of its own sub-commands with how the store is chosen."""
    for _, each in sub_parsers(parser):
        each.epilog = STORE_HELP
