"""Merging a stale write (``Shipment.merge``): it succeeds exactly when the fields it changes
were left alone since its version and the rules allow the result, and then it applies those
fields, and only those, to the current state. Pure: no store, no HTTP."""

from __future__ import annotations

from copy import deepcopy
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_outcome
from hypothesis import strategies as st

from domain.details import DETAIL_FIELDS, ShipmentDetails
from domain.errors import DomainError, IllegalTransition, InvalidShipment, ShipmentClosed
from domain.merging import STATUS, Edit, MergeConflict
from domain.shipment import Shipment
from domain.values import Address, ShipmentType, Status
from tests.unit.shipments import DETAILS, PATH_TO, SAN_DIEGO, shipment_in

AUSTIN = Address(street_address1="1 Main St", city="Austin", state="TX", postal_code="73301")

# A few values per field, so that histories and requests often pick the same ones.
VALUES: dict[str, list[Any]] = {
    "shipment_type": [ShipmentType.HHG, ShipmentType.UHAUL, ShipmentType.BOAT_HAUL_AWAY],
    "requested_pickup_date": [None, date(2020, 5, 1), date(2020, 6, 1)],
    "delivery_date": [None, date(2020, 5, 15), date(2020, 6, 15)],
    "pickup_address": [None, SAN_DIEGO, AUSTIN],
    "destination_address": [None, SAN_DIEGO, AUSTIN],
    "weight_lbs": [None, 100, 200],
    "customer_remarks": [None, "fragile", "call first"],
}
# The status machine, written out independently of ``Status.can_move_to``.
LEGAL_MOVES: dict[Status, set[Status]] = {
    Status.DRAFT: {Status.SUBMITTED, Status.CANCELED},
    Status.SUBMITTED: {Status.APPROVED, Status.CANCELED},
    Status.APPROVED: {Status.IN_TRANSIT, Status.CANCELED},
    Status.IN_TRANSIT: {Status.DELIVERED, Status.CANCELED},
    Status.DELIVERED: set(),
    Status.CANCELED: set(),
}

field_values = st.fixed_dictionaries({name: st.sampled_from(VALUES[name]) for name in VALUES})
statuses = st.sampled_from(list(Status))
some_fields = st.dictionaries(
    st.sampled_from(DETAIL_FIELDS), st.none(), max_size=len(DETAIL_FIELDS)
).flatmap(
    lambda chosen: st.fixed_dictionaries({name: st.sampled_from(VALUES[name]) for name in chosen})
)
steps = st.tuples(some_fields, st.none() | statuses)


def dates_in_order(values: dict[str, Any]) -> bool:
    pickup, delivery = values["requested_pickup_date"], values["delivery_date"]
    return pickup is None or delivery is None or delivery >= pickup


def values_of(details: ShipmentDetails) -> dict[str, Any]:
    return {name: getattr(details, name) for name in DETAIL_FIELDS}


def fields_changed(before: Shipment, after: Shipment) -> set[str]:
    """What history shows one event changed: each field whose value differs."""
    changed = {
        name
        for name in DETAIL_FIELDS
        if getattr(before.details, name) != getattr(after.details, name)
    }
    return changed | ({STATUS} if before.status != after.status else set())


def live_through(
    shipment: Shipment, history: list[tuple[dict[str, Any], Status | None]]
) -> set[str]:
    """Apply each step the rules accept (others are refused, as they would be); what changed."""
    changed: set[str] = set()
    for fields, status in history:
        before = deepcopy(shipment)
        try:
            details = ShipmentDetails(**{**values_of(shipment.details), **fields})
            shipment.revise(details, status, "someone-else", None)
        except DomainError:
            continue
        changed |= fields_changed(before, shipment)
    return changed


