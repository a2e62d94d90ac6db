"""The one implementation of every write: preconditions → decision → append → answer.

Every door — the FastAPI routes and the path in front of FastAPI
(``api.edge.writes``) — calls ``ShipmentWrites``; nothing else decides a write.

A write is a ``WriteCommand`` whose decision runs on the group committer's
thread, inside the append transaction, on the shipment's current state read
there with its row locked (``infrastructure.group_commit``). The request is
awaited in the event loop; no worker thread holds it. The decision follows
RFC 9110 and API.md in order: idempotent replay (before anything else, by the
committer) → 404 → 428/412 (preconditions, on the current version) → 415 →
400/422 (content) → 409 (domain rules) → append. What does not depend on the
current state (the media type, the JSON, a PUT's validation) is worked out in
the loop beforehand, and raised by the decision in its place in that order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.http.etags import (
    etag_header,
    if_match_passes,
    if_none_match_matches,
    newest_named_version,
    parse_condition,
)
from api.http.idempotency_keys import request_fingerprint
from api.http.preferences import MERGE_ON_CONFLICT, prefers_merge
from api.http.problems import HttpProblem
from api.http.shipment_input import (
    JSON,
    apply_merge_patch,
    check_server_owned,
    requested_keeping_erased,
    to_domain,
    validate_write,
)
from api.http.stale_writes import MergeRequest, StaleWrites, stream_reads_of
from api.http.write_bodies import (
    Prepared,
    Requested,
    edit_of,
    json_body,
    merge_patch,
    new_shipment,
)
from api.plumbing.principals import Principal
from domain.merging import Edit
from domain.shipment import Shipment
from infrastructure.errors import ShipmentNotFound, StoreUnavailable, VersionConflict
from infrastructure.idempotency import IdempotencyClaim, IdempotencyRecord
from infrastructure.shipment_service import ShipmentService
from infrastructure.write_commands import WriteCommand, WriteOutcome
from projections.shipment_document import document_of, encode_document, shipment_document
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


class ShipmentWrites:
    """Create, replace and merge-patch, each as at most one appended event."""

    def __init__(self, service: ShipmentService) -> None:
        self._service = service
        self._stream_reads = stream_reads_of(service)

    async def create(self, request: WriteRequest) -> Response:
        prepared = Prepared.of(lambda: new_shipment(request.content_type, request.body))

        def decide(_: Shipment | None) -> Shipment:
            details, _status = prepared.result()
            return Shipment(details, request.principal.subject, request.request_id)

        outcome = await self._execute(WriteCommand(None, decide, _claim(request, 201)))
        return await self._answer(outcome, 201)

    async def replace(self, shipment_id: UUID, request: WriteRequest) -> Response:
        body = Prepared.of(lambda: json_body(request.content_type, request.body, (JSON,)))
        # A PUT's body is the whole new state: it is validated here, against nothing.
        validated = Prepared.of(lambda: to_domain(validate_write(body.result())))

        def requested(current: dict[str, Any]) -> Requested:
            check_server_owned(body.result(), current)
            result: Requested = validated.result()
            return result

        def edited(base: Shipment) -> Edit:
            # A PUT changes the fields whose value in its body differs from the base's.
            return edit_of(base, body.result())

        return await self._revise(shipment_id, request, requested, edited)

    async def patch(self, shipment_id: UUID, request: WriteRequest) -> Response:
        patch = Prepared.of(lambda: merge_patch(request.content_type, request.body))

        def requested(current: dict[str, Any]) -> Requested:
            merged: dict[str, Any] = apply_merge_patch(current, patch.result())
            check_server_owned(merged, current)
            return requested_keeping_erased(merged, current)

        def edited(base: Shipment) -> Edit:
            # A merge patch changes its members whose value differs from the base's.
            return edit_of(base, apply_merge_patch(shipment_document(base), patch.result()))

        return await self._revise(shipment_id, request, requested, edited)

    async def _revise(
        self,
        shipment_id: UUID,
        request: WriteRequest,
        requested: Callable[[dict[str, Any]], Requested],
        edited: Callable[[Shipment], Edit],
    ) -> Response:
        claim = _claim(request, 200)
        merge = None
        if prefers_merge(request.prefer):
            merge = MergeRequest(
                edited,
                request.principal.subject,
                request.request_id,
                claim,
                lambda current: _check_if_none_match(current, request),
            )
        stale = StaleWrites(self._service, self._execute, self._stream_reads)
        merged_at_once = [False]  # set by the decision that committed (the last one run)

        def decide(current: Shipment | None) -> Shipment:
            if current is None:
                raise ShipmentNotFound(shipment_id)
            merged_at_once[0] = False
            try:
                _check_preconditions(current, request)
            except VersionConflict as conflict:
                # A stale write that prefers a merge is merged here when every state
                # since its version is in memory; else it is answered in the loop.
                if merge is None or not conflict.since:
                    raise
                if not stale.merged_in_memory(current, conflict.since, merge):
                    raise
                merged_at_once[0] = True
                return current
            details, status = requested(self._document_of(current))
            current.revise(details, status, request.principal.subject, request.request_id)
            return current

        if claim is None and merge is None and request.if_none_match is None:
            already_stale = self._stale_before_queueing(shipment_id, request)
            if already_stale is not None:
                await stale.refuse(already_stale)
        outcome = await self._execute(WriteCommand(shipment_id, decide, claim))
        conflict = outcome.error
        if not isinstance(conflict, VersionConflict) or conflict.since is None:
            return await self._answer(outcome, 200, merged=merged_at_once[0])
        if merge is not None and conflict.since > 0:
            merged = await stale.merge(conflict, merge)
            if merged is not None:
                return await self._answer(merged, 200, merged=True)
        await stale.refuse(conflict)

    def _stale_before_queueing(
        self, shipment_id: UUID, request: WriteRequest
    ) -> VersionConflict | None:
        """The conflict of an ``If-Match`` that names only versions older than one committed.

        Versions only grow, so such a tag can never match again: it is answered 412
        without queueing for the committer and the row lock, which writes that can
        succeed are waiting for. "Committed" is what this process has seen (rows its
        committer read, appends it made: no I/O here); anything else — a shipment not
        seen, ``*``, a tag of the version seen or a later one — is decided under the
        lock as ever. Not for writes with an Idempotency-Key (a replay is answered
        first) or a merge preference.
        """
        version = self._service.newest_seen_version(shipment_id)
        if version is None or request.if_match is None:
            return None
        condition = parse_condition(request.if_match)
        if condition.any_current or any(
            not tag.weak
            and (named := decode_tag(tag.opaque)) is not None
            and named.shipment_id == shipment_id
            and named.version >= version
            for tag in condition.tags
        ):
            return None
        since = newest_named_version(condition, shipment_id, version)
        return VersionConflict(shipment_id, version, since=since or 0)

    def _document_of(self, current: Shipment) -> dict[str, Any]:
        """The current state's representation (a fresh dict): parsed from the rendering
        kept when this process wrote that version (a sixth of rendering it), else rendered."""
        return document_of(current, self._service.kept_document(current.id, current.version))

    async def _execute(self, command: WriteCommand) -> WriteOutcome:
        """Queue the write on the committer and await its outcome without a worker thread."""
        loop = asyncio.get_running_loop()
        settled: asyncio.Future[WriteOutcome] = loop.create_future()

        def notify(outcome: WriteOutcome) -> None:  # on the committer's thread
            loop.call_soon_threadsafe(_settle, settled, outcome)

        try:
            self._service.submit(command, notify)
        except RuntimeError as closed:  # shutting down: nothing was queued
            raise StoreUnavailable(str(closed)) from closed
        return await settled

    async def _answer(
        self, outcome: WriteOutcome, status_code: int, *, merged: bool = False
    ) -> Response:
        if outcome.error is not None:
            raise outcome.error
        if outcome.replay is not None:
            return await self._replayed(outcome.replay)
        shipment = outcome.shipment
        assert shipment is not None
        # Rendered once, for the view row (or when this process wrote the unchanged state).
        document = outcome.document or self._service.kept_document(shipment.id, shipment.version)
        status_code = status_code if outcome.appended else 200
        return shipment_response(shipment, status_code, merged=merged, document=document)

    async def _replayed(self, record: IdempotencyRecord) -> Response:
        """The original answer of the write already made with this key.

        Its body is the state at the version that write produced, read from the
        stream, so it is byte for byte what the write answered; a merged write's
        event says it was merged.
        """
        shipment, based_on = await run_in_threadpool(
            self._service.load_version_and_base, record.shipment_id, record.version
        )
        return shipment_response(shipment, record.status_code, merged=based_on is not None)


def _check_preconditions(shipment: Shipment, request: WriteRequest) -> None:
    """428 without If-Match; 412 unless it names the current version (``*`` always does).

    A stale tag's conflict says which version the writer read (the newest of this
    shipment its If-Match names; 0 for none), to tell it what changed since.
    """
    _check_if_none_match(shipment, request)
    if request.if_match is None:
        raise HttpProblem(
            428,
            "this write needs an If-Match header with the shipment's current ETag",
            headers={"ETag": etag_header(shipment.id, shipment.version)},
        )
    condition = parse_condition(request.if_match)
    if not if_match_passes(condition, shipment.id, shipment.version):
        named = newest_named_version(condition, shipment.id, shipment.version)
        raise VersionConflict(shipment.id, shipment.version, since=named or 0)


def _check_if_none_match(shipment: Shipment, request: WriteRequest) -> None:
    if request.if_none_match is not None and if_none_match_matches(
        parse_condition(request.if_none_match), shipment.id, shipment.version
    ):
        raise VersionConflict(shipment.id, shipment.version)


def _claim(request: WriteRequest, status_code: int) -> IdempotencyClaim | None:
    if request.idempotency_key is None:
        return None
    return IdempotencyClaim(
        principal=request.principal.subject,
        key=request.idempotency_key,
        fingerprint=request_fingerprint(request.method, request.path, request.body),
        status_code=status_code,
    )


def _settle(settled: asyncio.Future[WriteOutcome], outcome: WriteOutcome) -> None:
    """Complete an awaited write (unless its request was cancelled meanwhile)."""
    if not settled.done():
        settled.set_result(outcome)
