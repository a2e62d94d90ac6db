"""What the write use case needs from the store: the port the infrastructure implements.

``infrastructure.shipment_service.ShipmentService`` implements it over SQLite
or PostgreSQL (the group committer); ``tests/support/in_memory_shipments.py``
over plain memory, for the use case's fast tests. Both decide a write the same
way (``infrastructure.batch_decisions``); only where the states live differs.
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from domain.shipment import Shipment
from infrastructure.recent_states import Written
from infrastructure.stream_reader import StreamPage
from infrastructure.write_commands import Notify, WriteCommand


class ShipmentStreams(Protocol):
    """Decides and appends writes, and remembers what it wrote lately."""

    def submit(self, command: WriteCommand, notify: Notify) -> None:
        """Queue a write; ``notify`` gets its outcome once its transaction ended."""

    def newest_seen_version(self, shipment_id: UUID) -> int | None:
        """The newest version known committed (None: not seen); never ahead of the store."""

    def kept_state(self, shipment_id: UUID, version: int) -> Shipment | None:
        """The state at ``version`` if written lately (shared: never to be changed)."""

    def recent_state(self, shipment_id: UUID, version: int) -> Shipment | None:
        """A copy of the state at ``version`` if written lately."""

    def kept_document(self, shipment_id: UUID, version: int) -> bytes | None:
        """The stored representation of the state at ``version`` if written lately."""

    def recent_writes(self, shipment_id: UUID, first: int, last: int) -> list[Written] | None:
        """Versions ``first … last`` with their events if all were written lately."""

    def page(
        self, shipment_id: UUID, after: int, limit: int, start: Shipment | None = None
    ) -> StreamPage:
        """Up to ``limit`` events of the stream after ``after`` (blocking I/O)."""

    def load_version_and_base(self, shipment_id: UUID, version: int) -> tuple[Shipment, int | None]:
        """The state at ``version`` and the version its write was merged from (blocking I/O)."""
