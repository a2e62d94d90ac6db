"""``GET``/``HEAD /v1/shipments/{id}``: the view's stored document, read in the event loop.

The answer is already stored, encoded, with its version; all that is left is to
check the caller and copy bytes. The event-loop reader
(``projections.document_reads``) reads it without a worker thread; where it
cannot (an in-memory SQLite store, or SQLite busy), the view is read in a
worker thread, as the route does.
"""

from __future__ import annotations

from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from api.http.current_state import current_state_response
from api.plumbing.pipeline import caller_of
from api.plumbing.principals import Role
from api.wiring import Services
from infrastructure.errors import ShipmentNotFound
from projections.document_reads import DocumentReads, ReadDeferred


async def answer_read(
    scope: Scope,
    receive: Receive,
    send: Send,
    shipment_id: UUID,
    services: Services,
    document_reads: DocumentReads | None,
) -> None:
    """Answer the current state of one shipment (200, 304, or raise the problem)."""
    await caller_of(scope).allowed(Role.READER)
    found = None
    if document_reads is not None:
        try:
            found = await document_reads.get(shipment_id)
        except ReadDeferred:
            document_reads = None
    if document_reads is None:
        found = await run_in_threadpool(services.view.get, shipment_id)
    if found is None:
        raise ShipmentNotFound(shipment_id)
    version, document = found
    if_none_match = _header(scope, b"if-none-match")
    response = current_state_response(shipment_id, version, document, if_none_match)
    await response(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    """A request header (list-valued ones arrive folded by the pipeline)."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None
