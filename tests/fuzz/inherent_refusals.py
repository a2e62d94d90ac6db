"""A schemathesis check (loaded with ``SCHEMATHESIS_HOOKS``): schema-valid requests are accepted.

It replaces schemathesis's own ``positive_data_acceptance``, which would also flag
the refusals no schema can prevent. Each one allowed here says why it is inherent;
any other refusal of a request the document calls valid means the document is
looser than the server, and fails the run.
"""

from __future__ import annotations

from typing import Any

import schemathesis

from application.validation_messages import WRITE_AS_INTEGER

# Refusals that depend on the store's state, not on the request's form.
INHERENT_STATUSES = {
    401: "a token the store does not have (schemathesis also probes without one)",
    403: "a role the token does not have",
    404: "an id, a version or an instant the store does not have",
    409: "the status machine allows a move only from the current status",
}
INHERENT_PROBLEM_TYPES = {
    # The tag names another version than the current one (or none at all): the
    # whole point of conditional writes. A schema cannot know the current tag.
    (412, "/problems/version-conflict"),
    (412, "/problems/unknown-tag"),
    (412, "/problems/if-none-match-matched"),
    # The same Idempotency-Key with a different request: the store remembers keys.
    (422, "/problems/idempotency-key-reused"),
}
# Fields whose rule compares with another value or with stored state, which JSON
# Schema cannot state.
INHERENT_FIELDS = {
    "cursor": "only a cursor this list issued (for this sort) names a position",
    "deliveryDate": "may not be before requestedPickupDate",
    "deliveryDateFrom": "may not be after deliveryDateTo",
    "pickupAddress": "a merge patch must leave the stored address complete",
    "destinationAddress": "a merge patch must leave the stored address complete",
    "url": "a subscription's host must resolve, and to a public address (DNS, not the form)",
}


# JSON Schema counts 4200.0 as an integer; the server, strict about types (no
# "4200" for 4200 either), wants 4200 written as an integer.
INTEGRAL_FLOAT = WRITE_AS_INTEGER


def _inherent(status: int, problem: dict[str, Any]) -> bool:
    if status in INHERENT_STATUSES:
        return True
    if (status, problem.get("type")) in INHERENT_PROBLEM_TYPES:
        return True
    errors = problem.get("errors") or []
    return (
        status == 422
        and problem.get("type") == "/problems/invalid-request"
        and bool(errors)
        and all(
            str(error.get("field", "")).split(".")[0] in INHERENT_FIELDS
            or error.get("reason") == INTEGRAL_FLOAT
            for error in errors
        )
    )


@schemathesis.check
def schema_valid_requests_are_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """A request the document calls valid is refused only for an inherent reason."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code < 400:
        return None
    if response.status_code >= 500:
        return None  # not_a_server_error reports it
    problem: dict[str, Any] = {}
    media_type = response.headers.get("content-type", [""])[0]
    if media_type.startswith("application/problem+json") and response.content:
        problem = response.json()  # HEAD answers have none
    if not _inherent(response.status_code, problem):
        raise AssertionError(
            f"a schema-valid request was refused with {response.status_code}: {problem}"
        )
    return None
