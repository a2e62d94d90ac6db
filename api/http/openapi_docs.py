"""Reusable OpenAPI fragments, so every documented answer has its schema and headers.

The constraints documented here are the ones the server enforces, taken from the
constants that enforce them: a request the document calls valid is never refused
for its form (``tests/fuzz`` holds the server to that).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from api.http.idempotency_keys import KEY_MAX_LENGTH, KEY_PATTERN
from api.http.schemas import ShipmentOut

ShipmentIdPath = Annotated[
    str,
    Path(
        description="The shipment's id (any other text is a 404)",
        json_schema_extra={"format": "uuid"},
    ),
]

ETAG_HEADER = {
    "ETag": {
        "description": "Strong entity tag of the shipment version (quoted, opaque)",
        "schema": {"type": "string"},
    }
}
IDEMPOTENCY_KEY_SCHEMA = {"minLength": 1, "maxLength": KEY_MAX_LENGTH, "pattern": KEY_PATTERN}
# What ``projections.shipment_list.encode_cursor`` issues: unpadded base64url.
CURSOR_SCHEMA = {"minLength": 1, "pattern": "^[A-Za-z0-9_-]+$"}

SHIPMENT_ID = "0b6f3a8e-5c1d-4f2a-9a57-3c1e2d4b6f70"
SHIPMENT_ETAG = "MGI2ZjNhOGUtNWMxZC00ZjJhLTlhNTctM2MxZTJkNGI2ZjcwOjM"
EXAMPLE_ADDRESS = {
    "streetAddress1": "812 S 129th Street",
    "streetAddress2": None,
    "city": "San Diego",
    "state": "CA",
    "postalCode": "92102",
}
EXAMPLE_CREATE = {
    "shipmentType": "UHAUL",
    "requestedPickupDate": "2020-05-28",
    "deliveryDate": "2020-06-01",
    "destinationAddress": EXAMPLE_ADDRESS,
    "weightLbs": 4200,
}
EXAMPLE_REPLACE = {
    **EXAMPLE_CREATE,
    "status": "SUBMITTED",
    "pickupAddress": None,
    "customerRemarks": "Call before delivery",
}
EXAMPLE_PATCH = {"status": "SUBMITTED", "weightLbs": 4200}
EXAMPLE_SHIPMENT = {
    "id": SHIPMENT_ID,
    "eTag": SHIPMENT_ETAG,
    "version": 3,
    "status": "SUBMITTED",
    "shipmentType": "UHAUL",
    "requestedPickupDate": "2020-05-28",
    "deliveryDate": "2020-06-01",
    "pickupAddress": None,
    "destinationAddress": EXAMPLE_ADDRESS,
    "weightLbs": 4200,
    "customerRemarks": None,
    "createdAt": "2020-05-01T18:56:13.369174Z",
    "updatedAt": "2020-05-02T09:12:44.001200Z",
    "personalDataErasedAt": None,
}
EXAMPLE_CONFLICT = {
    "type": "/problems/version-conflict",
    "title": "The shipment was changed by someone else",
    "status": 412,
    "detail": "the shipment has changed: it is now at version 4; read it again and retry "
    "with its current ETag",
    "instance": f"/v1/shipments/{SHIPMENT_ID}",
    "currentVersion": 4,
    "currentETag": "MGI2ZjNhOGUtNWMxZC00ZjJhLTlhNTctM2MxZTJkNGI2ZjcwOjQ",
}
EXAMPLE_ILLEGAL_TRANSITION = {
    "type": "/problems/illegal-transition",
    "title": "The status cannot change that way",
    "status": 409,
    "detail": "a DRAFT shipment cannot move to APPROVED; from DRAFT it may move to "
    "SUBMITTED or CANCELED",
    "instance": f"/v1/shipments/{SHIPMENT_ID}",
    "currentStatus": "DRAFT",
    "requestedStatus": "APPROVED",
    "allowedStatuses": ["SUBMITTED", "CANCELED"],
}


def problem(
    description: str,
    headers: dict[str, Any] | None = None,
    example: dict[str, Any] | None = None,
    schema: str = "Problem",
) -> dict[str, Any]:
    """A documented answer in ``application/problem+json`` only (never ``application/json``).

    ``schema`` names one of ``api.http.problem_schemas.PROBLEM_MODELS``, which the
    document adds to its components.
    """
    content: dict[str, Any] = {"schema": {"$ref": f"#/components/schemas/{schema}"}}
    if example is not None:
        content["example"] = example
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/problem+json": content},
    }
    if headers:
        answer["headers"] = headers
    return answer


def shipment_answer(
    description: str, extra_headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A documented answer carrying a shipment and its ETag."""
    return {
        "description": description,
        "model": ShipmentOut,
        "headers": {**ETAG_HEADER, **(extra_headers or {})},
        "content": {"application/json": {"example": EXAMPLE_SHIPMENT}},
    }


COMMON_PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: problem("Malformed request (bad JSON, bad header)"),
    401: problem(
        "Missing or unknown bearer token", {"WWW-Authenticate": {"schema": {"type": "string"}}}
    ),
    403: problem("The token's role does not allow this"),
    422: problem(
        "Invalid request: each bad or unknown field is named in `errors`",
        schema="ValidationProblem",
    ),
    500: problem("Unexpected server error (no internals are disclosed)"),
    503: problem(
        "The store is unavailable; retry after the indicated delay",
        {"Retry-After": {"schema": {"type": "string"}, "description": "Seconds"}},
    ),
}

WRITE_PROBLEMS: dict[int | str, dict[str, Any]] = {
    **COMMON_PROBLEMS,
    409: problem(
        "The status machine forbids this change, or the shipment is closed; "
        "`allowedStatuses` lists where it may go",
        example=EXAMPLE_ILLEGAL_TRANSITION,
        schema="StatusConflictProblem",
    ),
    413: problem("Body over 64 KiB"),
    415: problem("Wrong Content-Type"),
}

PRECONDITION_PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: problem("No such shipment"),
    412: problem(
        "The If-Match tag is not current (`/problems/version-conflict`: another writer got "
        "there first; the body has changesSince and changesSinceComplete, and "
        "conflictingFields when a merge was preferred but fields overlap), names no version "
        "of this shipment (`/problems/unknown-tag`), or If-None-Match matched; every one "
        "has currentVersion and currentETag",
        ETAG_HEADER,
        EXAMPLE_CONFLICT,
        schema="PreconditionProblem",
    ),
    428: problem("If-Match is required", ETAG_HEADER),
}

# ``If-Match`` is required on PUT and PATCH. The route reads it as optional and
# answers its absence itself (428 with the current ETag, after the 404 of an
# unknown shipment, as RFC 9110 orders them), so it is declared here instead of
# from the route's signature.
IF_MATCH_REQUIRED: dict[str, Any] = {
    "parameters": [
        {
            "name": "If-Match",
            "in": "header",
            "required": True,
            "description": 'The ETag you read: "tag", a bare tag, a list of tags, or * '
            "(any current version). Weak tags never match. Without it: 428.",
            "schema": {"type": "string"},
            "example": f'"{SHIPMENT_ETAG}"',
        }
    ]
}


def request_body(
    media_types: tuple[str, ...],
    description: str,
    model: str = "ShipmentWrite",
    example: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``openapi_extra`` documenting a body the route reads itself (to keep RFC order).

    ``model`` names one of the body models the app factory adds to the components.
    """
    content: dict[str, Any] = {"schema": {"$ref": f"#/components/schemas/{model}"}}
    if example is not None:
        content["example"] = example
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {media_type: content for media_type in media_types},
        }
    }
