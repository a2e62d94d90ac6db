"""A write's body as HTTP carries it: its media type and its JSON, read before the write.

What the body asks for is the use case's to judge (``application.shipment_input``);
here only whether it can be read at all: 415 for another media type, 400 for
malformed JSON, 422 for a JSON value that is not an object.
"""

from __future__ import annotations

from typing import Any

import orjson

from api.http.problems import HttpProblem, validation_problem

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


def json_body(content_type: str | None, body: bytes, accepted: tuple[str, ...]) -> dict[str, Any]:
    """The body as a JSON object, in one of the ``accepted`` media types."""
    require_content_type(content_type, accepted)
    return parse_json_object(body)
