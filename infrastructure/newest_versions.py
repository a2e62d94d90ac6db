"""The newest version of each shipment this process has seen committed, for stale tags.

Versions only grow, so a tag naming a version older than one seen committed can
never match again: a write carrying it is refused without queueing for the
committer and its row lock (``ShipmentWrites``). What is noted here is always a
committed fact (a row read in an append transaction, or a committed append), so
the memory can only be behind the store, never ahead: a shipment it has not seen,
or has seen at an older version, is decided under the lock as ever.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from infrastructure.bounded_cache import BoundedCache


class NewestVersions:
    """A bounded map of shipment → the highest version noted; the least recently used forgotten."""

    def __init__(self, size: int) -> None:
        self._versions: BoundedCache[UUID, int] = BoundedCache(size)

    def note(self, versions: Iterable[tuple[UUID, int]]) -> None:
        for shipment_id, version in versions:
            known = self._versions.get(shipment_id)
            if known is None or version > known:
                self._versions.put(shipment_id, version)

    def newest(self, shipment_id: UUID) -> int | None:
        return self._versions.get(shipment_id)
