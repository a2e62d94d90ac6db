"""Personal values sealed in stored events and snapshots, each shipment under its own key.

Why here, in the mapper: every past value the store keeps — events, snapshots,
events re-read for the feed, a rebuild or a replay — passes through the library's
``Mapper`` on its way to and from the database, and nothing else does. Sealing at
this boundary leaves the domain, the transcoder, the upcasters and every reader
unchanged: they see domain events with the values in place, or with what an
erasure leaves of them (``domain.personal_data``).

Why not the library's ``cipher`` hook: it encrypts a whole stored state under one
key for the application. Crypto-shredding needs a key per shipment (destroying it
forgets that shipment alone) and only the personal fields sealed: actors, times,
statuses and every other field must stay readable after an erasure. So this
subclass takes the personal values out of the event's state before the library
transcodes it, seals them (AES-GCM, bound to the event's stream and version) under
the shipment's key, and stores them as one member, ``_sealed``, beside what an
erasure would leave in their place. Reading reverses it — before the upcasters
run, since the sealed values are in the shape of the class version that sealed
them — or, when the key is gone, leaves the erased values and marks the event
(``domain.personal_data.erased_fields``).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import EventStore, Mapper, StoredEvent, Transcoder

from domain.details import ShipmentDetails
from domain.personal_data import (
    ERASED_FIELDS_ATTRIBUTE,
    PERSONAL_FIELDS,
    erased_value,
    holds_personal_data,
)
from infrastructure.master_key import NONCE_BYTES
from infrastructure.personal_data_keys import KeyRing, StreamKey

SEALED = "_sealed"
_PERSONAL = frozenset(PERSONAL_FIELDS)


class SealingMapper(Mapper[UUID]):
    """The library's mapper, with each event's personal values sealed under its shipment's key."""

    def __init__(self, transcoder: Transcoder, keys: KeyRing) -> None:
        super().__init__(transcoder)
        self.keys = keys

    def needs_key(self, domain_event: Any) -> bool:
        """Whether storing ``domain_event`` seals anything (an erased value holds nothing)."""
        return bool(_personal_values(vars(domain_event)))

    def seal(self, domain_event: Any, key: StreamKey | None) -> StoredEvent:
        """The stored event, its personal values sealed under ``key`` (None: it has none)."""
        state = dict(vars(domain_event))
        values = _personal_values(state)
        if not values:
            return super().to_stored_event(domain_event)
        if key is None:
            raise ValueError("an event holding personal data needs its shipment's key")
        for path in values:
            _place(state, path, erased_value(values[path]))
        nonce = os.urandom(NONCE_BYTES)
        aad = _binding(domain_event.originator_id, domain_event.originator_version)
        sealed = nonce + AESGCM(key.secret).encrypt(nonce, self.transcoder.encode(values), aad)
        state[SEALED] = {
            "key": key.key_id.hex(),
            "data": base64.b64encode(sealed).decode(),
            # Which values are sealed (names only): what an erasure shows as erased.
            "fields": sorted(values),
        }
        stand_in = object.__new__(type(domain_event))
        object.__setattr__(stand_in, "__dict__", state)
        return super().to_stored_event(cast(DomainEventProtocol[UUID], stand_in))

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        """For the library's own saves (``Application.save``): seal under the shipment's key.

        The write path seals in its append transaction (``sealed_appends``); this path
        has no transaction of its own to add a key to, so a shipment without one
        gets it stored first (a key that then seals nothing is harmless).
        """
        if not self.needs_key(domain_event):
            return super().to_stored_event(domain_event)
        shipment_id = domain_event.originator_id
        existing = self.keys.of_shipment(shipment_id)
        key = existing[0] if existing else self.keys.store_new_key(shipment_id)
        return self.seal(domain_event, key)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        """One event, its key looked up now (an erased key is missing for every process)."""
        event: DomainEventProtocol[UUID] = self.to_domain_events([stored_event])[0]
        return event

    def to_domain_events(
        self, stored_events: Sequence[StoredEvent], cursor: Any = None
    ) -> list[Any]:
        """Many events, with one lookup for all the keys they name (in ``cursor``'s
        transaction when the caller holds one)."""
        events = [super(SealingMapper, self).to_domain_event(s) for s in stored_events]
        named = {_key_id(event) for event in events} - {None}
        keys = self.keys.existing(cast(set[bytes], named), cursor)
        for event in events:
            self._open(event, keys)
        return events

    def _open(self, event: Any, keys: dict[bytes, StreamKey]) -> None:
        state: dict[str, Any] = vars(event)
        sealed = state.pop(SEALED, None)
        if sealed is None:
            return
        key = keys.get(bytes.fromhex(sealed["key"]))
        data = base64.b64decode(sealed["data"])
        values: dict[str, Any] | None = None
        if key is not None:
            aad = _binding(event.originator_id, event.originator_version)
            try:
                plain = AESGCM(key.secret).decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], aad)
            except InvalidTag:  # not this event's: as unreadable as an erased one
                plain = None
            values = None if plain is None else self.transcoder.decode(plain)
        if values is None:
            state[ERASED_FIELDS_ATTRIBUTE] = frozenset(
                path.rpartition(".")[2] for path in sealed["fields"]
            )
            return
        for path, value in values.items():
            _place(state, path, value)


