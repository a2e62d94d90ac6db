"""Ready-made domain objects for the unit tests: valid details and shipments in any status."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from domain.details import ShipmentDetails
from domain.shipment import Shipment
from domain.values import Address, ShipmentType, Status

SAN_DIEGO = Address(
    street_address1="812 S 129th Street", city="San Diego", state="CA", postal_code="92102"
)

DETAILS = ShipmentDetails(
    shipment_type=ShipmentType.UHAUL,
    requested_pickup_date=date(2020, 5, 28),
    delivery_date=date(2020, 6, 1),
    destination_address=SAN_DIEGO,
)

# The legal path from DRAFT to each status, one move at a time.
PATH_TO: dict[Status, tuple[Status, ...]] = {
    Status.DRAFT: (),
    Status.SUBMITTED: (Status.SUBMITTED,),
    Status.APPROVED: (Status.SUBMITTED, Status.APPROVED),
    Status.IN_TRANSIT: (Status.SUBMITTED, Status.APPROVED, Status.IN_TRANSIT),
    Status.DELIVERED: (Status.SUBMITTED, Status.APPROVED, Status.IN_TRANSIT, Status.DELIVERED),
    Status.CANCELED: (Status.CANCELED,),
}


def new_shipment(details: ShipmentDetails = DETAILS) -> Shipment:
    """A fresh DRAFT shipment whose Created event is still pending."""
    return Shipment(details, actor="alice", request_id="req-create")


def shipment_in(status: Status) -> Shipment:
    """A shipment brought to ``status`` by legal moves, with no events pending."""
    shipment = new_shipment()
    for step in PATH_TO[status]:
        shipment.revise(shipment.details, step, actor="alice", request_id=f"req-{step.value}")
    shipment.collect_events()
    assert shipment.status == status
    return shipment


def heavier(details: ShipmentDetails = DETAILS) -> ShipmentDetails:
    """The same details with one field changed."""
    return replace(details, weight_lbs=(details.weight_lbs or 0) + 100)
