"""``DELETE /v1/shipments/{id}/personal-data``: the request as an erasure command, answered.

The erasure is a write like any other (``application.shipment_writes``), so it
has the same preconditions in the same order — 404, 428 without ``If-Match``,
412 unless it names the current version (``*`` always does), with
``changesSince`` — and appends exactly one event, whose transaction also
destroys the shipment's keys and scrubs its view row
(``infrastructure.sealed_appends``).
"""

from __future__ import annotations

from uuid import UUID

from fastapi.responses import Response

from api.http.write_answers import answer, condition
from application.shipment_writes import ShipmentWrites
from application.write_commands import Author, ErasePersonalData
from infrastructure.shipment_service import ShipmentService


async def erase_personal_data(
    service: ShipmentService,
    shipment_id: UUID,
    if_match: str | None,
    actor: str,
    request_id: str,
) -> Response:
    """200 with the erased representation, or the refusal's problem."""
    command = ErasePersonalData(
        shipment_id,
        Author(actor, request_id),
        None if if_match is None else condition(if_match, shipment_id, strong_only=True),
    )
    return answer(await ShipmentWrites(service).erase_personal_data(command))
