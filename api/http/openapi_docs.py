"""Reusable OpenAPI fragments, so every documented answer has its schema and headers."""

from __future__ import annotations

from typing import Any

from api.http.schemas import Problem, ShipmentOut

PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
ETAG_HEADER = {
    "ETag": {
        "description": "Strong entity tag of the shipment version (quoted, opaque)",
        "schema": {"type": "string"},
    }
}


def problem(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """A documented problem+json answer."""
    answer: dict[str, Any] = {
        "description": description,
        "content": PROBLEM_CONTENT,
        "model": Problem,
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
    }


COMMON_PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: problem("Malformed request (bad JSON, bad header)"),
    401: problem(
        "Missing or unknown bearer token", {"WWW-Authenticate": {"schema": {"type": "string"}}}
    ),
    403: problem("The token's role does not allow this"),
    422: problem("Invalid request: each bad or unknown field is named in `errors`"),
    500: problem("Unexpected server error (no internals are disclosed)"),
    503: problem("The store is unavailable; retry after the indicated delay"),
}

WRITE_PROBLEMS: dict[int | str, dict[str, Any]] = {
    **COMMON_PROBLEMS,
    409: problem("The status machine forbids this change, or the shipment is closed"),
    413: problem("Body over 64 KiB"),
    415: problem("Wrong Content-Type"),
}


def request_body(
    media_types: tuple[str, ...], description: str, model: str = "ShipmentWrite"
) -> dict[str, Any]:
    """``openapi_extra`` documenting a body the route reads itself (to keep RFC order).

    ``model`` names one of the body models the app factory adds to the components.
    """
    schema = {"$ref": f"#/components/schemas/{model}"}
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {media_type: {"schema": schema} for media_type in media_types},
        }
    }
