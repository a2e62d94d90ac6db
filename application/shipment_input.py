"""From a write's body (a JSON object in the API's names) to domain values.

Merge patch, validation with the input models, server-owned fields. Refusals
are ``InvalidInput`` naming each field by its camelCase path, so a client can
point at the exact mistake (``api`` answers them as 422 problems).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError

from application.field_names import camel_path
from application.input_models import AddressIn, ShipmentWrite
from domain.details import ShipmentDetails
from domain.errors import FieldProblem, InvalidShipment
from domain.merging import Edit
from domain.shipment import Shipment
from domain.values import Address, Status
from projections.shipment_document import shipment_document

Requested = tuple[ShipmentDetails, Status | None]
"""The details a write asks for, and the status (None: unchanged)."""

SERVER_OWNED = ("id", "eTag", "version", "createdAt", "updatedAt")


class InvalidInput(Exception):
    """A body that does not describe a valid shipment: each field (camelCase) and why."""

    def __init__(self, errors: list[dict[str, str]], detail: str | None = None) -> None:
        self.errors = errors
        self.detail = detail or field_errors_summary(errors)
        super().__init__(self.detail)


def field_errors_summary(errors: list[dict[str, str]]) -> str:
    """One line for a list of field errors: the unknown fields, or each field and why."""
    unknown = [e["field"] for e in errors if e.get("reason") == "unknown field"]
    if unknown:
        return "unknown field(s): " + ", ".join(unknown)
    return "; ".join(f"{e['field']}: {e['reason']}" for e in errors)


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: members set to null are removed, objects merge, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = apply_merge_patch(result.get(name), value)
    return result


def validate_write(body: dict[str, Any]) -> ShipmentWrite:
    """Validate a full write body; 422 naming every bad or unknown field."""
    if "status" in body and body["status"] is None:
        raise InvalidInput(
            [{"field": "status", "reason": "cannot be null; leave it out to keep it"}]
        )
    try:
        return ShipmentWrite.model_validate_json(orjson.dumps(body))
    except ValidationError as error:
        raise InvalidInput([_field_error(e) for e in error.errors()]) from None


def check_server_owned(body: dict[str, Any], current: dict[str, Any]) -> None:
    """Server-owned fields may be echoed back unchanged; any other value is a 422."""
    errors = [
        {"field": name, "reason": "is server-owned and cannot be changed"}
        for name in SERVER_OWNED
        if name in body and not _same_value(name, body[name], current.get(name))
    ]
    if errors:
        raise InvalidInput(errors)


def reject_server_owned(body: dict[str, Any]) -> None:
    """On create nothing exists yet, so no server-owned field can be sent."""
    errors = [
        {"field": name, "reason": "is server-owned and cannot be set"}
        for name in SERVER_OWNED
        if name in body
    ]
    if errors:
        raise InvalidInput(errors)


def to_domain(write: ShipmentWrite) -> tuple[ShipmentDetails, Status | None]:
    """The domain's details and requested status; domain rules raise InvalidShipment."""
    values, status = requested_values(write)
    return ShipmentDetails(**values), status


def requested_values(write: ShipmentWrite) -> tuple[dict[str, Any], Status | None]:
    """Each detail field's requested domain value, and the status; not yet one whole.

    Every value is valid on its own (addresses included: InvalidShipment otherwise);
    the rules across fields run when the details are made (``ShipmentDetails``).
    """
    problems: list[FieldProblem] = []
    pickup = _address(write.pickup_address, "pickup_address", problems)
    destination = _address(write.destination_address, "destination_address", problems)
    if problems:
        raise InvalidShipment(problems)
    values: dict[str, Any] = {
        "shipment_type": write.shipment_type,
        "requested_pickup_date": write.requested_pickup_date,
        "delivery_date": write.delivery_date,
        "pickup_address": pickup,
        "destination_address": destination,
        "weight_lbs": write.weight_lbs,
        "customer_remarks": write.customer_remarks,
    }
    return values, write.status


def _address(value: AddressIn | None, field: str, problems: list[FieldProblem]) -> Address | None:
    if value is None:
        return None
    try:
        return Address(
            street_address1=value.street_address1,
            street_address2=value.street_address2,
            city=value.city,
            state=value.state,
            postal_code=value.postal_code,
        )
    except InvalidShipment as error:
        problems.extend(FieldProblem(f"{field}.{p.field}", p.message) for p in error.problems)
        return None


def _same_value(name: str, sent: Any, current: Any) -> bool:
    if name in ("createdAt", "updatedAt") and isinstance(sent, str) and isinstance(current, str):
        try:
            return datetime.fromisoformat(sent) == datetime.fromisoformat(current)
        except ValueError:
            return False
    if name == "version":
        return type(sent) is int and sent == current
    return bool(sent == current)


def _field_error(error: Any) -> dict[str, str]:
    location = ".".join(str(part) for part in error["loc"]) or "(body)"
    if error["type"] == "extra_forbidden":
        return {"field": location, "reason": "unknown field"}
    return {"field": camel_path(location), "reason": str(error["msg"])}


def checked_patch(patch: dict[str, Any]) -> dict[str, Any]:
    """A PATCH body: an RFC 7396 merge patch that does not remove ``status``."""
    if "status" in patch and patch["status"] is None:
        raise InvalidInput(
            [{"field": "status", "reason": "cannot be null"}], "status cannot be removed"
        )
    return patch


def new_shipment(body: dict[str, Any]) -> Requested:
    """A POST body: a new shipment's details (no status, no server-owned field)."""
    reject_server_owned(body)
    details, status = to_domain(validate_write(body))
    if status is not None:
        raise InvalidInput(
            [{"field": "status", "reason": "cannot be set on create"}],
            "a new shipment is always DRAFT; leave status out",
        )
    return details, status


def patched(patch: dict[str, Any], current: dict[str, Any]) -> Requested:
    """What a merge patch asks for, applied to the ``current`` representation."""
    merged: dict[str, Any] = apply_merge_patch(current, patch)
    check_server_owned(merged, current)
    return to_domain(validate_write(merged))


def edit_of(base: Shipment, body: dict[str, Any]) -> Edit:
    """What a full write ``body`` changes relative to the ``base`` its writer read.

    Server-owned fields may echo the base's values. Each value must be valid on its
    own; the rules across fields run on the merged state (``Shipment.merge``).
    """
    check_server_owned(body, shipment_document(base))
    values, status = requested_values(validate_write(body))
    return Edit.between(base.details, base.status, values, status)
