"""Copying a shipment: the library copies the cached aggregate before every command,
and the copy must be as independent as a full deep copy, however cheaply it is made."""

from __future__ import annotations

from copy import deepcopy
from dataclasses import replace

import pytest

from domain.shipment import Shipment
from domain.values import Address, Status
from tests.unit.shipments import DETAILS, SAN_DIEGO, heavier, new_shipment, shipment_in

PORTLAND = Address(street_address1="1 Main St", city="Portland", state="OR", postal_code="97201")


def test_a_copy_equals_the_original_but_is_another_object() -> None:
    original = shipment_in(Status.APPROVED)
    copy = deepcopy(original)
    assert copy is not original
    assert type(copy) is Shipment
    assert copy == original
    assert (copy.id, copy.version, copy.status, copy.details) == (
        original.id,
        original.version,
        original.status,
        original.details,
    )


def test_revising_the_copy_leaves_the_original_untouched() -> None:
    original = shipment_in(Status.SUBMITTED)
    before = (original.version, original.details, original.status, original.modified_on)
    copy = deepcopy(original)

    assert copy.revise(heavier(), Status.APPROVED, "bob", "req-copy") is True

    assert (copy.version, copy.status) == (original.version + 1, Status.APPROVED)
    assert (original.version, original.details, original.status, original.modified_on) == before
    assert original.pending_events == []


def test_the_copy_has_its_own_pending_events() -> None:
    original = new_shipment()  # its Created event is still pending
    copy = deepcopy(original)
    assert copy.pending_events is not original.pending_events
    assert copy.pending_events == original.pending_events

    copy.revise(heavier(), None, "bob", "req-copy")
    assert [type(e) for e in copy.pending_events] == [Shipment.Created, Shipment.Revised]
    assert [type(e) for e in original.pending_events] == [Shipment.Created]

    copy.collect_events()
    assert copy.pending_events == []
    assert [type(e) for e in original.pending_events] == [Shipment.Created]


def test_a_shipment_referenced_twice_is_copied_once() -> None:
    original = shipment_in(Status.DRAFT)
    first, second = deepcopy([original, original])
    assert first is second
    assert first is not original


@pytest.mark.parametrize("status", list(Status), ids=lambda s: s.value)
def test_every_attribute_but_the_pending_events_is_immutable(status: Status) -> None:
    """What makes the shallow copy a deep one: nothing it shares can change in place."""
    shipment = shipment_in(status)
    if not status.is_final:
        with_addresses = replace(DETAILS, pickup_address=PORTLAND, destination_address=SAN_DIEGO)
        shipment.revise(with_addresses, None, "bob", "req-addresses")
    shared = {name: value for name, value in vars(shipment).items() if name != "_pending_events"}
    assert {"details", "status", "_id", "_version"} <= set(shared)
    assert [name for name, value in shared.items() if not hashable(value)] == []


def hashable(value: object) -> bool:
    """Lists, dicts and sets (and frozen dataclasses holding one) are not."""
    try:
        hash(value)
    except TypeError:
        return False
    return True
