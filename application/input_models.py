"""What a client may send as a shipment: the input models, strict, in the API's names.

They are the contract of a write's body, so the write use case validates with
them (``application.shipment_input``) and the OpenAPI document shows them
(``api.http.schemas``): the documented rules and the enforced ones are one.
Limits come from the domain's constants. Models are strict (no "4200" for
4200) and forbid unknown fields, so a typo is a 422, never silently dropped.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

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
KNOWN_STATE: JsonDict = {"enum": list(STATE_CODES)}
NOT_BLANK: JsonDict = {"pattern": r"\S"}
# Server-owned members: a client may echo them back unchanged, never set them.
SERVER_OWNED_SCHEMA: JsonDict = {"readOnly": True}


def never_null(schema: JsonDict) -> None:
    """Document an optional member without null: the server refuses an explicit null."""
    branches = schema.pop("anyOf", [])
    assert isinstance(branches, list)
    kept = [branch for branch in branches if branch != {"type": "null"}]
    schema.pop("default", None)  # left out means "unchanged", not null
    if len(kept) == 1 and isinstance(kept[0], dict):
        schema.update(kept[0])
    else:
        schema["anyOf"] = kept


INPUT = ConfigDict(alias_generator=to_camel, populate_by_name=False, extra="forbid", strict=True)


ServerOwned = Annotated[
    Any,
    Field(
        description="Server-owned: may only repeat the current value.",
        json_schema_extra=SERVER_OWNED_SCHEMA,
    ),
]
"""A server-owned field a client may send back unchanged (any other value is a 422)."""


class AddressIn(BaseModel):
    """A US address as a client sends it."""

    model_config = INPUT

    street_address1: Annotated[
        str, Field(min_length=1, max_length=MAX_TEXT_LENGTH, json_schema_extra=NOT_BLANK)
    ]
    street_address2: Annotated[str | None, Field(max_length=MAX_TEXT_LENGTH)] = None
    city: Annotated[
        str, Field(min_length=1, max_length=MAX_TEXT_LENGTH, json_schema_extra=NOT_BLANK)
    ]
    state: Annotated[
        str,
        Field(
            pattern=STATE_CODE_PATTERN,
            description="USPS state code",
            json_schema_extra=KNOWN_STATE,
        ),
    ]
    postal_code: Annotated[str, Field(pattern=POSTAL_CODE_PATTERN)]


class ShipmentCreate(BaseModel):
    """The body of POST: the client-writable fields (a new shipment is always DRAFT).

    Optional fields left out become null.
    """

    model_config = INPUT

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
        json_schema_extra=never_null,
    )
    # Server-owned: accepted only when equal to the current values.
    id: ServerOwned = None
    e_tag: ServerOwned = Field(default=None, alias="eTag")
    version: ServerOwned = None
    created_at: ServerOwned = None
    updated_at: ServerOwned = None
