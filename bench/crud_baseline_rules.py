"""The baseline's business rules: field validation, merge patch, tags, status moves.

Deliberately plain — one pydantic model for the client-writable fields, RFC 7396
merge, a base64url tag of ``<id>:<version>`` compared as a string — so that the
baseline does the work any honest CRUD service must do, and nothing more.
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

SERVER_OWNED = ("id", "eTag", "version", "status", "createdAt", "updatedAt")
NEXT_STATUSES: dict[str, frozenset[str]] = {
    "DRAFT": frozenset({"SUBMITTED", "CANCELED"}),
    "SUBMITTED": frozenset({"APPROVED", "CANCELED"}),
    "APPROVED": frozenset({"IN_TRANSIT", "CANCELED"}),
    "IN_TRANSIT": frozenset({"DELIVERED", "CANCELED"}),
    "DELIVERED": frozenset(),
    "CANCELED": frozenset(),
}

ShipmentType = Literal["HHG", "PPM", "NTS", "UHAUL", "UPS", "BOAT_HAUL_AWAY", "MOBILE_HOME"]


class BaselineAddress(BaseModel):
    """A US address as the contract describes it."""

    model_config = ConfigDict(extra="forbid")

    streetAddress1: Annotated[str, Field(min_length=1, max_length=200)]
    streetAddress2: Annotated[str | None, Field(max_length=200)] = None
    city: Annotated[str, Field(min_length=1, max_length=100)]
    state: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    postalCode: Annotated[str, Field(pattern=r"^\d{5}(-\d{4})?$")]


class BaselineFields(BaseModel):
    """Every client-writable field; unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid")

    shipmentType: ShipmentType
    requestedPickupDate: date | None = None
    deliveryDate: date | None = None
    pickupAddress: BaselineAddress | None = None
    destinationAddress: BaselineAddress | None = None
    weightLbs: Annotated[int | None, Field(ge=1, le=100_000)] = None
    customerRemarks: Annotated[str | None, Field(max_length=2000)] = None

    @model_validator(mode="after")
    def _delivery_not_before_pickup(self) -> BaselineFields:
        if (
            self.requestedPickupDate is not None
            and self.deliveryDate is not None
            and self.deliveryDate < self.requestedPickupDate
        ):
            raise ValueError("deliveryDate must not be before requestedPickupDate")
        return self


def client_fields(values: dict[str, Any]) -> dict[str, Any]:
    """Validate client-writable fields and return them in canonical JSON form."""
    dumped: dict[str, Any] = BaselineFields.model_validate(values).model_dump(mode="json")
    return dumped


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge recursively, ``null`` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def version_tag(shipment_id: UUID, version: int) -> str:
    """The opaque tag of one version, the same shape as the service's."""
    raw = f"{shipment_id}:{version}".encode("ascii")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def if_match_passes(header: str, current_tag: str) -> bool:
    """``*`` or any strong member (quoted or bare) equal to the current tag."""
    if header.strip() == "*":
        return True
    for member in header.split(","):
        tag = member.strip()
        if tag.startswith(("W/", "w/")):
            continue
        if tag.strip('"') == current_tag:
            return True
    return False


def status_move_allowed(current: str, requested: str) -> bool:
    """Whether the status machine allows ``current`` → ``requested`` (staying is fine)."""
    return requested == current or requested in NEXT_STATUSES.get(current, frozenset())


def timestamp_now() -> str:
    """RFC 3339 in UTC with microseconds, as the service renders it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
