"""``/v1/shipments/{id}/history`` and ``/versions/{n}``: a shipment's past, read from its stream."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import Response

from api.http.dependencies import ReaderDep, ServicesDep
from api.http.history_models import HistoryPage
from api.http.openapi_docs import (
    COMMON_PROBLEMS,
    ETAG_HEADER,
    ShipmentIdPath,
    problem,
    shipment_answer,
)
from api.http.past_versions import version_response
from api.http.write_answers import parse_shipment_id
from infrastructure.event_store import MAX_POSITION
from infrastructure.stream_reader import StreamReader
from projections.shipment_history import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, history_page

router = APIRouter(prefix="/v1/shipments", tags=["history"])

After = Annotated[
    int,
    Query(ge=0, le=MAX_POSITION, description="Show versions after this one (0: from creation)"),
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="At most this many items")]


@router.get(
    "/{shipment_id}/history",
    operation_id="getShipmentHistory",
    summary="The shipment's events, oldest first, with what each changed",
    response_model=None,
    responses={
        200: {"description": "A page of history", "model": HistoryPage},
        404: problem("No such shipment"),
        **COMMON_PROBLEMS,
    },
)
def shipment_history(
    shipment_id: ShipmentIdPath,
    svc: ServicesDep,
    principal: ReaderDep,
    after: After = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> Response:
    parsed_id = parse_shipment_id(shipment_id)
    body = history_page(StreamReader(svc.store), parsed_id, after, limit)
    return Response(content=orjson.dumps(body), media_type="application/json")


@router.get(
    "/{shipment_id}/versions/{version}",
    operation_id="getShipmentVersion",
    summary="The shipment exactly as it was at one version (read-only)",
    response_model=None,
    responses={
        200: shipment_answer("The shipment at that version, with that version's ETag"),
        304: {"description": "Not modified (If-None-Match matched)", "headers": ETAG_HEADER},
        404: problem("No such shipment, or no such version of it"),
        **COMMON_PROBLEMS,
    },
)
def shipment_version(
    shipment_id: ShipmentIdPath,
    version: Annotated[
        int,
        Path(
            description="A version from 1 to the current one (any other is a 404)",
            json_schema_extra={"minimum": 1, "maximum": MAX_POSITION},
        ),
    ],
    svc: ServicesDep,
    principal: ReaderDep,
    if_none_match: Annotated[
        str | None,
        Header(
            alias="If-None-Match", description="A tag you hold: 304 while it names this version"
        ),
    ] = None,
) -> Response:
    return version_response(svc, parse_shipment_id(shipment_id), version, if_none_match)