def expected_outcome(
    edit: Edit, changed_since: set[str], expected: dict[str, Any], current: Status
) -> str:
    """The one answer the rules allow, worked out independently of the code under test."""
    new_status = edit.values.get(STATUS)
    if edit.fields & changed_since:
        return "conflict"
    if not edit.values:
        return "unchanged"
    if not dates_in_order(expected):
        return "invalid"
    if current in (Status.DELIVERED, Status.CANCELED):
        return "closed"
    if new_status is not None and new_status not in LEGAL_MOVES[current]:
        return "illegal"
    return "merged"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base_values=field_values.filter(dates_in_order),
    base_status=statuses,
    history=st.lists(steps, max_size=4),
    requested=field_values,
    requested_status=st.none() | statuses,
)
def test_a_merge_succeeds_iff_its_fields_are_untouched_and_the_rules_allow_it(
    base_values: dict[str, Any],
    base_status: Status,
    history: list[tuple[dict[str, Any], Status | None]],
    requested: dict[str, Any],
    requested_status: Status | None,
) -> None:
    base = Shipment(ShipmentDetails(**base_values), "alice", None)
    for step in PATH_TO[base_status]:
        base.revise(base.details, step, "alice", None)
    base.collect_events()
    current = deepcopy(base)
    changed_since = live_through(current, history)
    current.collect_events()
    before_merge = deepcopy(current)
    edit = Edit.between(base.details, base.status, requested, requested_status)
    expected = {
        **values_of(current.details),
        **{k: v for k, v in edit.values.items() if k != STATUS},
    }
    try:
        merged = current.merge(edit, changed_since, base.version, "bob", "req-merge")
        outcome = "merged" if merged else "unchanged"
    except MergeConflict as conflict:
        assert set(conflict.fields) == edit.fields & changed_since
        outcome = "conflict"
    except InvalidShipment:
        outcome = "invalid"
    except ShipmentClosed:
        outcome = "closed"
    except IllegalTransition:
        outcome = "illegal"

    note_outcome(outcome)  # hypothesis --hypothesis-show-statistics: how often each answer came
    assert outcome == expected_outcome(edit, changed_since, expected, before_merge.status)
    if outcome != "merged":
        assert (current.details, current.status) == (before_merge.details, before_merge.status)
        assert current.version == before_merge.version
        return
    # The result is the current state with the request's changed fields applied.
    assert values_of(current.details) == expected
    assert current.status == edit.values.get(STATUS, before_merge.status)
    (event,) = current.collect_events()
    assert event.based_on == base.version
    assert current.version == before_merge.version + 1


def test_an_edit_holds_only_the_fields_whose_requested_value_differs_from_the_base() -> None:
    requested = {**values_of(DETAILS), "weight_lbs": 300, "customer_remarks": None}

    edit = Edit.between(DETAILS, Status.DRAFT, requested, Status.DRAFT)

    assert edit.values == {"weight_lbs": 300}


def test_a_requested_status_other_than_the_base_is_part_of_the_edit() -> None:
    edit = Edit.between(DETAILS, Status.DRAFT, values_of(DETAILS), Status.SUBMITTED)

    assert edit.values == {STATUS: Status.SUBMITTED}


def test_a_merge_keeps_what_others_changed_and_applies_only_its_own_fields() -> None:
    base = shipment_in(Status.DRAFT)
    current = deepcopy(base)
    current.revise(replace(DETAILS, customer_remarks="theirs"), None, "carol", None)
    edit = Edit.between(base.details, base.status, {**values_of(DETAILS), "weight_lbs": 5}, None)

    assert current.merge(edit, {"customer_remarks"}, base.version, "bob", None) is True

    assert current.details == replace(DETAILS, customer_remarks="theirs", weight_lbs=5)


def test_a_status_moved_since_conflicts_with_a_requested_status() -> None:
    base = shipment_in(Status.DRAFT)
    current = shipment_in(Status.SUBMITTED)
    edit = Edit.between(base.details, base.status, values_of(DETAILS), Status.CANCELED)

    with pytest.raises(MergeConflict) as conflict:
        current.merge(edit, {STATUS}, base.version, "bob", None)

    assert conflict.value.fields == (STATUS,)


def test_a_disjoint_merge_onto_a_shipment_canceled_since_is_refused_as_closed() -> None:
    base = shipment_in(Status.DRAFT)
    current = shipment_in(Status.CANCELED)
    edit = Edit.between(base.details, base.status, {**values_of(DETAILS), "weight_lbs": 5}, None)

    with pytest.raises(ShipmentClosed):
        current.merge(edit, {STATUS}, base.version, "bob", None)


def test_merged_fields_are_validated_with_the_fields_others_changed() -> None:
    base = shipment_in(Status.DRAFT)
    current = deepcopy(base)
    later_pickup = replace(DETAILS, requested_pickup_date=date(2020, 7, 1), delivery_date=None)
    current.revise(later_pickup, None, "carol", None)
    requested = {**values_of(DETAILS), "delivery_date": date(2020, 6, 10)}
    edit = Edit.between(base.details, base.status, requested, None)

    with pytest.raises(InvalidShipment):
        current.merge(edit, {"requested_pickup_date"}, base.version, "bob", None)
