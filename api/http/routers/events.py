"""``/v1/events``: the global change feed, paged (``after``) or live (Server-Sent Events)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response
from pydantic import Field

from api.http.caching import CACHE_CONTROL_HEADER, REVALIDATE
from api.http.dependencies import ReaderDep, ServicesDep
from api.http.event_stream import LastEventId, ServerSentEvents, sse_frames
from api.http.history_models import FeedPage
from api.http.openapi_docs import COMMON_PROBLEMS
from infrastructure.change_feed import ChangeFeed
from infrastructure.event_store import MAX_POSITION
from projections.event_payloads import feed_item

router = APIRouter(prefix="/v1/events", tags=["events"])

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100

After = Annotated[
    int,
    Query(
        ge=0,
        le=MAX_POSITION,
        description="Show events after this position (0: from the beginning)",
    ),
]


@router.get(
    "",
    operation_id="listEvents",
    summary="The change feed of all shipments, in commit order",
    response_model=None,
    responses={
        200: {
            "description": "A page of the feed",
            "model": FeedPage,
            "headers": CACHE_CONTROL_HEADER,
        },
        **COMMON_PROBLEMS,
    },
)
def list_events(
    svc: ServicesDep,
    principal: ReaderDep,
    after: After = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> Response:
    page = ChangeFeed(svc.store).read(after, limit)
    items = [feed_item(entry.position, entry.event) for entry in page.entries]
    body = {"items": items, "nextAfter": items[-1]["position"] if page.has_more else None}
    return Response(
        content=orjson.dumps(body),
        media_type="application/json",
        headers={"Cache-Control": REVALIDATE},
    )


# One server-sent event (OpenAPI 3.2 ``itemSchema``): its data is a FeedItem as JSON.
FEED_EVENT_SCHEMA = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {"$ref": "#/components/schemas/FeedItem"},
        },
        "event": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer", "minimum": 0},
    },
}


@router.get(
    "/stream",
    operation_id="streamEvents",
    summary="The change feed as Server-Sent Events (resumes after Last-Event-ID)",
    description="Each event: `id:` its position, `event:` its type, `data:` the feed item "
    "as JSON. Reconnecting with `Last-Event-ID` resumes right after that position "
    "(it wins over `after`). Idle streams get `: ping` comments.",
    response_class=ServerSentEvents,
    responses={
        200: {
            "description": "text/event-stream of feed items",
            "content": {"text/event-stream": {"itemSchema": FEED_EVENT_SCHEMA}},
        },
        **COMMON_PROBLEMS,
    },
)
async def stream_events(
    request: Request,
    svc: ServicesDep,
    principal: ReaderDep,
    after: After = 0,
    limit: Annotated[
        Annotated[int, Field(ge=1)] | None,
        Query(description="End the stream after this many events"),
    ] = None,
    follow: Annotated[
        bool, Query(description="false: end the stream once caught up instead of waiting")
    ] = True,
    last_event_id: Annotated[
        LastEventId,
        Header(
            alias="Last-Event-ID",
            description="The id of the last event received: resume right after it",
        ),
    ] = None,
) -> ServerSentEvents:
    start = after if last_event_id is None else last_event_id
    follower = getattr(request.app.state, "log_follower", None)
    feed = ChangeFeed(svc.store)
    return ServerSentEvents(sse_frames(feed, start, limit=limit, follow=follow, follower=follower))
