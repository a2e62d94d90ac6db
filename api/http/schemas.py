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
    null are cleared, address objects merge member by member. `shipmentType` and
    `status` cannot be cleared. The result must be a valid shipment, as for PUT;
    server-owned fields may be sent back unchanged, as for PUT.
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


class ErasedAddressOut(BaseModel):
    """What an erasure leaves of an address: its state alone."""

    model_config = _OUTPUT

    state: str


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
    pickup_address: AddressOut | ErasedAddressOut | None
    destination_address: AddressOut | ErasedAddressOut | None
    weight_lbs: int | None
    customer_remarks: str | None
    created_at: str = Field(description="RFC 3339, UTC")
    updated_at: str = Field(description="RFC 3339, UTC")
    personal_data_erased_at: str | None = Field(
        description="RFC 3339, UTC: when the personal data (addresses but their state, "
        "remarks) was last erased; null when never"
    )


class Health(BaseModel):
    """Liveness / readiness answer."""

    status: str
    checks: dict[str, str] = {}
