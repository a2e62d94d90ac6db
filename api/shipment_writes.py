"""The write endpoints' logic, in the order RFC 9110 and API.md prescribe.

For PUT and PATCH: idempotent replay → 404 → 428/412 (preconditions) → 415 →
400/422 (content) → 409 (domain) → append, where the store decides any race.
Runs in a worker thread: the store's drivers are synchronous.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastapi.responses import Response

from api.etags import etag_header, if_match_passes, if_none_match_matches, parse_condition
from api.idempotency_keys import request_fingerprint
from api.principals import Principal
from api.problems import HttpProblem
from api.shipment_input import (
    JSON,
    MERGE_PATCH,
    apply_merge_patch,
    check_server_owned,
    parse_json_object,
    reject_server_owned,
    require_content_type,
    to_domain,
    validate_write,
)
from domain.shipment import Shipment
from infrastructure.errors import IdempotencyKeyReused, VersionConflict
from infrastructure.idempotency import IdempotencyClaim
from infrastructure.shipment_service import AlreadyApplied, ShipmentService, WriteContext
from projections.shipment_document import encode_document, shipment_document


@dataclass(frozen=True)
class WriteRequest:
    """What the router hands over: the raw request parts that matter to a write."""

    method: str
    path: str
    body: bytes
    content_type: str | None
    principal: Principal
    request_id: str
    idempotency_key: str | None = None
    if_match: str | None = None
    if_none_match: str | None = None


def shipment_response(shipment: Shipment, status_code: int = 200) -> Response:
    """The representation of ``shipment`` with its ETag (and Location when created)."""
    headers = {"ETag": etag_header(shipment.id, shipment.version)}
    if status_code == 201:
        headers["Location"] = f"/v1/shipments/{shipment.id}"
    return Response(
        content=encode_document(shipment),
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


class ShipmentWrites:
    """Create, replace and merge-patch, each as at most one appended event."""

    def __init__(self, service: ShipmentService) -> None:
        self._service = service

    def create(self, request: WriteRequest) -> Response:
        claim = self._claim(request, 201)
        replay = self._replay(claim)
        if replay is not None:
            return replay
        require_content_type(request.content_type, (JSON,))
        body = parse_json_object(request.body)
        reject_server_owned(body)
        details, status = to_domain(validate_write(body))
        if status is not None:
            raise HttpProblem(
                422,
                "a new shipment is always DRAFT; leave status out",
                type_="/problems/invalid-request",
                errors=[{"field": "status", "reason": "cannot be set on create"}],
            )
        try:
            shipment = self._service.create(details, self._context(request, claim))
        except AlreadyApplied as applied:
            return self._replay_record(applied)
        return shipment_response(shipment, 201)

    def replace(self, shipment_id: UUID, request: WriteRequest) -> Response:
        return self._write(shipment_id, request, self._replacement)

    def patch(self, shipment_id: UUID, request: WriteRequest) -> Response:
        return self._write(shipment_id, request, self._patched)

    def _write(self, shipment_id: UUID, request: WriteRequest, body_of: Any) -> Response:
        claim = self._claim(request, 200)
        replay = self._replay(claim)
        if replay is not None:
            return replay
        shipment = self._service.load(shipment_id)
        self._check_preconditions(shipment, request)
        current = shipment_document(shipment)
        body: dict[str, Any] = body_of(request, current)
        check_server_owned(body, current)
        details, status = to_domain(validate_write(body))
        try:
            self._service.revise(shipment, details, status, self._context(request, claim))
        except AlreadyApplied as applied:
            return self._replay_record(applied)
        return shipment_response(shipment)

    @staticmethod
    def _replacement(request: WriteRequest, current: dict[str, Any]) -> dict[str, Any]:
        require_content_type(request.content_type, (JSON,))
        return parse_json_object(request.body)

    @staticmethod
    def _patched(request: WriteRequest, current: dict[str, Any]) -> dict[str, Any]:
        require_content_type(request.content_type, (MERGE_PATCH, JSON))
        patch = parse_json_object(request.body)
        if "status" in patch and patch["status"] is None:
            raise HttpProblem(
                422,
                "status cannot be removed",
                type_="/problems/invalid-request",
                errors=[{"field": "status", "reason": "cannot be null"}],
            )
        merged: dict[str, Any] = apply_merge_patch(current, patch)
        return merged

    def _check_preconditions(self, shipment: Shipment, request: WriteRequest) -> None:
        if request.if_none_match is not None and if_none_match_matches(
            parse_condition(request.if_none_match), shipment.id, shipment.version
        ):
            raise VersionConflict(shipment.id, shipment.version)
        if request.if_match is None:
            raise HttpProblem(
                428,
                "this write needs an If-Match header with the shipment's current ETag",
                headers={"ETag": etag_header(shipment.id, shipment.version)},
            )
        if not if_match_passes(parse_condition(request.if_match), shipment.id, shipment.version):
            raise VersionConflict(shipment.id, shipment.version)

    @staticmethod
    def _claim(request: WriteRequest, status_code: int) -> IdempotencyClaim | None:
        if request.idempotency_key is None:
            return None
        return IdempotencyClaim(
            principal=request.principal.subject,
            key=request.idempotency_key,
            fingerprint=request_fingerprint(request.method, request.path, request.body),
            status_code=status_code,
        )

    def _replay(self, claim: IdempotencyClaim | None) -> Response | None:
        """The original answer of a write already made with this key, if any."""
        if claim is None:
            return None
        record = self._service.recall(claim.principal, claim.key)
        if record is None:
            return None
        if record.fingerprint != claim.fingerprint:
            raise IdempotencyKeyReused(claim.key)
        return self._replay_record(AlreadyApplied(record))

    def _replay_record(self, applied: AlreadyApplied) -> Response:
        record = applied.record
        shipment = self._service.load_version(record.shipment_id, record.version)
        return shipment_response(shipment, record.status_code)

    @staticmethod
    def _context(request: WriteRequest, claim: IdempotencyClaim | None) -> WriteContext:
        return WriteContext(
            actor=request.principal.subject, request_id=request.request_id, idempotency=claim
        )
