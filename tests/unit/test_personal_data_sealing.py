"""The sealing mapper, without a database: what is stored, read back, and left by an erasure."""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import replace
from typing import Any
from uuid import UUID

import pytest
from cryptography.exceptions import InvalidTag
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, StoredEvent, UUIDAsHex

from domain.personal_data import erased_fields
from domain.shipment import Shipment
from infrastructure.co_commit import Statement
from infrastructure.master_key import MasterKey
from infrastructure.personal_data_keys import KeyRing, KeyTable, StreamKey, WrappedKey
from infrastructure.personal_data_sealing import SealingMapper
from infrastructure.transcodings import register_domain_transcodings
from tests.unit.shipments import DETAILS, SAN_DIEGO

PERSONAL = replace(DETAILS, pickup_address=SAN_DIEGO, customer_remarks="gate code 4242")


class KeysInMemory(KeyTable):
    """The keys table as a dict: statements are applied when "run"."""

    def __init__(self) -> None:
        self.rows: dict[bytes, WrappedKey] = {}
        self.check: bytes | None = None

    def insert_statement(self, row: WrappedKey) -> Statement:
        self.rows[row.key_id] = row
        return Statement("insert")

    def insert(self, row: WrappedKey) -> None:
        self.rows[row.key_id] = row

    def delete_statement(self, key_id: bytes) -> Statement:
        self.rows.pop(key_id, None)
        return Statement("delete")

    def of_shipments_in(self, cursor: Any, shipment_ids: Collection[UUID]) -> list[WrappedKey]:
        return [row for row in self.rows.values() if row.shipment_id in shipment_ids]

    def by_ids(self, key_ids: Collection[bytes], cursor: Any = None) -> list[WrappedKey]:
        return [self.rows[k] for k in key_ids if k in self.rows]

    def of_shipment(self, shipment_id: UUID) -> list[WrappedKey]:
        return self.of_shipments_in(None, [shipment_id])

    def check_value(self) -> bytes | None:
        return self.check

    def keep_check_value(self, value: bytes) -> None:
        self.check = self.check or value


def mapper(table: KeysInMemory | None = None, master: MasterKey | None = None) -> SealingMapper:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DatetimeAsISO()):
        transcoder.register(transcoding)
    register_domain_transcodings(transcoder)
    master = master or MasterKey(secrets.token_bytes(32), "test")
    return SealingMapper(transcoder, KeyRing(master, table or KeysInMemory()))


def sealed_stream(sealing: SealingMapper) -> tuple[list[StoredEvent], StreamKey]:
    shipment = Shipment(PERSONAL, "alice", "req-1")
    shipment.revise(replace(PERSONAL, customer_remarks="call before noon"), None, "bob", "req-2")
    key, _ = sealing.keys.new_key(shipment.id)
    return [sealing.seal(event, key) for event in shipment.collect_events()], key


def test_stored_events_hold_no_personal_value_but_keep_the_audit_fields() -> None:
    stored, _ = sealed_stream(mapper())
    raw = b"".join(s.state for s in stored)
    for value in (b"gate code 4242", b"call before noon", b"812 S 129th Street", b"San Diego"):
        assert value not in raw
    assert b"alice" in raw and b"bob" in raw and b'"CA"' in raw


def test_sealed_events_read_back_as_they_were_recorded() -> None:
    sealing = mapper()
    stored, _ = sealed_stream(sealing)
    created, revised = sealing.to_domain_events(stored)
    assert created.details == PERSONAL
    assert revised.changes == {"customer_remarks": "call before noon"}
    assert revised.previous == {"customer_remarks": "gate code 4242"}
    assert erased_fields(created) == frozenset()


def test_without_the_key_the_values_read_as_erased_and_say_so() -> None:
    table = KeysInMemory()
    sealing = mapper(table)
    stored, key = sealed_stream(sealing)
    sealing.keys.destroy([key])

    created, revised = sealing.to_domain_events(stored)

    assert created.details.customer_remarks is None
    assert created.details.pickup_address.state == "CA"
    assert created.details.pickup_address.street_address1 is None
    assert erased_fields(created) == {"pickup_address", "destination_address", "customer_remarks"}
    assert revised.changes == {"customer_remarks": None}
    assert erased_fields(revised) == {"customer_remarks"}
    assert (revised.actor, revised.request_id) == ("bob", "req-2")


def test_a_sealed_value_moved_to_another_version_opens_as_erased() -> None:
    sealing = mapper()
    stored, _ = sealed_stream(sealing)
    moved = replace(stored[0], originator_version=2)
    (event,) = sealing.to_domain_events([moved])
    assert event.details.customer_remarks is None


def test_another_master_key_cannot_unwrap_a_key() -> None:
    table = KeysInMemory()
    sealing = mapper(table)
    sealed_stream(sealing)
    (row,) = table.rows.values()
    stranger = KeyRing(MasterKey(secrets.token_bytes(32), "other"), table)
    with pytest.raises(InvalidTag):
        stranger.unwrap(row)
