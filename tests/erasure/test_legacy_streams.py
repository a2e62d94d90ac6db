"""Streams written before personal data was sealed: ``encrypt-personal-data`` seals them."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eventsourcing.persistence import Mapper

from api.cli import main
from api.wiring import build_services
from domain.shipment import Shipment
from domain.values import Address
from infrastructure.settings import Settings
from infrastructure.write_commands import WriteCommand
from tests.erasure.conftest import database_dump, found_secrets
from tests.unit.shipments import DETAILS

OLD = replace(
    DETAILS,
    pickup_address=Address("Privet Drive 4", "Littlewhinging", "TX", "75001"),
    customer_remarks="gate code 4242 ask for Petunia",
)


def write_plaintext_stream(settings: Settings) -> Shipment:
    """A stream stored as before this change: the library's plain mapper, no key."""
    services = build_services(settings)
    try:
        shipment = Shipment(OLD, "alice", None)
        shipment.revise(replace(OLD, customer_remarks="call Vernon before noon"), None, "bob", None)
        plain = [
            Mapper.to_stored_event(services.store.mapper, e) for e in shipment.collect_events()
        ]
        services.store.recorder.insert_events(plain)
    finally:
        services.close()
    return shipment


def test_encrypting_old_streams_keeps_versions_and_values_and_lets_erasure_forget_them(
    settings: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipment = write_plaintext_stream(settings)
    assert found_secrets(database_dump(database_url))
    monkeypatch.setenv("SHIPMENTS_DATABASE_URL", database_url)

    assert main(["encrypt-personal-data"]) == 0
    assert main(["encrypt-personal-data"]) == 0  # resumed: nothing left to do

    services = build_services(settings)
    try:
        assert found_secrets(database_dump(database_url)) == []  # sealed, not yet erased
        first = services.shipments.load_version(shipment.id, 1)
        assert first.details.customer_remarks == "gate code 4242 ask for Petunia"
        current = services.shipments.load(shipment.id)
        assert current.version == 2
        assert current.details.customer_remarks == "call Vernon before noon"

        def erase(state: Shipment | None) -> Shipment:
            assert state is not None
            state.erase_personal_data("admin", None)
            return state

        services.shipments.execute(WriteCommand(shipment.id, erase))
        assert services.shipments.load_version(shipment.id, 1).details.customer_remarks is None
    finally:
        services.close()
    assert found_secrets(database_dump(database_url)) == []
