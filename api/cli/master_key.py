"""``shipments master-key``: print a new master key for ``SHIPMENTS_MASTER_KEY``."""

from __future__ import annotations

import argparse
from typing import Any

from infrastructure.master_key import new_master_key_text


def register(commands: Any) -> None:
    """Add the ``master-key`` sub-command."""
    command = commands.add_parser(
        "master-key",
        help="print a new master key (32 random bytes, base64) for SHIPMENTS_MASTER_KEY",
        description="Prints a new master key, alone on its line, for SHIPMENTS_MASTER_KEY (or a "
        "file named by SHIPMENTS_MASTER_KEY_FILE): it wraps every shipment's personal-data key. "
        "Keep it apart from the store; a server with the wrong one refuses to start. Opens no "
        "store: export SHIPMENTS_MASTER_KEY=$(shipments master-key)",
    )
    command.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    """Print the key alone: ``export SHIPMENTS_MASTER_KEY=$(shipments master-key)``."""
    print(new_master_key_text())
    return 0
