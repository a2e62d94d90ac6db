"""``/v1/shipments``: create, read, replace and merge-patch shipments."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response

from api.http.current_state import current_state_response
from api.http.dependencies import ReaderDep, ServicesDep, WriterDep
from api.http.openapi_docs import (
    COMMON_PROBLEMS,
    ETAG_HEADER,
    EXAMPLE_CREATE,
    EXAMPLE_PATCH,
    EXAMPLE_REPLACE,
    IDEMPOTENCY_KEY_SCHEMA,
    IF_MATCH_REQUIRED,
    PRECONDITION_PROBLEMS,
    WRITE_PROBLEMS,
    ShipmentIdPath,
    problem,
    request_body,
    shipment_answer,
)
from api.http.past_versions import as_of_response
from api.http.write_answers import WriteAnswers, parse_shipment_id
from api.http.write_bodies import JSON, MERGE_PATCH
from api.http.write_requests import write_request
from infrastructure.errors import ShipmentNotFound

router = APIRouter(prefix="/v1/shipments", tags=["shipments"])

# Declared required in the document (``IF_MATCH_REQUIRED``); read as optional, so that
# its absence is answered by the write itself: 428 with the current ETag.
IfMatch = Annotated[str | None, Header(alias="If-Match", include_in_schema=False)]
IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        description="A tag you hold (or *): a read answers 304 while it is current; "
        "a PUT with * is 412 when the shipment exists.",
    ),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Retry safely: a retry with the key of an applied write "
        "gets its original answer; the same key with another request is 422.",
        json_schema_extra=IDEMPOTENCY_KEY_SCHEMA,
    ),
]
Prefer = Annotated[
    str | None,
    Header(
        alias="Prefer",
        description="RFC 7240. `conflict=merge`: when If-Match names an older version, apply "
        "the fields this write changes relative to it to the current version, unless one of "
        "them changed since (then 412 with `conflictingFields`).",
    ),
]
RequestIdHeader = Annotated[
    str | None,
    Header(alias="X-Request-ID", description="Echoed, and stored on the event as requestId."),
]
AsOf = Annotated[
    str | None,
    Query(
        alias="asOf",
        description="RFC 3339 instant with a time zone: the shipment as it was then, "
        "read from its stream (404 before it was created)",
        json_schema_extra={"format": "date-time"},
    ),
]

PREFERENCE_APPLIED = {
    "Preference-Applied": {
        "description": "`conflict=merge` when a stale write was merged onto the current version",
        "schema": {"type": "string"},
    }
}
READ_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: shipment_answer("The shipment"),
    304: {"description": "Not modified (If-None-Match matched)", "headers": ETAG_HEADER},
    404: problem("No such shipment (or none yet at asOf)"),
    **COMMON_PROBLEMS,
}


@router.post(
    "",
    operation_id="createShipment",
    status_code=201,
    summary="Create a shipment (DRAFT, version 1)",
    response_model=None,
    responses={
        201: shipment_answer(
            "Created", {"Location": {"schema": {"type": "string"}, "description": "Its URL"}}
        ),
        **WRITE_PROBLEMS,
    },
    openapi_extra=request_body(
        (JSON,),
        "The new shipment; status and server-owned fields are not allowed.",
        "ShipmentCreate",
        EXAMPLE_CREATE,
    ),
)
async def create_shipment(
    request: Request,
    svc: ServicesDep,
    principal: WriterDep,
    idempotency_key: IdempotencyKey = None,
    x_request_id: RequestIdHeader = None,
) -> Response:
    write = await write_request(request.scope, request.receive, principal)
    return await WriteAnswers(svc.shipments).create(write)


# HEAD is GET without the body (RFC 9110 §9.3.2). It gets its own route: one route
# with both methods gives both operations the same operationId, which OpenAPI
# forbids and client generators reject.
@router.head(
    "/{shipment_id}",
    operation_id="headShipment",
    summary="The current ETag of a shipment, without its body",
    response_model=None,
    responses=READ_ANSWERS,
)
@router.get(
    "/{shipment_id}",
    operation_id="getShipment",
    summary="The current state of a shipment (from the view)",
    response_model=None,
    responses=READ_ANSWERS,
)
def get_shipment(
    shipment_id: ShipmentIdPath,
    svc: ServicesDep,
    principal: ReaderDep,
    if_none_match: IfNoneMatch = None,
    x_request_id: RequestIdHeader = None,
    as_of: AsOf = None,
) -> Response:
    parsed_id = parse_shipment_id(shipment_id)
    if as_of is not None:
        return as_of_response(svc, parsed_id, as_of, if_none_match)
    found = svc.view.get(parsed_id)
    if found is None:
        raise ShipmentNotFound(parsed_id)
    version, document = found
    return current_state_response(parsed_id, version, document, if_none_match)


@router.put(
    "/{shipment_id}",
    operation_id="replaceShipment",
    summary="Replace every client-writable field (conditional)",
    response_model=None,
    responses={
        200: shipment_answer("Replaced (or unchanged)", PREFERENCE_APPLIED),
        **PRECONDITION_PROBLEMS,
        **WRITE_PROBLEMS,
    },
    openapi_extra={
        **IF_MATCH_REQUIRED,
        **request_body(
            (JSON,),
            "All client-writable fields; optional ones left out become null.",
            example=EXAMPLE_REPLACE,
        ),
    },
)
async def replace_shipment(
    shipment_id: ShipmentIdPath,
    request: Request,
    svc: ServicesDep,
    principal: WriterDep,
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
    idempotency_key: IdempotencyKey = None,
    prefer: Prefer = None,
    x_request_id: RequestIdHeader = None,
) -> Response:
    parsed_id = parse_shipment_id(shipment_id)
    write = await write_request(request.scope, request.receive, principal)
    return await WriteAnswers(svc.shipments).replace(parsed_id, write)


@router.patch(
    "/{shipment_id}",
    operation_id="patchShipment",
    summary="Change some fields with a JSON merge patch (conditional)",
    response_model=None,
    responses={
        200: shipment_answer("Patched (or unchanged)", PREFERENCE_APPLIED),
        **PRECONDITION_PROBLEMS,
        **WRITE_PROBLEMS,
    },
    openapi_extra={
        **IF_MATCH_REQUIRED,
        **request_body(
            (MERGE_PATCH, JSON),
            "RFC 7396 merge patch: members set to null are cleared.",
            "ShipmentPatch",
            EXAMPLE_PATCH,
        ),
    },
)
async def patch_shipment(
    shipment_id: ShipmentIdPath,
    request: Request,
    svc: ServicesDep,
    principal: WriterDep,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
    prefer: Prefer = None,
    x_request_id: RequestIdHeader = None,
) -> Response:
    parsed_id = parse_shipment_id(shipment_id)
    write = await write_request(request.scope, request.receive, principal)
    return await WriteAnswers(svc.shipments).patch(parsed_id, write)
