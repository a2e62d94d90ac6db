"""How our value objects are written into stored events and snapshots.

Events keep the domain's own types (dates, addresses, enums); these transcodings
let the library's JSON transcoder store them and give them back unchanged.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain.details import ShipmentDetails
from domain.values import Address, ShipmentType, Status


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class StatusAsName(Transcoding):
    type = Status
    name = "status"

    def encode(self, obj: Status) -> str:
        return obj.value

    def decode(self, data: str) -> Status:
        return Status(data)


class ShipmentTypeAsName(Transcoding):
    type = ShipmentType
    name = "shipment_type"

    def encode(self, obj: ShipmentType) -> str:
        return obj.value

    def decode(self, data: str) -> ShipmentType:
        return ShipmentType(data)


class AddressAsDict(Transcoding):
    type = Address
    name = "address"

    def encode(self, obj: Address) -> dict[str, Any]:
        return asdict(obj)

    def decode(self, data: dict[str, Any]) -> Address:
        return Address.restore(**data)


class DetailsAsDict(Transcoding):
    type = ShipmentDetails
    name = "shipment_details"

    def encode(self, obj: ShipmentDetails) -> dict[str, Any]:
        # Not asdict(): it would flatten nested addresses into plain dicts and
        # lose their type; the transcoder encodes each value by its own type.
        return {name: getattr(obj, name) for name in obj.__dataclass_fields__}

    def decode(self, data: dict[str, Any]) -> ShipmentDetails:
        return ShipmentDetails.restore(**data)


def register_domain_transcodings(transcoder: JSONTranscoder) -> None:
    """Teach the transcoder every value type that appears in our events."""
    for transcoding in (
        DateAsISO(),
        StatusAsName(),
        ShipmentTypeAsName(),
        AddressAsDict(),
        DetailsAsDict(),
    ):
        transcoder.register(transcoding)
