"""Our own exceptions for what can go wrong at the store, so callers never catch the library's."""

from __future__ import annotations

from uuid import UUID


class ShipmentNotFound(LookupError):
    """No stream exists for this id (or not at the requested version)."""

    def __init__(self, shipment_id: UUID, version: int | None = None) -> None:
        self.shipment_id = shipment_id
        self.version = version
        where = f" at version {version}" if version is not None else ""
        super().__init__(f"shipment {shipment_id} not found{where}")


class VersionConflict(Exception):
    """Another writer appended first: the expected position is taken."""

    def __init__(self, shipment_id: UUID, current_version: int) -> None:
        self.shipment_id = shipment_id
        self.current_version = current_version
        super().__init__(f"shipment {shipment_id} is at version {current_version}")


class IdempotencyKeyReused(Exception):
    """The same Idempotency-Key arrived with a different request."""


class StoreUnavailable(Exception):
    """The store could not be reached or did not answer in time."""
