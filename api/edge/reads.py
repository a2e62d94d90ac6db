"""``GET``/``HEAD /v1/shipments/{id}`` answered straight from the view, in front of FastAPI.

The most frequent request a logistics client makes is "the current state of this
shipment". Its answer is already stored, encoded, with its version; all that is
left is to check the caller and copy bytes. Through FastAPI that costs its
middleware stack, routing, dependency solving, a ``Request`` and a ``Response``
object — most of the request (profiles in ``bench/README.md``). So the app
(``api.http.app.ShipmentsApp``) first offers each request to this class, which
answers the plain, successful case itself and declines every other case before
it has sent anything, leaving it to the full app:

- anything but GET/HEAD of a canonical id with no query string (``?asOf=`` …);
- a caller it cannot accept at once (no or bad token: the app answers 401/403);
- a shipment it does not find (the app answers the 404), or a read it cannot make
  without blocking (SQLite busy: the app's path may wait in a worker thread);
- an unexpected error (logged; the app's own path then answers or fails alike).

Its answers are the app's answers byte for byte (same body, status and headers,
``X-Request-ID`` included; ``tests/api/test_fast_reads.py`` compares them), and it
reports each request to the same observers (access log, metrics) under the
same route template. A store outage is answered here, with the same 503 problem
the app gives: declining would make the client wait for the time-out twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from starlette.datastructures import State
from starlette.types import Receive, Scope, Send

from api.edge.requests import (
    allowed_caller,
    first_header,
    joined_header,
    one_shipment,
    report,
    send_problem,
)
from api.http.etags import etag_header, if_none_match_matches, parse_condition
from api.http.problems import outage_problem
from api.plumbing.auth import Authenticator
from api.plumbing.principals import Role
from api.plumbing.request_ids import choose_request_id
from api.plumbing.request_observer import RequestObserver
from infrastructure.errors import StoreUnavailable
from projections.document_reads import DocumentReads, ReadDeferred

_JSON_TYPE = (b"content-type", b"application/json")
_NO_CACHE = (b"cache-control", b"no-cache")
_log = logging.getLogger("shipments.errors")


class ShipmentReadFastPath:
    """Answers successful plain reads of one shipment; declines everything else."""

    def __init__(self, state: State, observers: Sequence[RequestObserver]) -> None:
        self._state = state  # the app's state: its lifespan puts the reader there
        self._observers = tuple(observers)

    async def answer(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer the request and return True, or send nothing and return False."""
        started = time.perf_counter()
        shipment_id = one_shipment(scope, ("GET", "HEAD"))
        reads: DocumentReads | None = getattr(self._state, "document_reads", None)
        authenticator: Authenticator | None = getattr(self._state, "authenticator", None)
        if shipment_id is None or reads is None or authenticator is None:
            return False
        principal = allowed_caller(scope, authenticator, Role.READER)
        if principal is None:
            return False
        request_id = choose_request_id(first_header(scope, b"x-request-id"))
        try:
            found = await reads.get(shipment_id)
        except ReadDeferred:
            return False
        except StoreUnavailable:
            status = await send_problem(scope, receive, send, outage_problem(), request_id)
        except Exception:  # noqa: BLE001 - nothing sent yet: the app's path answers
            _log.exception("the fast read of %s failed; the app answers it", scope["path"])
            return False
        else:
            if found is None:
                return False
            version, document = found
            status = await _send_document(scope, send, shipment_id, version, document, request_id)
        report(
            self._observers,
            scope,
            status=status,
            started=started,
            request_id=request_id,
            principal=principal,
        )
        return True


async def _send_document(
    scope: Scope,
    send: Send,
    shipment_id: UUID,
    version: int,
    document: bytes,
    request_id: str,
) -> int:
    etag = (b"etag", etag_header(shipment_id, version).encode("latin-1"))
    request_id_header = (b"x-request-id", request_id.encode("latin-1"))
    if_none_match = joined_header(scope, b"if-none-match")
    if if_none_match is not None and if_none_match_matches(
        parse_condition(if_none_match), shipment_id, version
    ):
        # As Starlette answers a 304: no body, so neither length nor type.
        headers = [etag, _NO_CACHE, request_id_header]
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return 304
    # In the order the app's ``Response`` and request-id middleware put them.
    headers = [
        etag,
        _NO_CACHE,
        (b"content-length", str(len(document)).encode("latin-1")),
        _JSON_TYPE,
        request_id_header,
    ]
    start: dict[str, Any] = {"type": "http.response.start", "status": 200, "headers": headers}
    await send(start)
    # HEAD included: the server drops the body of a HEAD answer, as it does for the app.
    await send({"type": "http.response.body", "body": document})
    return 200
