"""``PATCH``/``PUT /v1/shipments/{id}`` answered in front of FastAPI, by the one write path.

Through FastAPI, the framework around a write (middleware stack, routing,
dependency solving) cost about a fifth of a PATCH's CPU (profiles in
``bench/README.md``), so, like ``api.edge.reads``, the app offers each write to
this door first. It reads the request as the app's route and middleware would
and calls the same ``ShipmentWrites`` the route calls: the behaviour is one
function, this is only a cheaper way in.

It declines, having read nothing it cannot hand back, what it cannot take
without the app: another method or path, a query string, a caller it cannot
accept at once (401/403 and store-checked tokens are the app's), a body declared
or found over the limit, or a client that left. Everything it takes it answers
itself, success or problem, exactly as the app's handlers render it.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Sequence

from starlette.datastructures import State
from starlette.types import Message, Receive, Scope, Send

from api.edge.requests import (
    allowed_caller,
    first_header,
    joined_header,
    one_shipment,
    report,
    send_problem,
)
from api.http.idempotency_keys import validated_key
from api.http.problems import to_problem, unexpected_problem
from api.http.shipment_writes import ShipmentWrites, WriteRequest
from api.plumbing.auth import Authenticator
from api.plumbing.principals import Principal, Role
from api.plumbing.request_ids import choose_request_id
from api.plumbing.request_observer import RequestObserver
from api.wiring import Services

_log = logging.getLogger("shipments.errors")


class ShipmentWriteFastPath:
    """Answers the writes it takes with ``ShipmentWrites``; declines the rest, unread."""

    def __init__(self, state: State, observers: Sequence[RequestObserver]) -> None:
        self._state = state  # the app's state: its lifespan puts the services there
        self._observers = tuple(observers)

    async def answer(self, scope: Scope, receive: Receive, send: Send) -> tuple[bool, Receive]:
        """(True, …) once answered; else (False, a ``receive`` that replays what was read)."""
        started = time.perf_counter()
        shipment_id = one_shipment(scope, ("PATCH", "PUT"))
        services: Services | None = getattr(self._state, "services", None)
        authenticator: Authenticator | None = getattr(self._state, "authenticator", None)
        if (
            shipment_id is None
            or services is None
            or authenticator is None
            or _declared_too_large(scope, services.settings.max_body_bytes)
        ):
            return False, receive
        principal = allowed_caller(scope, authenticator, Role.WRITER)
        if principal is None:
            return False, receive
        read, body = await _read_body(receive, services.settings.max_body_bytes)
        replay = _replaying(read, receive)
        if body is None:
            return False, replay
        request_id = choose_request_id(first_header(scope, b"x-request-id"))
        try:
            write = _write_request(scope, body, principal, request_id)
            writes = ShipmentWrites(services.shipments)
            if write.method == "PATCH":
                response = await writes.patch(shipment_id, write)
            else:
                response = await writes.replace(shipment_id, write)
        except Exception as error:  # noqa: BLE001 - rendered as the app's handlers render it
            problem = to_problem(error)
            if problem is None:
                _log.exception("unexpected error on %s %s", scope["method"], scope["path"])
                problem = unexpected_problem(request_id)
            status = await send_problem(scope, replay, send, problem, request_id)
        else:
            response.headers["x-request-id"] = request_id
            await response(scope, replay, send)
            status = response.status_code
        report(
            self._observers,
            scope,
            status=status,
            started=started,
            request_id=request_id,
            principal=principal,
        )
        return True, replay


def _write_request(
    scope: Scope, body: bytes, principal: Principal, request_id: str
) -> WriteRequest:
    """The write as the app's route builds it (headers folded as the app folds them)."""
    return WriteRequest(
        method=scope["method"],
        path=scope["path"],
        body=body,
        content_type=first_header(scope, b"content-type"),
        principal=principal,
        request_id=request_id,
        idempotency_key=validated_key(first_header(scope, b"idempotency-key")),
        if_match=joined_header(scope, b"if-match"),
        if_none_match=joined_header(scope, b"if-none-match"),
        prefer=joined_header(scope, b"prefer"),
    )


def _declared_too_large(scope: Scope, limit: int) -> bool:
    declared = first_header(scope, b"content-length")
    return declared is not None and declared.isdigit() and int(declared) > limit


async def _read_body(receive: Receive, limit: int) -> tuple[list[Message], bytes | None]:
    """The messages read, and the body (None if over ``limit`` or the client left)."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        size += len(message.get("body", b""))
        if size > limit:
            return messages, None
        if not message.get("more_body", False):
            return messages, b"".join(m.get("body", b"") for m in messages)


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that first gives back ``messages``, then reads on."""
    pending = deque(messages)

    async def replay() -> Message:
        if pending:
            return pending.popleft()
        return await receive()

    return replay
