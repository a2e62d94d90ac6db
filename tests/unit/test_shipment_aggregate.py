"""The Shipment aggregate: one event per accepted change, none for a no-op, and a
history that always replays, even when today's rules would reject what it records."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)

from domain.shipment import Shipment
from domain.values import Address, Status
from infrastructure.transcodings import register_domain_transcodings
from tests.unit.shipments import DETAILS, heavier, new_shipment


def recorded(shipment: Shipment) -> list[Any]:
    """The events the shipment's commands recorded since last asked (then cleared)."""
    return list(shipment.collect_events())


def replay(events: list[Any]) -> Shipment:
    """The aggregate rebuilt from its events alone."""
    shipment: Any = None
    for domain_event in events:
        shipment = domain_event.mutate(shipment)
    assert isinstance(shipment, Shipment)
    return shipment


def test_creating_records_one_created_event_at_version_1_with_actor_and_request_id() -> None:
    shipment = new_shipment()
    (created,) = recorded(shipment)
    assert isinstance(created, Shipment.Created)
    assert (shipment.version, created.originator_version) == (1, 1)
    assert (created.actor, created.request_id) == ("alice", "req-create")
    assert shipment.status is Status.DRAFT
    assert shipment.details == DETAILS


def test_a_detail_change_records_one_revised_event_holding_only_what_changed() -> None:
    shipment = new_shipment()
    recorded(shipment)
    changed = replace(DETAILS, weight_lbs=4200, customer_remarks="fragile")
    assert shipment.revise(changed, None, "bob", "req-2") is True
    (revised,) = recorded(shipment)
    assert isinstance(revised, Shipment.Revised)
    assert revised.changes == {"weight_lbs": 4200, "customer_remarks": "fragile"}
    assert revised.new_status is None
    assert (shipment.version, shipment.details, shipment.status) == (2, changed, Status.DRAFT)


def test_a_detail_and_status_change_together_are_one_event() -> None:
    shipment = new_shipment()
    recorded(shipment)
    assert shipment.revise(heavier(), Status.SUBMITTED, "bob", "req-2") is True
    (revised,) = recorded(shipment)
    assert isinstance(revised, Shipment.Revised)
    assert revised.new_status is Status.SUBMITTED
    assert (shipment.version, shipment.status) == (2, Status.SUBMITTED)


def test_a_status_only_change_records_one_status_changed_event() -> None:
    shipment = new_shipment()
    recorded(shipment)
    assert shipment.revise(DETAILS, Status.CANCELED, "bob", "req-2") is True
    (changed,) = recorded(shipment)
    assert isinstance(changed, Shipment.StatusChanged)
    assert (changed.old_status, changed.new_status) == (Status.DRAFT, Status.CANCELED)


@pytest.mark.parametrize("status", [None, Status.DRAFT], ids=["status left out", "same status"])
def test_a_request_that_changes_nothing_records_nothing(status: Status | None) -> None:
    shipment = new_shipment()
    recorded(shipment)
    same = replace(DETAILS)  # equal, not identical
    assert shipment.revise(same, status, "bob", "req-2") is False
    assert recorded(shipment) == []
    assert shipment.version == 1


def test_clearing_a_field_is_a_change() -> None:
    shipment = new_shipment()
    recorded(shipment)
    assert shipment.revise(replace(DETAILS, destination_address=None), None, "bob", "r") is True
    (revised,) = recorded(shipment)
    assert revised.changes == {"destination_address": None}
    assert shipment.details.destination_address is None


def test_every_event_carries_the_actor_and_request_id_of_its_own_command() -> None:
    shipment = new_shipment()
    shipment.revise(heavier(), None, "bob", "req-2")
    shipment.revise(shipment.details, Status.SUBMITTED, "carol", "req-3")
    shipment.revise(heavier(shipment.details), Status.APPROVED, "dave", None)
    events = recorded(shipment)
    assert [(e.actor, e.request_id) for e in events] == [
        ("alice", "req-create"),
        ("bob", "req-2"),
        ("carol", "req-3"),
        ("dave", None),
    ]
    assert [e.originator_version for e in events] == [1, 2, 3, 4]


def test_replaying_the_events_rebuilds_the_same_state() -> None:
    shipment = new_shipment()
    shipment.revise(heavier(), Status.SUBMITTED, "bob", "req-2")
    shipment.revise(shipment.details, Status.APPROVED, "bob", "req-3")
    events = recorded(shipment)
    replayed = replay(events)
    assert (replayed.version, replayed.status, replayed.details) == (
        3,
        Status.APPROVED,
        shipment.details,
    )


def mapper() -> Mapper[Any]:
    """The mapper the store uses: the library's transcodings plus the domain's."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    register_domain_transcodings(transcoder)
    return Mapper(transcoder=transcoder)


def rewrite(stored: StoredEvent, change: Any) -> StoredEvent:
    """The stored event with its JSON state edited, as if written under older rules."""
    state = json.loads(stored.state)
    change(state)
    return replace(stored, state=json.dumps(state).encode())


def test_recorded_history_replays_even_when_todays_rules_reject_it() -> None:
    shipment = new_shipment()
    shipment.revise(
        replace(DETAILS, pickup_address=DETAILS.destination_address), None, "bob", "req-2"
    )
    the_mapper = mapper()
    created, revised = (the_mapper.to_stored_event(e) for e in recorded(shipment))

    def loosen_created(state: dict[str, Any]) -> None:
        details = state["details"]["_data_"]
        details["weight_lbs"] = 0
        details["customer_remarks"] = "x" * 3000
        details["requested_pickup_date"] = {"_type_": "date_iso", "_data_": "2020-07-01"}
        details["destination_address"]["_data_"].update(state="Calif.", postal_code="9210")

    def loosen_revised(state: dict[str, Any]) -> None:
        state["changes"]["pickup_address"]["_data_"].update(street_address1=" ", city="")

    old_history = [rewrite(created, loosen_created), rewrite(revised, loosen_revised)]
    events: list[DomainEventProtocol[Any]] = [the_mapper.to_domain_event(s) for s in old_history]
    replayed = replay(events)

    details = replayed.details
    assert (details.weight_lbs, len(details.customer_remarks or "")) == (0, 3000)
    assert details.requested_pickup_date == date(2020, 7, 1)
    assert details.delivery_date == date(2020, 6, 1)
    assert details.destination_address == Address.restore(
        street_address1="812 S 129th Street", city="San Diego", state="Calif.", postal_code="9210"
    )
    assert details.pickup_address is not None
    assert (details.pickup_address.street_address1, details.pickup_address.city) == (" ", "")
    assert replayed.version == 2


def test_a_shipment_with_lax_history_can_still_move_on_with_valid_data() -> None:
    lax = replace(DETAILS, weight_lbs=None)
    shipment = new_shipment(lax)
    event = mapper().to_stored_event(recorded(shipment)[0])
    old = rewrite(event, lambda s: s["details"]["_data_"].update(weight_lbs=0))
    replayed = replay([mapper().to_domain_event(old)])
    assert replayed.revise(replace(DETAILS, weight_lbs=10), None, "bob", "r") is True
    (revised,) = recorded(replayed)
    assert revised.changes == {"weight_lbs": 10}
