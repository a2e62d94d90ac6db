"""``DELETE /v1/shipments/{id}/personal-data``: forget a shipment's personal data (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import Response

from api.http.dependencies import AdminDep, RequestIdDep, ServicesDep
from api.http.openapi_docs import (
    COMMON_PROBLEMS,
    IF_MATCH_REQUIRED,
    PRECONDITION_PROBLEMS,
    ShipmentIdPath,
    shipment_answer,
)
from api.http.personal_data_erasure import erase_personal_data
from api.http.write_answers import parse_shipment_id

router = APIRouter(prefix="/v1/shipments", tags=["personal data"])

# Documented as required (``IF_MATCH_REQUIRED``); read as optional so that its absence
# is answered after the 404 of an unknown shipment, as for every write.
IfMatch = Annotated[str | None, Header(alias="If-Match", include_in_schema=False)]
RequestIdHeader = Annotated[
    str | None,
    Header(alias="X-Request-ID", description="Echoed, and stored on the event as requestId."),
]


@router.delete(
    "/{shipment_id}/personal-data",
    operation_id="erasePersonalData",
    summary="Erase the shipment's personal data from its whole history (admin; conditional)",
    description="Appends a PersonalDataErased event and destroys the key its personal values "
    "were sealed with, in one transaction: from then on every version, history item, feed "
    "entry and view shows the addresses (all but `state`) and `customerRemarks` as erased, "
    "with versions, ETags, actors and times unchanged. A second erasure is 200 too.",
    response_model=None,
    responses={
        200: shipment_answer("Erased: the representation with `personalDataErasedAt` set"),
        **PRECONDITION_PROBLEMS,
        **COMMON_PROBLEMS,
    },
    openapi_extra=IF_MATCH_REQUIRED,
)
async def erase_shipment_personal_data(
    shipment_id: ShipmentIdPath,
    svc: ServicesDep,
    principal: AdminDep,
    rid: RequestIdDep,
    if_match: IfMatch = None,
    x_request_id: RequestIdHeader = None,
) -> Response:
    parsed_id = parse_shipment_id(shipment_id)
    return await erase_personal_data(svc.shipments, parsed_id, if_match, principal.subject, rid)
