"""The write path's keys: each appended event sealed under its shipment's key, in the append
transaction that stores (or, for an erasure, destroys) that key.

A new shipment's key is made and stored with its first event; an erasure deletes
every key of its shipment with the ``PersonalDataErased`` event, so the erasure and
the forgetting commit together or not at all. A later write holding personal data
gets a new key.

The committer holds the shipment's row lock, so the keys it reads here are all
the shipment has. It remembers which keys a shipment had at the version it last
wrote: when the batch's first event of that shipment comes right after that
version, nobody else wrote in between (no erasure either) and the keys are not
read again — a PATCH then costs no extra query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain.shipment import Shipment
from infrastructure.bounded_cache import BoundedCache
from infrastructure.co_commit import Statement
from infrastructure.personal_data_keys import StreamKey
from infrastructure.personal_data_sealing import SealingMapper


@dataclass
class SealedBatch:
    """What the batch's transaction stores, and what to remember once it commits."""

    stored_events: list[StoredEvent] = field(default_factory=list)
    statements: list[Statement] = field(default_factory=list)  # keys made and destroyed
    keys_at: dict[UUID, tuple[int, tuple[StreamKey, ...]]] = field(default_factory=dict)
    erased_at: dict[UUID, int] = field(default_factory=dict)  # shipment → its erasure's version


class SealedAppends:
    """Seals a batch's events in its transaction; remembers each shipment's keys after commit."""

    def __init__(self, mapper: SealingMapper, cache_size: int) -> None:
        self._mapper = mapper
        self._known: BoundedCache[UUID, tuple[int, tuple[StreamKey, ...]]] = BoundedCache(
            max(1, cache_size)
        )

    def seal(self, cursor: Any, events: Sequence[Any]) -> SealedBatch:
        """The stored events and key statements of ``events`` (in order), read in ``cursor``."""
        keys = self._keys_before(cursor, events)
        batch = SealedBatch()
        ring = self._mapper.keys
        for event in events:
            shipment_id: UUID = event.originator_id
            key: StreamKey | None = None
            if shipment_id not in keys:  # its events seal nothing: its keys were not read
                batch.stored_events.append(self._mapper.seal(event, None))
                continue
            current = keys[shipment_id]
            if isinstance(event, Shipment.PersonalDataErased):
                batch.statements.extend(ring.destroy(current))
                current.clear()
                batch.erased_at[shipment_id] = event.originator_version
            elif self._mapper.needs_key(event):
                if not current:
                    made, statement = ring.new_key(shipment_id)
                    batch.statements.append(statement)
                    current.append(made)
                key = current[0]
            batch.stored_events.append(self._mapper.seal(event, key))
            batch.keys_at[shipment_id] = (event.originator_version, tuple(current))
        return batch

    def committed(self, batch: SealedBatch) -> None:
        """Remember the keys each shipment has at the version this batch left it at."""
        for shipment_id, known in batch.keys_at.items():
            self._known.put(shipment_id, known)

    def _keys_before(self, cursor: Any, events: Sequence[Any]) -> dict[UUID, list[StreamKey]]:
        """Each shipment's keys before the batch: none for a new one, remembered when this
        process wrote the version right before, else read under the row lock."""
        first: dict[UUID, int] = {}
        needed: set[UUID] = set()
        for event in events:
            first.setdefault(event.originator_id, event.originator_version)
            if isinstance(event, Shipment.PersonalDataErased) or self._mapper.needs_key(event):
                needed.add(event.originator_id)
        keys: dict[UUID, list[StreamKey]] = {}
        unknown: list[UUID] = []
        for shipment_id in needed:
            version = first[shipment_id]
            known = self._known.get(shipment_id)
            if version == 1:
                keys[shipment_id] = []
            elif known is not None and known[0] == version - 1:
                keys[shipment_id] = list(known[1])
            else:
                unknown.append(shipment_id)
        if unknown:
            found = self._mapper.keys.current_in(cursor, sorted(unknown))
            for shipment_id in unknown:
                keys[shipment_id] = found.get(shipment_id, [])
        return keys
