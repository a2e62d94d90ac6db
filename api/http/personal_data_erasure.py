"""Erasing a shipment's personal data: preconditions → the erasure → the answer.

The erasure is a write like any other (``WriteCommand``, decided by the group
committer on the current state under the row lock), so it has the same
preconditions in the same order — 404, 428 without ``If-Match``, 412 unless it
names the current version (``*`` always does) with ``changesSince`` — and
appends exactly one event. Its transaction also destroys the shipment's keys and
rewrites the view row without the erased values (``infrastructure.sealed_appends``).
"""

from __future__ import annotations

import asyncio
from uuid import UUID

from fastapi.responses import Response

from api.http.etags import etag_header, if_match_passes, newest_named_version, parse_condition
from api.http.problems import HttpProblem
from api.http.shipment_writes import shipment_response
from api.http.stale_writes import StaleWrites, stream_reads_of
from domain.shipment import Shipment
from infrastructure.errors import ShipmentNotFound, StoreUnavailable, VersionConflict
from infrastructure.shipment_service import ShipmentService
from infrastructure.write_commands import WriteCommand, WriteOutcome


async def erase_personal_data(
    service: ShipmentService,
    shipment_id: UUID,
    if_match: str | None,
    actor: str,
    request_id: str,
) -> Response:
    """200 with the erased representation, or the precondition's problem."""

    def decide(current: Shipment | None) -> Shipment:
        if current is None:
            raise ShipmentNotFound(shipment_id)
        if if_match is None:
            raise HttpProblem(
                428,
                "erasing personal data needs an If-Match header with the shipment's ETag (or *)",
                headers={"ETag": etag_header(current.id, current.version)},
            )
        condition = parse_condition(if_match)
        if not if_match_passes(condition, current.id, current.version):
            named = newest_named_version(condition, current.id, current.version)
            raise VersionConflict(current.id, current.version, since=named or 0)
        current.erase_personal_data(actor, request_id)
        return current

    outcome = await _execute(service, WriteCommand(shipment_id, decide))
    if isinstance(outcome.error, VersionConflict):
        await StaleWrites(service, _unused, stream_reads_of(service)).refuse(outcome.error)
    if outcome.error is not None:
        raise outcome.error
    assert outcome.shipment is not None
    return shipment_response(outcome.shipment, 200, document=outcome.document)


async def _execute(service: ShipmentService, command: WriteCommand) -> WriteOutcome:
    """Queue the erasure on the committer and await its outcome in the event loop."""
    loop = asyncio.get_running_loop()
    settled: asyncio.Future[WriteOutcome] = loop.create_future()

    def notify(outcome: WriteOutcome) -> None:  # on the committer's thread
        loop.call_soon_threadsafe(_settle, settled, outcome)

    try:
        service.submit(command, notify)
    except RuntimeError as closed:  # shutting down: nothing was queued
        raise StoreUnavailable(str(closed)) from closed
    return await settled


def _settle(settled: asyncio.Future[WriteOutcome], outcome: WriteOutcome) -> None:
    if not settled.done():
        settled.set_result(outcome)


async def _unused(command: WriteCommand) -> WriteOutcome:
    """A 412 is only refused here, never merged: nothing is executed through ``StaleWrites``."""
    raise AssertionError("an erasure is never merged")
