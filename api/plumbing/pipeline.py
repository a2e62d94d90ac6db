"""The one way in: every HTTP request passes this layer, whichever door answers it.

It does, once per request and in this order, what every answer needs: folds
repeated list-valued headers, chooses the request id, offers the caller's
identity (``Caller``: the token is checked when a handler first asks, so a
``/healthz`` never pays for it), enforces the body limit as the body streams in,
renders any error that escapes as problem+json, puts ``X-Request-ID`` on the
answer, and tells the access log and the metrics how the request ended.

It sits outside the doors of ``api.edge`` and outside FastAPI's routing (see
``api.http.app``), so both kinds of handler get exactly the same treatment, and
a middleware added with ``app.add_middleware`` wraps it and so sees every
request too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from fastapi.security import HTTPAuthorizationCredentials
from starlette.datastructures import State
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.problems import HttpProblem, problem_response, to_problem, unexpected_problem
from api.plumbing.auth import Authenticator
from api.plumbing.header_folding import FOLDED_HEADERS, fold_list_headers
from api.plumbing.principals import Principal, Role
from api.plumbing.request_ids import choose_request_id
from api.plumbing.request_observer import ObservedRequest, RequestObserver

_log = logging.getLogger("shipments.errors")
CLIENT_CLOSED = 499  # what the log records for a client that left before its answer (nginx's)


class Caller:
    """Who sent the request, checked at most once, when a handler asks for a role."""

    __slots__ = ("_authenticator", "_authorization", "_principal", "_state")

    def __init__(
        self, authenticator: Authenticator | None, authorization: str | None, state: dict[str, Any]
    ) -> None:
        self._authenticator = authenticator
        self._authorization = authorization
        self._principal: Principal | None = None
        self._state = state  # the request's state, where the access log finds the actor

    async def allowed(self, needed: Role) -> Principal:
        """The caller if its role allows ``needed``; else the 401 or 403 problem."""
        authenticator = self._authenticator
        if authenticator is None:  # the app's lifespan has not run: nothing is served yet
            raise HttpProblem(503, "the service is starting; retry shortly")
        principal = self._principal
        if principal is None:
            # In the event loop; in a worker thread only what would block it (reading
            # the token list, fetching an identity provider's keys).
            principal = await authenticator.authenticate_async(
                bearer_credentials(self._authorization)
            )
            self._principal = principal
        authenticator.authorize(principal, needed)
        self._state["actor"] = principal.subject
        return principal


def bearer_credentials(authorization: str | None) -> HTTPAuthorizationCredentials | None:
    """``Authorization: Bearer <token>`` read as FastAPI's ``HTTPBearer`` reads it."""
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return HTTPAuthorizationCredentials(scheme=scheme, credentials=token)


def caller_of(scope: Scope) -> Caller:
    """The ``Caller`` the pipeline attached to this request."""
    caller: Caller = scope["state"]["caller"]
    return caller


def request_id_of(scope: Scope) -> str:
    """The id the pipeline chose for this request."""
    return str(scope["state"]["request_id"])


class RequestPipeline:
    """The layer every HTTP request passes through (module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        app_state: State,
        observers: Sequence[RequestObserver],
        max_body_bytes: int,
    ) -> None:
        self.app = app
        self._app_state = app_state  # the lifespan puts the authenticator there
        self._observers = tuple(observers)
        self._max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        sent_id, authorization, declared_length = _read_headers(scope)
        request_id = choose_request_id(sent_id)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        authenticator = getattr(self._app_state, "authenticator", None)
        state["caller"] = Caller(authenticator, authorization, state)
        id_header = (b"x-request-id", request_id.encode("latin-1"))
        status = 500  # what the client gets if nothing is answered
        answered = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), id_header]
                status = int(message["status"])
                answered = True
            await send(message)

        try:
            await self.app(scope, self._limited(receive, declared_length), send_with_id)
        except ClientDisconnect:
            status = CLIENT_CLOSED
        except Exception as error:  # noqa: BLE001 - every error is answered, none leaks
            if answered:  # too late for a problem answer: the log has the trace
                _log.exception("error after answering %s %s", scope["method"], scope["path"])
            else:
                problem = to_problem(error)
                if problem is None:
                    _log.exception("unexpected error on %s %s", scope["method"], scope["path"])
                    problem = unexpected_problem()
                await problem_response(problem, scope["path"])(scope, receive, send_with_id)
        finally:
            observed = ObservedRequest(
                method=scope["method"],
                path=scope["path"],
                route=getattr(scope.get("route"), "path", None),
                status=status,
                seconds=time.perf_counter() - started,
                request_id=request_id,
                actor=state.get("actor"),
            )
            for observer in self._observers:
                observer(observed)

    def _limited(self, receive: Receive, declared_length: str | None) -> Receive:
        """``receive``, refusing with 413 a body declared or found over the limit.

        Refused when a handler reads the body, not before: what it checks first
        (the caller, the shipment id) is answered first, as without a body.
        """
        limit = self._max_body_bytes
        declared_too_large = (
            declared_length is not None
            and declared_length.isdigit()
            and int(declared_length) > limit
        )
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if declared_too_large:
                raise body_too_large(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise body_too_large(limit)
            return message

        return limited_receive


def _read_headers(scope: Scope) -> tuple[str | None, str | None, str | None]:
    """``X-Request-ID``, ``Authorization`` and ``Content-Length`` (their first lines),
    in one pass that also folds repeated list-valued headers (only when one repeats)."""
    headers = scope["headers"]
    sent_id = authorization = declared_length = None
    lists = 0
    for name, value in headers:
        if name in FOLDED_HEADERS:
            lists += 1
        elif name == b"x-request-id" and sent_id is None:
            sent_id = value.decode("latin-1")
        elif name == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
        elif name == b"content-length" and declared_length is None:
            declared_length = value.decode("latin-1")
    if lists > 1:
        scope["headers"] = fold_list_headers(headers)
    return sent_id, authorization, declared_length


def body_too_large(limit: int) -> HttpProblem:
    """The 413 of a body over ``limit`` bytes."""
    return HttpProblem(413, f"the body exceeds the limit of {limit} bytes")
