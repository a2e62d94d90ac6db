"""``PATCH``/``PUT /v1/shipments/{id}`` decided in the event loop, in front of FastAPI.

The common write — no ``Idempotency-Key``, a change the store accepts — needs no
worker thread: it is decided in the event loop, on the cached state while that
is still the last one, and only its append waits, on the group committer
(``ShipmentWrites.patch_in_loop``). Through FastAPI, the framework around that
decision (middleware stack, routing, dependency solving) cost about a fifth of
a PATCH's CPU (profiles in ``bench/README.md``), so, like ``api.fast_reads``,
the app offers each write to this class first.

It takes only what it can settle without the app and declines everything else
*before anything is written or sent*, handing the app the request with its body
replayed: another method or path, a query string, an ``Idempotency-Key``, a
caller it cannot accept at once, a body over the limit, an unknown shipment, or
any answer but an accepted append (412, 409, 422, unchanged, a lost race), which
the app then decides on the store's state without trying the loop again.
Once it has appended, it answers: a failure then is a 500 (or the 503 of an
outage), never a second attempt through the app, which could append twice.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Sequence
from uuid import UUID

from starlette.datastructures import State
from starlette.types import Message, Receive, Scope, Send

from api.auth import Authenticator
from api.edge import (
    allowed_caller,
    first_header,
    joined_header,
    one_shipment,
    report,
    send_problem,
)
from api.etags import etag_header
from api.principals import Principal, Role
from api.problems import outage_problem, unexpected_problem
from api.request_ids import choose_request_id
from api.request_observer import RequestObserver
from api.shipment_writes import LOOP_TRIED, ShipmentWrites, WriteRequest
from api.wiring import Services
from domain.shipment import Shipment
from infrastructure.errors import StoreUnavailable
from projections.shipment_document import encode_document

_log = logging.getLogger("shipments.errors")


class ShipmentWriteFastPath:
    """Answers writes the loop settles; declines everything else, unwritten and unsent."""

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
            or not services.shipments.submits_without_waiting
            or first_header(scope, b"idempotency-key") is not None
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
        write = _write_request(scope, body, principal, request_id)
        try:
            reads = getattr(self._state, "document_reads", None)
            written = await _decide(ShipmentWrites(services.shipments, reads), shipment_id, write)
            if written is None:
                scope[LOOP_TRIED] = True
                return False, replay
            document = encode_document(written)
        except StoreUnavailable:
            status = await send_problem(scope, replay, send, outage_problem(), request_id)
        except Exception:  # noqa: BLE001 - the write may be durable: answer, never retry
            _log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            problem = unexpected_problem(request_id)
            status = await send_problem(scope, replay, send, problem, request_id)
        else:
            status = await _send_shipment(send, written, document, request_id)
        report(
            self._observers,
            scope,
            status=status,
            started=started,
            request_id=request_id,
            principal=principal,
        )
        return True, replay


async def _send_shipment(send: Send, shipment: Shipment, document: bytes, request_id: str) -> int:
    """The written shipment with its ETag, as ``shipment_response`` and the app send it."""
    # In the order Starlette's ``Response`` and the request-id middleware put them.
    headers = [
        (b"etag", etag_header(shipment.id, shipment.version).encode("latin-1")),
        (b"content-length", str(len(document)).encode("latin-1")),
        (b"content-type", b"application/json"),
        (b"x-request-id", request_id.encode("latin-1")),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": document})
    return 200


async def _decide(
    writes: ShipmentWrites, shipment_id: UUID, write: WriteRequest
) -> Shipment | None:
    if write.method == "PATCH":
        return await writes.patch_in_loop(shipment_id, write)
    return await writes.replace_in_loop(shipment_id, write)


def _write_request(
    scope: Scope, body: bytes, principal: Principal, request_id: str
) -> WriteRequest:
    """The write as the app's route would build it (headers folded as the app folds them)."""
    return WriteRequest(
        method=scope["method"],
        path=scope["path"],
        body=body,
        content_type=first_header(scope, b"content-type"),
        principal=principal,
        request_id=request_id,
        if_match=joined_header(scope, b"if-match"),
        if_none_match=joined_header(scope, b"if-none-match"),
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
