"""The public JSON representation of a shipment, rendered once per version.

Every place that shows a shipment (write answers, the view, ``versions/{n}``,
idempotent replays) renders it here, so they agree byte for byte.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, cast
from uuid import UUID

import orjson
from eventsourcing.domain import Snapshot
from eventsourcing.utils import get_topic

from domain.details import ShipmentDetails
from domain.personal_data import is_erased_address
from domain.shipment import Shipment
from domain.values import Address, ShipmentType, Status
from projections.version_tags import encode_tag

_SHIPMENT_TOPIC = get_topic(Shipment)


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds and a ``Z``."""
    # isoformat is twice as fast as strftime, and this runs twice per document.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def address_document(address: Address | None) -> dict[str, Any] | None:
    """An address in the API's camelCase."""
    if address is None:
        return None
    if is_erased_address(address):
        return {"state": address.state}
    # Attribute by attribute: ``dataclasses.asdict`` deep-copies, and this runs for
    # every row a projection rebuild writes.
    return {
        "streetAddress1": address.street_address1,
        "streetAddress2": address.street_address2,
        "city": address.city,
        "state": address.state,
        "postalCode": address.postal_code,
    }


def shipment_document(shipment: Shipment) -> dict[str, Any]:
    """The full representation of ``shipment`` at its current version."""
    details = shipment.details
    return {
        "id": str(shipment.id),
        "eTag": encode_tag(shipment.id, shipment.version),
        "version": shipment.version,
        "status": shipment.status.value,
        "shipmentType": details.shipment_type.value,
        "requestedPickupDate": _date(details.requested_pickup_date),
        "deliveryDate": _date(details.delivery_date),
        "pickupAddress": address_document(details.pickup_address),
        "destinationAddress": address_document(details.destination_address),
        "weightLbs": details.weight_lbs,
        "customerRemarks": details.customer_remarks,
        "createdAt": format_timestamp(shipment.created_on),
        "updatedAt": format_timestamp(shipment.modified_on),
        "personalDataErasedAt": _timestamp(shipment.personal_data_erased_at),
    }


def encode_document(shipment: Shipment) -> bytes:
    """The representation as the JSON bytes a client receives."""
    return orjson.dumps(shipment_document(shipment))


def document_of(shipment: Shipment, encoded: bytes | None) -> dict[str, Any]:
    """``shipment_document(shipment)`` (a fresh dict), parsed from ``encoded`` when given:
    its bytes as ``encode_document`` rendered them earlier (a sixth of rendering again)."""
    if encoded is None:
        return shipment_document(shipment)
    document: dict[str, Any] = orjson.loads(encoded)
    return document


def _timestamp(value: datetime | None) -> str | None:
    return None if value is None else format_timestamp(value)


def _date(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


def restore_shipment(version: int, document: bytes) -> Shipment:
    """The aggregate at ``version`` from its stored document, with no event replayed.

    The view row commits with every event, so its document is a snapshot of the
    shipment at every version (Marten's ``FetchForWriting`` over an inline
    projection): the write path decides on it instead of replaying the stream.
    The state is rebuilt through the library's own snapshot mechanism
    (``Snapshot.mutate``), from exactly the fields the document shows, and
    without re-validating them (history is never rejected by a newer rule).
    """
    fields = orjson.loads(document)
    details = ShipmentDetails.restore(
        shipment_type=ShipmentType(fields["shipmentType"]),
        requested_pickup_date=_parse_date(fields["requestedPickupDate"]),
        delivery_date=_parse_date(fields["deliveryDate"]),
        pickup_address=_restore_address(fields["pickupAddress"]),
        destination_address=_restore_address(fields["destinationAddress"]),
        weight_lbs=fields["weightLbs"],
        customer_remarks=fields["customerRemarks"],
    )
    modified_on = datetime.fromisoformat(fields["updatedAt"])
    erased_at = fields.get(
        "personalDataErasedAt"
    )  # absent from rows written before erasure existed
    snapshot = Snapshot(
        originator_id=UUID(fields["id"]),
        originator_version=version,
        timestamp=modified_on,
        topic=_SHIPMENT_TOPIC,
        state={
            "_created_on": datetime.fromisoformat(fields["createdAt"]),
            "_modified_on": modified_on,
            "details": details,
            "status": Status(fields["status"]),
            "personal_data_erased_at": None
            if erased_at is None
            else datetime.fromisoformat(erased_at),
        },
    )
    return cast(Shipment, snapshot.mutate(None))


def _parse_date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _restore_address(fields: dict[str, Any] | None) -> Address | None:
    if fields is None:
        return None
    return Address.restore(
        street_address1=fields.get(
            "streetAddress1"
        ),  # absent when erased: see ``address_document``
        street_address2=fields.get("streetAddress2"),
        city=fields.get("city"),
        state=fields["state"],
        postal_code=fields.get("postalCode"),
    )
