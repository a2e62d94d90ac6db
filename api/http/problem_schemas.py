"""The problem+json bodies, one schema per family of answers, as ``/openapi.json`` shows them.

A client generated from the document must tell a 409 from a 412 by its type, and
read the members each one carries, without a cast: so each status whose answers
carry members of their own has its own schema, with ``type`` an enum of the
problem types it can be (``api.http.problems`` makes them; ``problem_pages``
documents each). Documentation only: ``api.http.problems`` renders the bodies.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic.json_schema import SkipJsonSchema

from api.http.history_models import HistoryItem
from domain.values import Status

_PROBLEM = ConfigDict(alias_generator=to_camel, populate_by_name=True)
# A member that only some answers carry: left out, never null, in the others.
Absent = SkipJsonSchema[None]


class FieldError(BaseModel):
    """One invalid field of a request."""

    field: str = Field(description="The field's API name; nested members joined with dots")
    reason: str


class _ProblemDetails(BaseModel):
    """RFC 9457 members every problem has beside its type and status."""

    model_config = _PROBLEM

    title: str = Field(description="The same for every answer of one type")
    detail: str = Field(description="What happened to this request, for a person to read")
    instance: str | Absent = Field(None, description="The path of the request")


class Problem(_ProblemDetails):
    """RFC 9457 problem details of an answer whose status says it all."""

    type: Literal["about:blank"] = Field(
        description="`about:blank`: the status says it all. The answers that need more "
        "(409, 412, 422) have a `/problems/…` type whose page says what happened and what "
        "to do"
    )
    status: int


class ValidationProblem(_ProblemDetails):
    """422: the request broke a rule of the contract, or reused an Idempotency-Key."""

    type: Literal["/problems/invalid-request", "/problems/idempotency-key-reused"]
    status: Literal[422]
    errors: list[FieldError] | Absent = Field(
        None, description="On /problems/invalid-request: each bad or unknown field, and why"
    )


class StatusConflictProblem(_ProblemDetails):
    """409: the status machine forbids the move, or the shipment is closed."""

    type: Literal["/problems/illegal-transition", "/problems/shipment-closed"]
    status: Literal[409]
    current_status: Status = Field(description="Where the shipment stands")
    requested_status: Status | Absent = Field(
        None, description="On /problems/illegal-transition: the status that was asked for"
    )
    allowed_statuses: list[Status] = Field(
        description="The statuses the shipment may move to from here (empty when closed)"
    )


class PreconditionProblem(_ProblemDetails):
    """412: the write's If-Match (or If-None-Match) does not let it through."""

    type: Literal[
        "/problems/version-conflict", "/problems/unknown-tag", "/problems/if-none-match-matched"
    ] = Field(
        description="version-conflict: another writer changed the shipment since the version "
        "If-Match names; unknown-tag: If-Match names no version of this shipment; "
        "if-none-match-matched: If-None-Match matched"
    )
    status: Literal[412]
    current_version: int = Field(description="The shipment's version now")
    current_e_tag: str = Field(alias="currentETag", description="Its ETag now (unquoted)")
    changes_since: list[HistoryItem] | Absent = Field(
        None,
        description="On version-conflict: the history items after the version If-Match "
        "named, oldest first, at most 50",
    )
    changes_since_complete: bool | Absent = Field(
        None,
        description="On version-conflict: false when more changes followed (page on with "
        "/history?after=)",
    )
    conflicting_fields: list[str] | Absent = Field(
        None,
        description="With Prefer: conflict=merge: the fields both this write and another "
        "since its version changed (sorted)",
    )


PROBLEM_MODELS: tuple[type[BaseModel], ...] = (
    Problem,
    ValidationProblem,
    StatusConflictProblem,
    PreconditionProblem,
)
