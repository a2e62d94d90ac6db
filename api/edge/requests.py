"""What the paths answered in front of FastAPI share: reading the request, the caller, reporting.

``api.edge.reads`` and ``api.edge.writes`` answer the most frequent requests
without FastAPI's machinery (see their docstrings for why), and must read a
request and report it exactly as the app's middleware and dependencies do; the
helpers here are those readings, kept in one place.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from uuid import UUID

from fastapi.security import HTTPAuthorizationCredentials
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from api.http.problems import HttpProblem, problem_response
from api.plumbing.auth import Authenticator
from api.plumbing.principals import Principal, Role
from api.plumbing.request_observer import ObservedRequest, RequestObserver

SHIPMENT_PREFIX = "/v1/shipments/"
_CANONICAL_ID_LENGTH = 36


@dataclass(frozen=True)
class RouteTemplate:
    """What the request observers read of a matched route: its path template."""

    path: str


# Observers label requests with ``scope["route"].path``; the app's router sets the
# route it matched, and the edge paths name the same template, so both count as one.
SHIPMENT_ROUTE = RouteTemplate(SHIPMENT_PREFIX + "{shipment_id}")


def one_shipment(scope: Scope, methods: Collection[str]) -> UUID | None:
    """The id of a request for one shipment by ``methods`` (canonical id, no query)."""
    if scope["type"] != "http" or scope["method"] not in methods:
        return None
    path: str = scope["path"]
    if scope["query_string"] or not path.startswith(SHIPMENT_PREFIX):
        return None
    text = path[len(SHIPMENT_PREFIX) :]
    if len(text) != _CANONICAL_ID_LENGTH:
        return None
    try:
        return UUID(text)
    except ValueError:
        return None


def allowed_caller(scope: Scope, authenticator: Authenticator, needed: Role) -> Principal | None:
    """The caller if its role allows ``needed`` and checking needs no store; else None.

    None also for every refusal: the app then answers it (401/403) as it always does.
    """
    if authenticator.reads_store_per_request:
        return None
    credentials = None
    if not authenticator.open:
        credentials = _bearer_credentials(scope)
        if credentials is None:
            return None
    try:
        return authenticator.authorize(authenticator.authenticate(credentials), needed)
    except HttpProblem:
        return None


def first_header(scope: Scope, name: bytes) -> str | None:
    """A single-valued header's first line, as Starlette's ``Headers.get`` reads it."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def joined_header(scope: Scope, name: bytes) -> str | None:
    """A list-valued header's lines as one list (RFC 9110 §5.3), as the app folds them."""
    values = [value.decode("latin-1") for key, value in scope["headers"] if key == name]
    return ", ".join(values) if values else None


async def send_problem(
    scope: Scope, receive: Receive, send: Send, problem: HttpProblem, request_id: str
) -> int:
    """Answer ``problem`` as the app's handlers and request-id middleware would."""
    response = problem_response(problem, Request(scope, receive))
    response.headers["x-request-id"] = request_id
    await response(scope, receive, send)
    return response.status_code


def report(
    observers: Sequence[RequestObserver],
    scope: Scope,
    *,
    status: int,
    started: float,
    request_id: str,
    principal: Principal,
) -> None:
    """Tell the access log and the metrics about an answered request."""
    observed = ObservedRequest(
        method=scope["method"],
        path=scope["path"],
        route=SHIPMENT_ROUTE.path,
        status=status,
        seconds=time.perf_counter() - started,
        request_id=request_id,
        actor=principal.subject,
    )
    for observer in observers:
        observer(observed)


def _bearer_credentials(scope: Scope) -> HTTPAuthorizationCredentials | None:
    """``Authorization: Bearer <token>`` as FastAPI's ``HTTPBearer`` would read it."""
    value = first_header(scope, b"authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return HTTPAuthorizationCredentials(scheme=scheme, credentials=token)
