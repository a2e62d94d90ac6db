"""Erasure in the domain: what a shipment keeps once its personal data is forgotten."""

from __future__ import annotations

from dataclasses import replace

from domain.personal_data import (
    erased_details,
    erased_value,
    holds_personal_data,
    is_erased_address,
)
from domain.shipment import Shipment
from domain.values import Status
from tests.unit.shipments import DETAILS, SAN_DIEGO, shipment_in

WITH_REMARKS = replace(DETAILS, pickup_address=SAN_DIEGO, customer_remarks="call Ann at 555-0100")


def test_erasing_keeps_only_the_state_of_each_address_and_clears_the_remarks() -> None:
    shipment = Shipment(WITH_REMARKS, "alice", "req-1")
    shipment.erase_personal_data("admin", "req-2")
    details = shipment.details
    assert details.customer_remarks is None
    assert details.pickup_address is not None and details.pickup_address.state == "CA"
    assert is_erased_address(details.pickup_address)
    assert is_erased_address(details.destination_address)
    assert details.pickup_address.city is None and details.pickup_address.postal_code is None


def test_erasing_leaves_every_other_field_and_the_status_as_they_were() -> None:
    shipment = shipment_in(Status.IN_TRANSIT)
    before = shipment.details
    shipment.erase_personal_data("admin", None)
    assert shipment.status is Status.IN_TRANSIT
    assert shipment.details.delivery_date == before.delivery_date
    assert shipment.details.shipment_type == before.shipment_type
    assert shipment.details.weight_lbs == before.weight_lbs


def test_erasure_is_one_event_with_its_actor_and_request_and_records_no_value() -> None:
    shipment = Shipment(WITH_REMARKS, "alice", "req-1")
    shipment.collect_events()
    shipment.erase_personal_data("admin", "req-2")
    (event,) = shipment.collect_events()
    assert isinstance(event, Shipment.PersonalDataErased)
    assert (event.actor, event.request_id, event.originator_version) == ("admin", "req-2", 2)
    assert shipment.personal_data_erased_at == event.timestamp
    assert "call Ann" not in repr(vars(event))


def test_a_closed_shipment_can_still_be_erased() -> None:
    shipment = shipment_in(Status.CANCELED)
    shipment.erase_personal_data("admin", None)
    assert shipment.details.customer_remarks is None


def test_a_shipment_never_erased_says_so() -> None:
    assert Shipment(DETAILS, "alice", None).personal_data_erased_at is None


def test_replaying_the_erasure_gives_the_erased_state() -> None:
    shipment = Shipment(WITH_REMARKS, "alice", "req-1")
    shipment.erase_personal_data("admin", "req-2")
    replayed = None
    for event in shipment.collect_events():
        replayed = event.mutate(replayed)
    assert isinstance(replayed, Shipment)
    assert replayed.details == shipment.details
    assert replayed.personal_data_erased_at == shipment.personal_data_erased_at


def test_an_erased_value_holds_no_personal_data_and_a_live_one_does() -> None:
    assert holds_personal_data(SAN_DIEGO)
    assert holds_personal_data("remarks")
    assert not holds_personal_data(erased_value(SAN_DIEGO))
    assert not holds_personal_data(None)
    assert erased_details(erased_details(WITH_REMARKS)) == erased_details(WITH_REMARKS)
