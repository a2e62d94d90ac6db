"""Request and response models: the schema clients see in ``/openapi.json``.

The input models a write validates with live below the API
(``application.input_models``) and are shown from there; limits come from the
domain's constants, so the documented rules and the enforced ones cannot drift.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from api.http.history_models import HistoryItem
from application.input_models import (
    INPUT,
    KNOWN_STATE,
    NOT_BLANK,
    Absent,
    ServerOwned,
)
from domain.values import (
    MAX_REMARKS_LENGTH,
    MAX_TEXT_LENGTH,
    MAX_WEIGHT_LBS,
    MIN_WEIGHT_LBS,
    POSTAL_CODE_PATTERN,
    STATE_CODE_PATTERN,
    ShipmentType,
    Status,
)

_OUTPUT = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class AddressPatch(BaseModel):
    """A merge patch of an address: members sent replace, ``streetAddress2: null`` clears.

    The address that results must be complete (a 422 names what is missing).
    """

    model_config = INPUT

    # Optional, but not nullable: removing a required member leaves the address invalid.
    street_address1: (
        Annotated[str, Field(min_length=1, max_length=MAX_TEXT_LENGTH, json_schema_extra=NOT_BLANK)]
        | Absent
    ) = None
    street_address2: Annotated[str | None, Field(max_length=MAX_TEXT_LENGTH)] = None
    city: (
        Annotated[str, Field(min_length=1, max_length=MAX_TEXT_LENGTH, json_schema_extra=NOT_BLANK)]
        | Absent
    ) = None
    state: (
        Annotated[str, Field(pattern=STATE_CODE_PATTERN, json_schema_extra=KNOWN_STATE)] | Absent
    ) = None
    postal_code: Annotated[str, Field(pattern=POSTAL_CODE_PATTERN)] | Absent = None


class ShipmentPatch(BaseModel):
    """The body of PATCH: an RFC 7396 merge patch of the representation.

    Every member is optional: members left out keep their value, members set to
    null are cleared, address objects merge member by member. ``shipmentType``
    and ``status`` cannot be cleared. Documentation only: the patch is applied to
    the current representation and the result is validated as a ``ShipmentWrite``.
    """

    model_config = INPUT

    shipment_type: ShipmentType | Absent = Field(default=None, description="Cannot be null.")
    status: Status | Absent = Field(
        default=None, description="Cannot be null. Must follow the status machine."
    )
    requested_pickup_date: date | None = None
    delivery_date: date | None = Field(default=None, description="Not before requestedPickupDate.")
    pickup_address: AddressPatch | None = None
    destination_address: AddressPatch | None = None
    weight_lbs: Annotated[int | None, Field(ge=MIN_WEIGHT_LBS, le=MAX_WEIGHT_LBS)] = None
    customer_remarks: Annotated[str | None, Field(max_length=MAX_REMARKS_LENGTH)] = None
    # Server-owned: accepted only when equal to the current values.
    id: ServerOwned = None
    e_tag: ServerOwned = Field(default=None, alias="eTag")
    version: ServerOwned = None
    created_at: ServerOwned = None
    updated_at: ServerOwned = None


class AddressOut(BaseModel):
    """A US address as the service shows it."""

    model_config = _OUTPUT

    street_address1: str
    street_address2: str | None
    city: str
    state: str
    postal_code: str


class ShipmentOut(BaseModel):
    """The full representation of a shipment at one version."""

    model_config = _OUTPUT

    id: str
    e_tag: str = Field(alias="eTag", description="Opaque; equal to the ETag header unquoted.")
    version: int = Field(description="Stream position: the number of events so far.")
    status: Status
    shipment_type: ShipmentType
    requested_pickup_date: date | None
    delivery_date: date | None
    pickup_address: AddressOut | None
    destination_address: AddressOut | None
    weight_lbs: int | None
    customer_remarks: str | None
    created_at: str = Field(description="RFC 3339, UTC")
    updated_at: str = Field(description="RFC 3339, UTC")


class FieldError(BaseModel):
    """One invalid field of a request."""

    field: str
    reason: str


class Problem(BaseModel):
    """RFC 9457 problem details; extra members depend on the problem type."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = Field(default=None, description="On 422: each bad field.")
    current_version: int | None = Field(default=None, alias="currentVersion", description="On 412.")
    current_e_tag: str | None = Field(default=None, alias="currentETag", description="On 412.")
    current_status: str | None = Field(default=None, alias="currentStatus", description="On 409.")
    changes_since: list[HistoryItem] | None = Field(
        default=None,
        alias="changesSince",
        description="On 412 for a stale If-Match: the history items after the version it "
        "named (from creation when it named none of this shipment), oldest first, at most 50",
    )
    changes_since_complete: bool | None = Field(
        default=None,
        alias="changesSinceComplete",
        description="On 412: false when more changes followed (page on with /history?after=)",
    )
    conflicting_fields: list[str] | None = Field(
        default=None,
        alias="conflictingFields",
        description="On 412 with Prefer: conflict=merge: the fields both this write and "
        "another since its version changed (sorted)",
    )


class Health(BaseModel):
    """Liveness / readiness answer."""

    status: str
    checks: dict[str, str] = {}