def _key_id(event: Any) -> bytes | None:
    sealed = vars(event).get(SEALED)
    return None if sealed is None else bytes.fromhex(sealed["key"])


def _binding(shipment_id: UUID, version: int) -> bytes:
    """What a sealed value is bound to: its stream and position (no moving it elsewhere)."""
    return shipment_id.bytes + int(version).to_bytes(8, "big")


def _personal_values(state: dict[str, Any]) -> dict[str, Any]:
    """Every personal value an event's (or snapshot's) state holds, by path."""
    values: dict[str, Any] = {}
    for path, value in _personal_items(state):
        if holds_personal_data(value):
            values[path] = value
    return values


def _personal_items(state: dict[str, Any]) -> Iterable[tuple[str, Any]]:
    details = state.get("details")
    if isinstance(details, ShipmentDetails):  # Created
        yield from ((f"details.{n}", getattr(details, n)) for n in PERSONAL_FIELDS)
    for member in ("changes", "previous"):  # Revised
        recorded = state.get(member)
        if isinstance(recorded, dict):
            yield from ((f"{member}.{n}", v) for n, v in recorded.items() if n in _PERSONAL)
    snapshot_state = state.get("state")  # a Snapshot of the aggregate
    if isinstance(snapshot_state, dict):
        details = snapshot_state.get("details")
        if isinstance(details, ShipmentDetails):
            yield from ((f"state.details.{n}", getattr(details, n)) for n in PERSONAL_FIELDS)


def _place(state: dict[str, Any], path: str, value: Any) -> None:
    """Put ``value`` at ``path`` in ``state``, copying (never changing) what holds it."""
    head, _, rest = path.partition(".")
    held = state.get(head)
    if "." in rest:
        inner = dict(held) if isinstance(held, dict) else {}
        _place(inner, rest, value)
        state[head] = inner
    elif isinstance(held, ShipmentDetails):
        state[head] = held.with_changes({rest: value})
    else:
        replaced = dict(held) if isinstance(held, dict) else {}
        replaced[rest] = value
        state[head] = replaced


class OpeningEventStore(EventStore[UUID]):
    """The library's event store, opening a read's sealed values with one key lookup.

    The library maps stored events one at a time; a stream read of a hundred events
    would then look its key up a hundred times. This reads the page, then opens it
    with ``to_domain_events`` (the keys are looked up when read, never remembered:
    see ``personal_data_keys``).
    """

    mapper: SealingMapper

    def get(
        self,
        originator_id: UUID,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Iterator[DomainEventProtocol[UUID]]:
        stored = self.recorder.select_events(
            originator_id=originator_id, gt=gt, lte=lte, desc=desc, limit=limit
        )
        return iter(self.mapper.to_domain_events(list(stored)))
