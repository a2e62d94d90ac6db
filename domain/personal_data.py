"""Which of a shipment's values are personal data, and what is left of them once erased.

A shipment holds a service member's addresses and free-text remarks. The law lets
that person have them erased, while the service promises an unchanged history: so
the stores keep these values sealed (``infrastructure.personal_data_sealing``), and
an erasure destroys what opens them. What remains readable is decided here, in one
place: an address keeps its ``state`` (a list filter, and not personal on its
own); every other personal value is gone (``None``).
"""

from __future__ import annotations

from typing import Any

from domain.details import ShipmentDetails
from domain.values import Address

PERSONAL_FIELDS: tuple[str, ...] = ("pickup_address", "destination_address", "customer_remarks")
"""The ``ShipmentDetails`` fields that hold personal data."""

ERASED_FIELDS_ATTRIBUTE = "erased_personal_fields"
"""The attribute a read event carries when its personal values could no longer be opened."""


def erased_value(value: Any) -> Any:
    """What is left of one personal value after erasure: an address's state, else nothing."""
    if isinstance(value, Address):
        return Address.restore(state=value.state) if value.state is not None else None
    return None


def holds_personal_data(value: Any) -> bool:
    """Whether erasing ``value`` would forget something (an erased address holds none)."""
    if value is None:
        return False
    return bool(erased_value(value) != value)


def erased_details(details: ShipmentDetails) -> ShipmentDetails:
    """``details`` with every personal field erased and every other one unchanged."""
    return details.with_changes(
        {name: erased_value(getattr(details, name)) for name in PERSONAL_FIELDS}
    )


def is_erased_address(address: Address | None) -> bool:
    """An address reduced to its state by an erasure (a live one always has a street)."""
    return address is not None and address.street_address1 is None


def erased_fields(event: Any) -> frozenset[str]:
    """The personal fields (domain names) whose values ``event`` recorded but can no longer show."""
    fields: frozenset[str] = getattr(event, ERASED_FIELDS_ATTRIBUTE, frozenset())
    return fields
