"""``PATCH``/``PUT /v1/shipments/{id}``: the request as a write, answered by ``WriteAnswers``.

Exactly what the routes do (``api.http.routers.shipments``), without FastAPI's
routing and dependency solving around it.
"""

from __future__ import annotations

from uuid import UUID

from starlette.types import Receive, Scope, Send

from api.http.write_answers import WriteAnswers
from api.http.write_requests import write_request
from api.plumbing.pipeline import caller_of
from api.plumbing.principals import Role
from api.wiring import Services


async def answer_write(
    scope: Scope, receive: Receive, send: Send, shipment_id: UUID, services: Services
) -> None:
    """Answer a replace or a merge patch of one shipment (or raise the problem)."""
    principal = await caller_of(scope).allowed(Role.WRITER)
    write = await write_request(scope, receive, principal)
    writes = WriteAnswers(services.shipments)
    if write.method == "PATCH":
        response = await writes.patch(shipment_id, write)
    else:
        response = await writes.replace(shipment_id, write)
    await response(scope, receive, send)
