"""The client-writable description of a shipment, validated as a whole."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from domain.errors import FieldProblem, InvalidShipment
from domain.values import (
    MAX_REMARKS_LENGTH,
    MAX_WEIGHT_LBS,
    MIN_WEIGHT_LBS,
    Address,
    ShipmentType,
)


@dataclass(frozen=True)
class ShipmentDetails:
    """Everything a client may set on a shipment except its status.

    A PUT replaces all of it; a change records only the fields that differ.
    """

    shipment_type: ShipmentType
    requested_pickup_date: date | None = None
    delivery_date: date | None = None
    pickup_address: Address | None = None
    destination_address: Address | None = None
    weight_lbs: int | None = None
    customer_remarks: str | None = None

    @classmethod
    def restore(cls, **values: Any) -> ShipmentDetails:
        """Rebuild recorded details without re-validating them (see ``Address.restore``)."""
        details = object.__new__(cls)
        for name in cls.__dataclass_fields__:
            object.__setattr__(details, name, values.get(name))
        return details

    def __post_init__(self) -> None:
        problems: list[FieldProblem] = []
        if self.weight_lbs is not None and not (
            MIN_WEIGHT_LBS <= self.weight_lbs <= MAX_WEIGHT_LBS
        ):
            problems.append(
                FieldProblem("weight_lbs", f"must be between {MIN_WEIGHT_LBS} and {MAX_WEIGHT_LBS}")
            )
        if self.customer_remarks is not None and len(self.customer_remarks) > MAX_REMARKS_LENGTH:
            problems.append(
                FieldProblem("customer_remarks", f"must be at most {MAX_REMARKS_LENGTH} characters")
            )
        if (
            self.requested_pickup_date is not None
            and self.delivery_date is not None
            and self.delivery_date < self.requested_pickup_date
        ):
            problems.append(
                FieldProblem("delivery_date", "must not be before requested_pickup_date")
            )
        if problems:
            raise InvalidShipment(problems)

    def differences(self, other: ShipmentDetails) -> dict[str, Any]:
        """The fields whose values in ``other`` differ from ours, with other's values."""
        return {
            f.name: getattr(other, f.name)
            for f in fields(self)
            if getattr(self, f.name) != getattr(other, f.name)
        }

    def with_changes(self, changes: dict[str, Any]) -> ShipmentDetails:
        """A copy with the given fields replaced (as recorded in an event)."""
        # No re-validation: the command validated the whole new state before the
        # event was recorded, and replaying history must never fail.
        values = {name: getattr(self, name) for name in DETAIL_FIELDS}
        values.update((k, v) for k, v in changes.items() if k in values)
        return ShipmentDetails.restore(**values)


DETAIL_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ShipmentDetails))
