"""Which version of a shipment was current at an instant (``?asOf=``), at bounded cost.

One indexed query of the version index finds the last version recorded at or
before the instant. The answer is only trusted when the index also holds the
version right after it (or it is the current version): otherwise the index has
a hole, left by events recorded before the index existed or by a process that
did not maintain it, and the hole is filled from the stream once (up to the next
indexed version) before answering again. So a complete index costs three
indexed reads, and an incomplete one heals itself on first use.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from infrastructure.shipment_service import ShipmentService
from infrastructure.stream_reader import StreamReader
from projections.version_index import RecordedVersion, VersionIndex


class AsOfLookup:
    """Finds the version current at an instant, filling holes in the index as it goes."""

    def __init__(
        self, index: VersionIndex, reader: StreamReader, shipments: ShipmentService
    ) -> None:
        self._index = index
        self._reader = reader
        self._shipments = shipments

    def version_at(self, shipment_id: UUID, instant: datetime) -> int | None:
        """The version current at ``instant``; None before creation.

        Raises ShipmentNotFound when the shipment has no stream at all.
        """
        current = self._shipments.current_version(shipment_id)
        found = self._index.version_at(shipment_id, instant)
        following = (found or 0) + 1
        if following > current:
            return found
        next_indexed = self._index.next_indexed_version(shipment_id, after=found or 0)
        if next_indexed == following:
            return found
        hole_end = current if next_indexed is None else next_indexed - 1
        self._index.add(
            [
                RecordedVersion(shipment_id, version, recorded_at)
                for version, recorded_at in self._reader.recorded_at(
                    shipment_id, after=found or 0, up_to=hole_end
                )
            ]
        )
        return self._index.version_at(shipment_id, instant)
