"""The write endpoints' logic, in the order RFC 9110 and API.md prescribe.

For PUT and PATCH: idempotent replay → 404 → 428/412 (preconditions) → 415 →
400/422 (content) → 409 (domain) → append, where the store decides any race.
That decision is first made on this process's cached state and, unless the store
confirmed it, made once more on the state read from the store (see ``_write``).
The common case (no Idempotency-Key, an accepted append) is decided in the event
loop and only its append waits, on the group committer (``*_in_loop``); everything
else runs in a worker thread, because the store's drivers are synchronous.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

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
from domain.details import ShipmentDetails
from domain.errors import DomainError
from domain.shipment import Shipment
from domain.values import Status
from infrastructure.errors import (
    IdempotencyKeyReused,
    ShipmentNotFound,
    VersionConflict,
    store_errors,
)
from infrastructure.idempotency import IdempotencyClaim
from infrastructure.shipment_service import AlreadyApplied, ShipmentService, WriteContext
from projections.document_reads import DocumentReads, ReadDeferred
from projections.shipment_document import encode_document, shipment_document

LOOP_TRIED = "shipments.loop_tried"  # the scope key api.fast_writes sets


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
    # Set when ``api.fast_writes`` already tried deciding in the loop and declined.
    loop_tried: bool = False


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

    def __init__(self, service: ShipmentService, reads: DocumentReads | None = None) -> None:
        self._service = service
        # The view's reader, to tell whether a cached state is still the last one.
        self._reads = reads

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

    def replace(
        self, shipment_id: UUID, request: WriteRequest, *, cached_first: bool = True
    ) -> Response:
        return self._write(shipment_id, request, self._replacement, cached_first)

    def patch(
        self, shipment_id: UUID, request: WriteRequest, *, cached_first: bool = True
    ) -> Response:
        return self._write(shipment_id, request, self._patched, cached_first)

    async def patch_in_loop(self, shipment_id: UUID, request: WriteRequest) -> Shipment | None:
        """The patched shipment if the loop settles the PATCH, else None (nothing written)."""
        return await self._decide_in_loop(shipment_id, request, self._patched)

    async def replace_in_loop(self, shipment_id: UUID, request: WriteRequest) -> Shipment | None:
        """The replaced shipment if the loop settles the PUT, else None (nothing written)."""
        return await self._decide_in_loop(shipment_id, request, self._replacement)

    async def replace_async(self, shipment_id: UUID, request: WriteRequest) -> Response:
        """``replace`` for the event loop: see ``_write_async``."""
        return await self._write_async(shipment_id, request, self._replacement, self.replace)

    async def patch_async(self, shipment_id: UUID, request: WriteRequest) -> Response:
        """``patch`` for the event loop: see ``_write_async``."""
        return await self._write_async(shipment_id, request, self._patched, self.patch)

    async def _write_async(
        self,
        shipment_id: UUID,
        request: WriteRequest,
        body_of: Any,
        write: Callable[..., Response],
    ) -> Response:
        """Decide in the loop if it can settle the write; anything else in a worker thread.

        See ``_decide_in_loop``. Whatever the loop does not settle is decided
        again, as ``_write`` does, on the state read from the store.
        """
        if not request.loop_tried:
            settled = await self._decide_in_loop(shipment_id, request, body_of)
            if settled is not None:
                return shipment_response(settled)
        tried = request.loop_tried or (
            request.idempotency_key is None and self._service.submits_without_waiting
        )
        return await run_in_threadpool(write, shipment_id, request, cached_first=not tried)

    async def _decide_in_loop(
        self, shipment_id: UUID, request: WriteRequest, body_of: Any
    ) -> Shipment | None:
        """The written shipment if the write is settled here (an accepted append), else None.

        The common write (no Idempotency-Key, a change the store accepts) is
        decided right here, on the cached state when it is still the last one
        (no query but a shared read of the view's version) or else on the state
        read in a worker thread, and only its append waits, on the group
        committer's thread: no worker thread holds the request. Refusals, "no
        change" and lost races return None, with nothing written: the app's path
        decides them on the store's state and answers them.
        """
        if request.idempotency_key is not None or not self._service.submits_without_waiting:
            return None  # a key's replay and ledger need store reads
        guard = self._service.stale_cache_guard
        shipment = self._service.load_cached(shipment_id)
        if shipment is None or (guard.should_check and not await self._still_current(shipment)):
            # Not cached, or another process wrote since: read the current state (a
            # query, so in a worker thread), and decide on it here all the same.
            try:
                shipment = await run_in_threadpool(self._service.load, shipment_id)
            except ShipmentNotFound:
                return None  # the app answers the 404
        loop = asyncio.get_running_loop()
        appended: asyncio.Future[None] = loop.create_future()

        def notify(error: BaseException | None) -> None:  # on the committer's thread
            loop.call_soon_threadsafe(_settle, appended, error)

        try:
            details, status = self._requested(shipment, request, body_of)
            submitted = self._service.submit_revision(
                shipment, details, status, self._context(request, None), notify
            )
        except (HttpProblem, VersionConflict, DomainError):
            return None  # a refusal: the app's path decides and answers it
        if not submitted:
            return None  # so is "unchanged"
        try:
            with store_errors():
                await appended
        except IntegrityError:
            guard.lost_race()  # another process writes these shipments: check from now on
            return None  # the version was not the last after all: decide on the store's
        return shipment

    async def _still_current(self, shipment: Shipment) -> bool:
        """Whether no other process has written the shipment since this one cached it.

        The view row commits with every event, so its version is the stream's.
        Asking it (one indexed read, shared with concurrent reads) costs less than
        an append that the store rejects when several processes write the same
        shipments (see ``infrastructure.stale_cache`` for when it is asked).
        Correctness never depends on it: the store's key decides.
        """
        if self._reads is None:
            return True  # no loop-side reader (an in-memory SQLite store): let the store decide
        try:
            found = await self._reads.get(shipment.id)
        except ReadDeferred:
            return False
        current = found is not None and found[0] == shipment.version
        self._service.stale_cache_guard.checked(current)
        return current

    def _write(
        self, shipment_id: UUID, request: WriteRequest, body_of: Any, cached_first: bool
    ) -> Response:
        claim = self._claim(request, 200)
        replay = self._replay(claim)
        if replay is not None:
            return replay
        context = self._context(request, claim)
        cached = self._service.load_cached(shipment_id) if cached_first else None
        if cached is not None:
            # First on this process's cached state: no query. It lags when another
            # process wrote since, so only an answer the store confirmed stands (an
            # append at version + 1 proves that version was the last). Any other
            # answer (a no-op 200, 428/412, 415/400/422, 409, a lost race) may differ
            # on the current state, if only because the preconditions come first:
            # decide it once more on the state read from the store.
            try:
                answer, confirmed = self._decide(cached, request, body_of, context)
            except (HttpProblem, VersionConflict, DomainError):
                confirmed = False
            if confirmed:
                return answer
        answer, _ = self._decide(self._service.load(shipment_id), request, body_of, context)
        return answer

    def _decide(
        self, shipment: Shipment, request: WriteRequest, body_of: Any, context: WriteContext
    ) -> tuple[Response, bool]:
        """Run the write against ``shipment``: its answer, and whether the store confirmed it.

        Confirmed: an event was appended, or an earlier request with the same
        Idempotency-Key was (its answer is replayed). Refusals are raised.
        """
        details, status = self._requested(shipment, request, body_of)
        try:
            appended = self._service.revise(shipment, details, status, context)
        except AlreadyApplied as applied:
            return self._replay_record(applied), True
        return shipment_response(shipment), appended

    def _requested(
        self, shipment: Shipment, request: WriteRequest, body_of: Any
    ) -> tuple[ShipmentDetails, Status | None]:
        """What the request asks ``shipment`` to become, once its preconditions pass."""
        self._check_preconditions(shipment, request)
        current = shipment_document(shipment)
        body: dict[str, Any] = body_of(request, current)
        check_server_owned(body, current)
        return to_domain(validate_write(body))

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


def _settle(appended: asyncio.Future[None], error: BaseException | None) -> None:
    """Complete an awaited append (unless its request was cancelled meanwhile)."""
    if appended.done():
        return
    if error is None:
        appended.set_result(None)
    else:
        appended.set_exception(error)
