"""What a write's body asks for: parsed and checked in the loop, or its refusal kept for later.

``ShipmentWrites`` works these out before the decision, because they do not
depend on the current state; the decision raises a kept refusal in its turn
(RFC 9110's order: a stale tag is 412 even when the body is also malformed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.http.problems import HttpProblem, validation_problem
from api.http.shipment_input import (
    JSON,
    MERGE_PATCH,
    check_server_owned,
    parse_json_object,
    reject_server_owned,
    requested_values,
    require_content_type,
    to_domain,
    validate_write,
)
from domain.details import ShipmentDetails
from domain.merging import Edit
from domain.shipment import Shipment
from domain.values import Status
from projections.shipment_document import shipment_document

Requested = tuple[ShipmentDetails, Status | None]


class Prepared:
    """A value worked out in the event loop, or the refusal it met, raised when asked for.

    The decision asks for it only once the preconditions passed, so a stale tag
    is 412 even when the body is also malformed (RFC 9110 §13.2.1).
    """

    def __init__(self, value: Any = None, error: Exception | None = None) -> None:
        self._value = value
        self._error = error

    @classmethod
    def of(cls, compute: Callable[[], Any]) -> Prepared:
        try:
            return cls(compute())
        except Exception as error:  # noqa: BLE001 - kept, and raised in its turn
            return cls(error=error)

    def result(self) -> Any:
        if self._error is not None:
            raise self._error
        return self._value


def json_body(content_type: str | None, body: bytes, accepted: tuple[str, ...]) -> dict[str, Any]:
    """The body as a JSON object, in one of the ``accepted`` media types."""
    require_content_type(content_type, accepted)
    return parse_json_object(body)


# Members a merge patch cannot remove (null removes, RFC 7396): the shipment needs them.
_NOT_REMOVABLE = ("shipmentType", "status")
_ADDRESSES = ("pickupAddress", "destinationAddress")
_ADDRESS_NEEDS = ("streetAddress1", "city", "state", "postalCode")


def merge_patch(content_type: str | None, body: bytes) -> dict[str, Any]:
    """A PATCH body: an RFC 7396 merge patch that removes nothing a shipment needs.

    ``{"shipmentType": null}`` asks to remove the type; said back as "is required"
    it would puzzle a client that sent it, so it is refused for what it is.
    """
    patch = json_body(content_type, body, (MERGE_PATCH, JSON))
    removed = [name for name in _NOT_REMOVABLE if name in patch and patch[name] is None]
    for address in _ADDRESSES:
        members = patch.get(address)
        if isinstance(members, dict):
            removed += [
                f"{address}.{name}"
                for name in _ADDRESS_NEEDS
                if name in members and members[name] is None
            ]
    if removed:
        raise validation_problem(
            [
                {"field": field, "reason": "cannot be null: it cannot be removed"}
                for field in removed
            ]
        )
    return patch


def new_shipment(content_type: str | None, body: bytes) -> Requested:
    """A POST body: a new shipment's details (no status, no server-owned field)."""
    parsed = json_body(content_type, body, (JSON,))
    reject_server_owned(parsed)
    details, status = to_domain(validate_write(parsed))
    if status is not None:
        raise HttpProblem(
            422,
            "a new shipment is always DRAFT; leave status out",
            type_="/problems/invalid-request",
            errors=[{"field": "status", "reason": "cannot be set on create"}],
        )
    return details, status


def edit_of(base: Shipment, body: dict[str, Any]) -> Edit:
    """What a full write ``body`` changes relative to the ``base`` its writer read.

    Server-owned fields may echo the base's values. Each value must be valid on its
    own; the rules across fields run on the merged state (``Shipment.merge``).
    """
    check_server_owned(body, shipment_document(base))
    values, status = requested_values(validate_write(body))
    return Edit.between(base.details, base.status, values, status)
