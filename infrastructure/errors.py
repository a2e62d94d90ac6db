"""Our own exceptions for what can go wrong at the store, so callers never catch the library's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError


class ShipmentNotFound(LookupError):
    """No stream exists for this id (or not at the requested version)."""

    def __init__(self, shipment_id: UUID, version: int | None = None) -> None:
        self.shipment_id = shipment_id
        self.version = version
        where = f" at version {version}" if version is not None else ""
        super().__init__(f"shipment {shipment_id} not found{where}")


class VersionConflict(Exception):
    """A write's condition does not hold for the current version (read under its row lock).

    ``since`` is the version whose later changes the writer should be told of: the
    one its stale tag named (0 when it named no version of this shipment); None
    when the conflict is not a stale tag (``If-None-Match``).
    """

    def __init__(
        self,
        shipment_id: UUID,
        current_version: int,
        since: int | None = None,
        *,
        current_is_fresh: bool = True,
    ) -> None:
        self.shipment_id = shipment_id
        self.current_version = current_version
        self.since = since
        # False when ``current_version`` is the newest this process has seen, not the
        # store's as read under the row lock (a stale tag refused before queueing).
        self.current_is_fresh = current_is_fresh
        super().__init__(f"shipment {shipment_id} is at version {current_version}")


class IdempotencyKeyReused(Exception):
    """The same Idempotency-Key arrived with a different request."""


class StoreUnavailable(Exception):
    """The store could not be reached or did not answer in time."""


@contextmanager
def store_errors() -> Iterator[None]:
    """Connection trouble and time-outs (pool, lock) become ``StoreUnavailable`` (a 503).

    Every read and write of the store runs inside this, so that an outage is
    always a 503 however the library reports it: an unreachable PostgreSQL
    arrives as the library's ``OperationalError`` caused by ``psycopg_pool.PoolTimeout``.
    """
    try:
        yield
    except (InterfaceError, OperationalError) as error:
        raise StoreUnavailable(str(error)) from error
