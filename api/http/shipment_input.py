"""From request bytes to domain values: JSON parsing, merge patch, validation.

Errors are raised as problems naming each field by its camelCase path, so a
client can point at the exact mistake.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError

from api.http.field_names import camel_path
from api.http.problems import HttpProblem, validation_problem
from api.http.schemas import AddressIn, ShipmentWrite
from domain.details import ShipmentDetails
from domain.errors import FieldProblem, InvalidShipment
from domain.values import Address, Status

SERVER_OWNED = ("id", "eTag", "version", "createdAt", "updatedAt", "personalDataErasedAt")
MERGE_PATCH = "application/merge-patch+json"
JSON = "application/json"


def require_content_type(content_type: str | None, accepted: tuple[str, ...]) -> None:
    """415 unless the body's media type is one of ``accepted`` (parameters ignored)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type not in accepted:
        raise HttpProblem(
            415,
            f"send the body as {' or '.join(accepted)}",
            headers={"Accept-Patch": MERGE_PATCH} if MERGE_PATCH in accepted else None,
        )


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object; 400 for malformed JSON, 422 for another JSON value."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise HttpProblem(400, "the body is not well-formed JSON") from None
    if not isinstance(value, dict):
        raise validation_problem(
            [{"field": "(body)", "reason": "must be a JSON object"}],
            "the body must be a JSON object",
        )
    return value


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
        raise validation_problem(
            [{"field": "status", "reason": "cannot be null; leave it out to keep it"}]
        )
    try:
        return ShipmentWrite.model_validate_json(orjson.dumps(body))
    except ValidationError as error:
        raise validation_problem([_field_error(e) for e in error.errors()]) from None


def check_server_owned(body: dict[str, Any], current: dict[str, Any]) -> None:
    """Server-owned fields may be echoed back unchanged; any other value is a 422."""
    errors = [
        {"field": name, "reason": "is server-owned and cannot be changed"}
        for name in SERVER_OWNED
        if name in body and not _same_value(name, body[name], current.get(name))
    ]
    if errors:
        raise validation_problem(errors)


def reject_server_owned(body: dict[str, Any]) -> None:
    """On create nothing exists yet, so no server-owned field can be sent."""
    errors = [
        {"field": name, "reason": "is server-owned and cannot be set"}
        for name in SERVER_OWNED
        if name in body
    ]
    if errors:
        raise validation_problem(errors)


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


_ADDRESS_FIELDS = {"pickupAddress": "pickup_address", "destinationAddress": "destination_address"}


def requested_keeping_erased(
    merged: dict[str, Any], current: dict[str, Any]
) -> tuple[ShipmentDetails, Status | None]:
    """``to_domain(validate_write(merged))``, where an erased address (``{"state"}`` alone,
    what an erasure left) that the write leaves as it is stays as it is.

    A merge patch is applied to the current representation, so after an erasure
    every patch carries the erased address along; it is not a client's address to
    validate, and the write must not be refused for it. Sent by a client in any
    other shape, an address is validated as ever.
    """
    kept = {
        name: value
        for name in _ADDRESS_FIELDS
        if isinstance(value := merged.get(name), dict)
        and set(value) == {"state"}
        and value == current.get(name)
    }
    details, status = to_domain(validate_write({**merged, **dict.fromkeys(kept)}))
    if kept:
        details = details.with_changes(
            {
                _ADDRESS_FIELDS[name]: Address.restore(state=value["state"])
                for name, value in kept.items()
            }
        )
    return details, status
