"""``GET /v1/shipments``: the list view, filtered, sorted and paged by an opaque cursor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from api.http.dependencies import ReaderDep, ServicesDep
from api.http.openapi_docs import COMMON_PROBLEMS, CURSOR_SCHEMA
from api.http.problems import validation_problem
from api.http.schemas import ShipmentOut
from api.http.wire_formats import FullDate, Rfc3339Instant
from application.input_models import STATE_CODES
from domain.values import US_STATE_CODES, ShipmentType, Status
from projections.shipment_list import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    InvalidCursor,
    ListFilters,
    ListQuery,
    SortOrder,
    decode_cursor,
)

router = APIRouter(prefix="/v1/shipments", tags=["shipments"])

QUERY_PARAMETERS = frozenset(
    (
        "status",
        "shipmentType",
        "destinationState",
        "deliveryDateFrom",
        "deliveryDateTo",
        "updatedSince",
        "sort",
        "limit",
        "cursor",
    )
)


class ShipmentPage(BaseModel):
    """One page of the list."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    items: list[ShipmentOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` (with the same filters and sort) for the next page; "
        "null on the last page."
    )


@router.get(
    "",
    operation_id="listShipments",
    summary="List and search shipments (from the view)",
    description="Filters combine with AND; date bounds are inclusive. `sort=updatedAt` "
    "(default) lists the most recently changed first; `sort=deliveryDate` the soonest "
    "delivery first, shipments without one last. Paging with `cursor` never repeats or "
    "skips a shipment while new ones are created (a shipment changed meanwhile moves to "
    "its new place in `updatedAt` order). Unknown parameters are a 422.",
    response_model=None,
    responses={
        200: {"description": "A page of shipments", "model": ShipmentPage},
        **COMMON_PROBLEMS,
    },
)
def list_shipments(
    request: Request,
    svc: ServicesDep,
    principal: ReaderDep,
    status: Annotated[Status | None, Query()] = None,
    shipment_type: Annotated[ShipmentType | None, Query(alias="shipmentType")] = None,
    destination_state: Annotated[
        str | None,
        Query(
            alias="destinationState",
            description="Two-letter US state code",
            json_schema_extra={"enum": STATE_CODES},
        ),
    ] = None,
    delivery_date_from: Annotated[
        FullDate | None,
        Query(alias="deliveryDateFrom", description="Inclusive; not after deliveryDateTo"),
    ] = None,
    delivery_date_to: Annotated[FullDate | None, Query(alias="deliveryDateTo")] = None,
    updated_since: Annotated[
        Rfc3339Instant | None,
        Query(alias="updatedSince", description="RFC 3339 with a zone, e.g. 2020-05-01T00:00:00Z"),
    ] = None,
    sort: Annotated[SortOrder, Query()] = SortOrder.UPDATED_AT,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            description="The nextCursor of the previous page, as issued for the same sort; "
            "a cursor this list did not issue is a 422",
            json_schema_extra=CURSOR_SCHEMA,
        ),
    ] = None,
) -> Response:
    _refuse_unknown_parameters(request)
    problems: list[dict[str, str]] = []
    if destination_state is not None and destination_state not in US_STATE_CODES:
        problems.append(
            {"field": "destinationState", "reason": "must be a two-letter US state code"}
        )
    if delivery_date_from and delivery_date_to and delivery_date_from > delivery_date_to:
        problems.append({"field": "deliveryDateFrom", "reason": "is after deliveryDateTo"})
    after = None
    if cursor is not None:
        try:
            after = decode_cursor(cursor, sort)
        except InvalidCursor as error:
            problems.append({"field": "cursor", "reason": str(error)})
    if problems:
        raise validation_problem(problems)
    query = ListQuery(
        filters=ListFilters(
            status=status.value if status else None,
            shipment_type=shipment_type.value if shipment_type else None,
            destination_state=destination_state,
            delivery_date_from=delivery_date_from,
            delivery_date_to=delivery_date_to,
            updated_since=updated_since,
        ),
        sort=sort,
        limit=limit,
        after=after,
    )
    page = svc.view.list_page(query)
    return Response(content=page.to_json(), media_type="application/json")


def _refuse_unknown_parameters(request: Request) -> None:
    """A misspelt filter must not silently list everything."""
    unknown = sorted(set(request.query_params) - QUERY_PARAMETERS)
    if unknown:
        raise validation_problem(
            [{"field": name, "reason": "unknown query parameter"} for name in unknown],
            detail="unknown query parameter(s): " + ", ".join(unknown),
        )
