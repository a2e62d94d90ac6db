"""Plain reads and writes of one shipment, routed past FastAPI's router and dependencies.

The most frequent requests — ``GET``/``HEAD``/``PUT``/``PATCH`` of
``/v1/shipments/{id}`` — spent most of their CPU in the framework's routing and
dependency solving, not in the service (profiles in ``bench/README.md``). This
layer sits inside the request pipeline and every middleware (``api.http.app``),
so the request ids, the caller, the body limit, problem rendering, the access
log and the metrics are theirs as for any request; it matches the method and
the path and calls the same code as the routes (``api.edge.reads``,
``api.edge.writes``). Everything else — a query string such as ``?asOf=``, an
id not in canonical form, any other path — goes on to FastAPI.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from starlette.datastructures import State
from starlette.types import ASGIApp, Receive, Scope, Send

from api.edge.reads import answer_read
from api.edge.writes import answer_write

SHIPMENT_PREFIX = "/v1/shipments/"
_CANONICAL_ID_LENGTH = 36
_READS = frozenset({"GET", "HEAD"})
_WRITES = frozenset({"PATCH", "PUT"})


@dataclass(frozen=True)
class RouteTemplate:
    """What the request observers read of a matched route: its path template."""

    path: str


# The template the app's router names for these requests, so the metrics count
# a request the same whichever way it came in.
SHIPMENT_ROUTE = RouteTemplate(SHIPMENT_PREFIX + "{shipment_id}")


class ShipmentDoors:
    """Routes the plain requests of one shipment to their handlers; the rest to ``app``."""

    def __init__(self, app: ASGIApp, *, app_state: State) -> None:
        self.app = app
        self._app_state = app_state  # the lifespan puts the services there

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        shipment_id = one_shipment(scope)
        services = getattr(self._app_state, "services", None)
        if shipment_id is None or services is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = SHIPMENT_ROUTE
        if scope["method"] in _READS:
            document_reads = getattr(self._app_state, "document_reads", None)
            await answer_read(scope, receive, send, shipment_id, services, document_reads)
        else:
            await answer_write(scope, receive, send, shipment_id, services)


def one_shipment(scope: Scope) -> UUID | None:
    """The id of a plain request for one shipment (an id of canonical length, no query)."""
    if scope["type"] != "http" or scope["query_string"]:
        return None
    method = scope["method"]
    if method not in _READS and method not in _WRITES:
        return None
    path: str = scope["path"]
    if len(path) != len(SHIPMENT_PREFIX) + _CANONICAL_ID_LENGTH or not path.startswith(
        SHIPMENT_PREFIX
    ):
        return None
    text = path[len(SHIPMENT_PREFIX) :]
    try:
        return UUID(text)
    except ValueError:
        return None
