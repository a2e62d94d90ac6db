"""Request and response models: the schema clients see in ``/openapi.json``.

Limits come from the domain's constants, so the documented rules and the
enforced ones cannot drift apart. Models are strict (no "4200" for 4200) and
forbid unknown fields, so a typo is a 422, never silently dropped.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from api.http.history_models import HistoryItem
from domain.values import (
    MAX_REMARKS_LENGTH,
    MAX_TEXT_LENGTH,
    MAX_WEIGHT_LBS,
    MIN_WEIGHT_LBS,
    POSTAL_CODE_PATTERN,
    STATE_CODE_PATTERN,
    US_STATE_CODES,
    ShipmentType,
    Status,
)

# A member that may be left out but not sent as null (the schema shows no null).
Absent = SkipJsonSchema[None]

# What the domain checks beyond pydantic, stated in the schema too: a state code
# from the list, and a required text that is not blank.
STATE_CODES = sorted(US_STATE_CODES)
_KNOWN_STATE: JsonDict = {"enum": list(STATE_CODES)}
_NOT_BLANK: JsonDict = {"pattern": r"\S"}
# Server-owned members: a client may echo them back unchanged, never set them.
_SERVER_OWNED: JsonDict = {"readOnly": True}


def _never_null(schema: JsonDict) -> None:
    """Document an optional member without null: the server refuses an explicit null."""
    branches = schema.pop("anyOf", [])
    assert isinstance(branches, list)
    kept = [branch for branch in branches if branch != {"type": "null"}]
    schema.pop("default", None)  # left out means "unchanged", not null
    if len(kept) == 1 and isinstance(kept[0], dict):
        schema.update(kept[0])
    else:
        schema["anyOf"] = kept


_INPUT = ConfigDict(alias_generator=to_camel, populate_by_name=False, extra="forbid", strict=True)
_OUTPUT = ConfigDict(alias_generator=to_camel, populate_by_name=True)


ServerOwned = Annotated[
    Any,
    Field(
        description="Server-owned: may only repeat the current value.",
        json_schema_extra=_SERVER_OWNED,
    ),
]
"""A server-owned field a client may send back unchanged (any other value is a 422)."""


class AddressIn(BaseModel):
    """A US address as a client sends it."""

    model_config = _INPUT

    street_address1: Annotated[
        str, Field(min_length=1, max_length=MAX_TEXT_LENGTH, json_schema_extra=_NOT_BLANK)
    ]
    street_address2: Annotated[str | None, Field(max_length=MAX_TEXT_LENGTH)] = None
    city: Annotated[
        str, Field(min_length=1, max_length=MAX_TEXT_LENGTH, json_schema_extra=_NOT_BLANK)
    ]
    state: Annotated[
        str,
        Field(
            pattern=STATE_CODE_PATTERN,
            description="USPS state code",
            json_schema_extra=_KNOWN_STATE,
        ),
    ]
    postal_code: Annotated[str, Field(pattern=POSTAL_CODE_PATTERN)]


class ShipmentCreate(BaseModel):
    """The body of POST: the client-writable fields (a new shipment is always DRAFT).

    Optional fields left out become null.
    """

    model_config = _INPUT

    shipment_type: ShipmentType
    requested_pickup_date: date | None = None
    delivery_date: date | None = Field(default=None, description="Not before requestedPickupDate.")
    pickup_address: AddressIn | None = None
    destination_address: AddressIn | None = None
    weight_lbs: Annotated[int | None, Field(ge=MIN_WEIGHT_LBS, le=MAX_WEIGHT_LBS)] = None
    customer_remarks: Annotated[str | None, Field(max_length=MAX_REMARKS_LENGTH)] = None


class ShipmentWrite(ShipmentCreate):
    """The body of PUT (and of a merge patch once applied).

    Optional fields left out become null. ``status`` left out keeps its value.
    Server-owned fields may be echoed back unchanged and are otherwise a 422.
    """

    status: Status | None = Field(
        default=None,
        description="Left out: unchanged. Must follow the status machine. Never null.",
        json_schema_extra=_never_null,
    )
    # Server-owned: accepted only when equal to the current values.
    id: ServerOwned = None
    e_tag: ServerOwned = Field(default=None, alias="eTag")
    version: ServerOwned = None
    created_at: ServerOwned = None
    updated_at: ServerOwned = None
    personal_data_erased_at: ServerOwned = None


class AddressPatch(BaseModel):
    """A merge patch of an address: members sent replace, ``streetAddress2: null`` clears.

    The address that results must be complete (a 422 names what is missing).
    """

    model_config = _INPUT

    # Optional, but not nullable: removing a required member leaves the address invalid.
    street_address1: (
        Annotated[
            str, Field(min_length=1, max_length=MAX_TEXT_LENGTH, json_schema_extra=_NOT_BLANK)
        ]
        | Absent
    ) = None
    street_address2: Annotated[str | None, Field(max_length=MAX_TEXT_LENGTH)] = None
    city: (
        Annotated[
            str, Field(min_length=1, max_length=MAX_TEXT_LENGTH, json_schema_extra=_NOT_BLANK)
        ]
        | Absent
    ) = None
    state: (
        Annotated[str, Field(pattern=STATE_CODE_PATTERN, json_schema_extra=_KNOWN_STATE)] | Absent
    ) = None
    postal_code: Annotated[str, Field(pattern=POSTAL_CODE_PATTERN)] | Absent = None


class ShipmentPatch(BaseModel):
    """The body of PATCH: an RFC 7396 merge patch of the representation.

    Every member is optional: members left out keep their value, members set to
    null are cleared, address objects merge member by member. ``shipmentType``
    and ``status`` cannot be cleared. Documentation only: the patch is applied to
    the current representation and the result is validated as a ``ShipmentWrite``.
    """

    model_config = _INPUT

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
