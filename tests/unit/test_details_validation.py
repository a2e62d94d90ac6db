"""Every validation rule of API.md, enforced by the domain itself (no HTTP involved)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from domain.details import ShipmentDetails
from domain.errors import InvalidShipment
from domain.values import Address, ShipmentType
from tests.unit.shipments import DETAILS, SAN_DIEGO


def problem_fields(error: InvalidShipment) -> set[str]:
    return {p.field for p in error.problems}


@pytest.mark.parametrize("weight", [None, 1, 2, 4200, 99_999, 100_000])
def test_a_weight_from_1_to_100000_lbs_or_none_is_accepted(weight: int | None) -> None:
    assert replace(DETAILS, weight_lbs=weight).weight_lbs == weight


@pytest.mark.parametrize("weight", [0, -1, 100_001, 10**9])
def test_a_weight_outside_1_to_100000_lbs_is_invalid(weight: int) -> None:
    with pytest.raises(InvalidShipment) as raised:
        replace(DETAILS, weight_lbs=weight)
    assert problem_fields(raised.value) == {"weight_lbs"}


@pytest.mark.parametrize("remarks", [None, "", "fragile", "x" * 2000, "é" * 2000])
def test_remarks_of_at_most_2000_characters_are_accepted(remarks: str | None) -> None:
    assert replace(DETAILS, customer_remarks=remarks).customer_remarks == remarks


@pytest.mark.parametrize("remarks", ["x" * 2001, "é" * 2001, "x" * 10_000])
def test_remarks_over_2000_characters_are_invalid(remarks: str) -> None:
    with pytest.raises(InvalidShipment) as raised:
        replace(DETAILS, customer_remarks=remarks)
    assert problem_fields(raised.value) == {"customer_remarks"}


@pytest.mark.parametrize(
    ("pickup", "delivery"),
    [
        (date(2020, 5, 28), date(2020, 6, 1)),
        (date(2020, 5, 28), date(2020, 5, 28)),
        (None, date(2020, 1, 1)),
        (date(2020, 1, 1), None),
        (None, None),
    ],
)
def test_delivery_on_or_after_pickup_or_either_unknown_is_accepted(
    pickup: date | None, delivery: date | None
) -> None:
    details = replace(DETAILS, requested_pickup_date=pickup, delivery_date=delivery)
    assert (details.requested_pickup_date, details.delivery_date) == (pickup, delivery)


def test_delivery_before_pickup_is_invalid_and_names_the_delivery_date() -> None:
    with pytest.raises(InvalidShipment) as raised:
        replace(DETAILS, requested_pickup_date=date(2020, 6, 2), delivery_date=date(2020, 6, 1))
    assert problem_fields(raised.value) == {"delivery_date"}


def test_every_broken_rule_is_reported_at_once() -> None:
    with pytest.raises(InvalidShipment) as raised:
        ShipmentDetails(
            shipment_type=ShipmentType.HHG,
            requested_pickup_date=date(2020, 6, 2),
            delivery_date=date(2020, 6, 1),
            weight_lbs=0,
            customer_remarks="x" * 2001,
        )
    assert problem_fields(raised.value) == {"weight_lbs", "customer_remarks", "delivery_date"}


def address(**overrides: Any) -> Address:
    values: dict[str, Any] = {
        "street_address1": SAN_DIEGO.street_address1,
        "city": SAN_DIEGO.city,
        "state": SAN_DIEGO.state,
        "postal_code": SAN_DIEGO.postal_code,
        **overrides,
    }
    return Address(**values)


@pytest.mark.parametrize("state", ["CA", "NY", "DC", "PR", "AK", "HI"])
def test_a_two_letter_us_state_code_is_accepted(state: str) -> None:
    assert address(state=state).state == state


@pytest.mark.parametrize("state", ["", "C", "ca", "Ca", "CAL", "ZZ", "XX", "C1", " CA", "CA\n"])
def test_anything_but_a_us_state_code_is_invalid(state: str) -> None:
    with pytest.raises(InvalidShipment) as raised:
        address(state=state)
    assert problem_fields(raised.value) == {"state"}


@pytest.mark.parametrize("postal_code", ["92102", "00501", "92102-1234", "00000-0000"])
def test_postal_codes_of_form_12345_or_12345_6789_are_accepted(postal_code: str) -> None:
    assert address(postal_code=postal_code).postal_code == postal_code


@pytest.mark.parametrize(
    "postal_code",
    [
        "",
        "1234",
        "123456",
        "12345-",
        "12345-678",
        "12345-67890",
        "12345 6789",
        "123456789",
        "abcde",
        " 92102",
        "92102 ",
        "92102\n",
        "92102-1234\n",
        "٩٢١٠٢",  # Arabic-Indic digits are digits, but not a ZIP code
    ],
)
def test_any_other_postal_code_is_invalid(postal_code: str) -> None:
    with pytest.raises(InvalidShipment) as raised:
        address(postal_code=postal_code)
    assert problem_fields(raised.value) == {"postal_code"}


@pytest.mark.parametrize("field", ["street_address1", "city"])
@pytest.mark.parametrize("blank", ["", " ", "\t", "  \n "])
def test_a_blank_street_or_city_is_invalid(field: str, blank: str) -> None:
    with pytest.raises(InvalidShipment) as raised:
        address(**{field: blank})
    assert problem_fields(raised.value) == {field}


def test_the_second_street_line_is_optional() -> None:
    assert address().street_address2 is None
    assert address(street_address2="Apt 4").street_address2 == "Apt 4"


def test_every_broken_address_rule_is_reported_at_once() -> None:
    with pytest.raises(InvalidShipment) as raised:
        Address(street_address1=" ", city="", state="zz", postal_code="1")
    assert problem_fields(raised.value) == {"street_address1", "city", "state", "postal_code"}


def test_restoring_recorded_values_never_applies_todays_rules() -> None:
    old_address = Address.restore(street_address1="", city="", state="Calif.", postal_code="9")
    details = ShipmentDetails.restore(
        shipment_type=ShipmentType.HHG,
        requested_pickup_date=date(2020, 6, 2),
        delivery_date=date(2020, 6, 1),
        destination_address=old_address,
        weight_lbs=0,
        customer_remarks="x" * 5000,
    )
    assert details.destination_address == old_address
    assert (details.weight_lbs, len(details.customer_remarks or "")) == (0, 5000)
    assert details.pickup_address is None
