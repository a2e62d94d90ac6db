"""Reading one shipment's stream for the ``replay`` and ``history`` commands.

Both read ``SHIPMENTS_DATABASE_URL`` like the server (and never create a store),
and report a bad id, an unknown shipment or a missing store as a one-line
message and an exit status, not a trace.
"""

from __future__ import annotations

import sys
from uuid import UUID

from api.cli.store_opening import StoreNotOpened, open_settings
from api.wiring import build_services
from infrastructure.errors import ShipmentNotFound, StoreUnavailable
from infrastructure.stream_reader import StreamReader
from projections.shipment_history import Step, every_step

EXIT_NOT_FOUND = 1
EXIT_USAGE = 2


class CommandFailed(Exception):
    """The command cannot run; ``message`` says why, ``status`` is the exit status."""

    def __init__(self, message: str, status: int) -> None:
        self.message = message
        self.status = status
        super().__init__(message)


def read_steps_of(shipment_id_text: str, up_to: int | None = None) -> list[Step]:
    """Every step of the shipment's stream (up to a version), from the configured store."""
    try:
        shipment_id = UUID(shipment_id_text)
    except ValueError:
        raise CommandFailed(f"not a shipment id: {shipment_id_text!r}", EXIT_USAGE) from None
    if up_to is not None and up_to < 1:
        raise CommandFailed("--to-version must be 1 or more", EXIT_USAGE)
    try:
        settings = open_settings(create=False)
    except StoreNotOpened as error:
        raise CommandFailed(str(error), EXIT_NOT_FOUND) from None
    services = build_services(settings)
    try:
        current = services.shipments.current_version(shipment_id)
        if up_to is not None and up_to > current:
            raise CommandFailed(
                f"shipment {shipment_id} has {current} version(s), not {up_to}", EXIT_NOT_FOUND
            )
        return every_step(StreamReader(services.store), shipment_id, up_to)
    except ShipmentNotFound:
        raise CommandFailed(f"no such shipment: {shipment_id}", EXIT_NOT_FOUND) from None
    except StoreUnavailable as error:
        raise CommandFailed(f"the store is unavailable: {error}", EXIT_NOT_FOUND) from None
    finally:
        services.close()


def report_failure(failure: CommandFailed) -> int:
    """Print why the command failed; return its exit status."""
    print(f"shipments: {failure.message}", file=sys.stderr)
    return failure.status
