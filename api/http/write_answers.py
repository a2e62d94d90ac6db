"""A write request read into a command for the write use case, and its result answered.

Both ways in — the routes (``api.http.routers.shipments``) and the doors
(``api.edge.writes``) — call ``WriteAnswers``; the write itself is decided
below HTTP (``application.shipment_writes``). Here only HTTP's part: the
headers' conditions as versions of the shipment, the body's media type and
JSON, the ``Prefer`` header, and each result as a status, headers and body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastapi.responses import Response

from api.http.etags import etag_header, parse_condition
from api.http.idempotency_keys import request_fingerprint
from api.http.preferences import MERGE_ON_CONFLICT, prefers_merge
from api.http.problems import HttpProblem, to_problem, version_conflict_problem
from api.http.write_bodies import JSON, MERGE_PATCH, json_body
from api.plumbing.principals import Principal
from application.shipment_writes import ShipmentWrites
from application.write_commands import (
    Author,
    Body,
    BodyRefusal,
    Condition,
    CreateShipment,
    Invalid,
    NotFound,
    PreconditionMissing,
    RefusedByRule,
    Replayed,
    ReviseShipment,
    Stale,
    Unchanged,
    WriteResult,
    Written,
)
from domain.shipment import Shipment
from infrastructure.errors import VersionConflict
from infrastructure.shipment_service import ShipmentService
from projections.shipment_document import encode_document
from projections.version_tags import decode_tag


@dataclass(frozen=True)
class WriteRequest:
    """What a door hands over: the raw request parts that matter to a write."""

    method: str
    path: str
    body: bytes
    content_type: str | None
    principal: Principal
    request_id: str
    idempotency_key: str | None = None
    if_match: str | None = None
    if_none_match: str | None = None
    prefer: str | None = None  # every Prefer line, folded into one list


class WriteAnswers:
    """POST, PUT and PATCH of shipments, as the write use case decides them."""

    def __init__(self, service: ShipmentService) -> None:
        self._writes = ShipmentWrites(service)

    async def create(self, request: WriteRequest) -> Response:
        body = _body(request, (JSON,))
        result = await self._writes.create(CreateShipment(body, _author(request)))
        return answer(result)

    async def replace(self, shipment_id: UUID, request: WriteRequest) -> Response:
        return answer(await self._writes.revise(_revision(shipment_id, request, "replace")))

    async def patch(self, shipment_id: UUID, request: WriteRequest) -> Response:
        return answer(await self._writes.revise(_revision(shipment_id, request, "patch")))


def answer(result: WriteResult) -> Response:
    """The response to a write's result; a refusal is raised as its problem."""
    if isinstance(result, Written):
        status = 201 if result.created else 200
        return shipment_response(
            result.shipment, status, merged=result.merged, document=result.document
        )
    if isinstance(result, Unchanged):
        return shipment_response(result.shipment, merged=result.merged, document=result.document)
    if isinstance(result, Replayed):
        return shipment_response(
            result.shipment, 201 if result.created else 200, merged=result.merged
        )
    raise _problem(result)


def shipment_response(
    shipment: Shipment,
    status_code: int = 200,
    *,
    merged: bool = False,
    document: bytes | None = None,
) -> Response:
    """The representation of ``shipment`` with its ETag (and Location when created).

    ``document``: the representation already rendered (the view row's bytes).
    """
    headers = {"ETag": etag_header(shipment.id, shipment.version)}
    if status_code == 201:
        headers["Location"] = f"/v1/shipments/{shipment.id}"
    if merged:
        headers["Preference-Applied"] = MERGE_ON_CONFLICT
    return Response(
        content=encode_document(shipment) if document is None else document,
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def parse_shipment_id(text: str) -> UUID:
    """A malformed id names no shipment: 404, never 500."""
    try:
        return UUID(text)
    except ValueError:
        raise HttpProblem(404, "no such shipment") from None


def condition(header: str, shipment_id: UUID, *, strong_only: bool) -> Condition:
    """What an ``If-Match`` (strong comparison) or ``If-None-Match`` (weak) list names
    of this shipment (RFC 9110 §13.1): ``*``, or the versions its tags name."""
    parsed = parse_condition(header)
    if parsed.any_current:
        return Condition(any_version=True)
    versions = frozenset(
        named.version
        for tag in parsed.tags
        if not (strong_only and tag.weak)
        and (named := decode_tag(tag.opaque)) is not None
        and named.shipment_id == shipment_id
    )
    return Condition(versions=versions)


def _revision(shipment_id: UUID, request: WriteRequest, kind: str) -> ReviseShipment:
    body = _body(request, (JSON,) if kind == "replace" else (MERGE_PATCH, JSON))
    return ReviseShipment(
        shipment_id,
        "replace" if kind == "replace" else "patch",
        body,
        _author(request),
        expected=None
        if request.if_match is None
        else condition(request.if_match, shipment_id, strong_only=True),
        unless=None
        if request.if_none_match is None
        else condition(request.if_none_match, shipment_id, strong_only=False),
        merge=prefers_merge(request.prefer),
    )


def _body(request: WriteRequest, accepted: tuple[str, ...]) -> Body:
    """The body's JSON object, or why it cannot be read (answered in its turn)."""
    try:
        return json_body(request.content_type, request.body, accepted)
    except HttpProblem as refusal:
        return BodyRefusal(refusal)


def _author(request: WriteRequest) -> Author:
    key = request.idempotency_key
    return Author(
        actor=request.principal.subject,
        request_id=request.request_id,
        idempotency_key=key,
        fingerprint=""
        if key is None
        else request_fingerprint(request.method, request.path, request.body),
    )


def _problem(result: WriteResult) -> HttpProblem:
    """The problem a refused write is answered with."""
    if isinstance(result, NotFound):
        return HttpProblem(404, "no such shipment")
    if isinstance(result, PreconditionMissing):
        return HttpProblem(
            428,
            "this write needs an If-Match header with the shipment's current ETag",
            headers={"ETag": etag_header(result.shipment_id, result.current_version)},
        )
    if isinstance(result, Stale):
        return _stale_problem(result)
    assert isinstance(result, Invalid | RefusedByRule)
    problem = to_problem(result.error)
    if problem is None:  # every refusal a write can meet has its problem
        raise result.error
    return problem


def _stale_problem(result: Stale) -> HttpProblem:
    conflict = VersionConflict(result.shipment_id, result.current_version)
    if result.reason == "foreign":
        return version_conflict_problem(
            conflict,
            detail="the If-Match header names no version of this shipment (a tag of another "
            "shipment, a weak tag, or not a tag of ours); read the shipment and retry with "
            f"its current ETag (version {result.current_version})",
        )
    extensions: dict[str, Any] = {}
    if result.changes is not None:
        extensions = {
            "changesSince": result.changes.items,
            "changesSinceComplete": result.changes.complete,
        }
    if result.conflicting_fields:
        extensions["conflictingFields"] = list(result.conflicting_fields)
    return version_conflict_problem(conflict, None, **extensions)
