"""A request to PUT, PATCH or POST a shipment, read into the parts a write needs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import Receive, Scope

from api.http.idempotency_keys import validated_key
from api.http.write_answers import WriteRequest
from api.plumbing.pipeline import request_id_of
from api.plumbing.principals import Principal


async def write_request(scope: Scope, receive: Receive, principal: Principal) -> WriteRequest:
    """The write, its body read (the pipeline refuses one over the limit with 413).

    Header lists arrive folded into one line by the pipeline (RFC 9110 §5.3).
    """
    # The first line of each header, as Starlette's ``Headers.get`` reads it.
    headers = dict(reversed(scope["headers"]))
    key = validated_key(_text(headers.get(b"idempotency-key")))
    return WriteRequest(
        method=scope["method"],
        path=scope["path"],
        body=await Request(scope, receive).body(),
        content_type=_text(headers.get(b"content-type")),
        principal=principal,
        request_id=request_id_of(scope),
        idempotency_key=key,
        if_match=_text(headers.get(b"if-match")),
        if_none_match=_text(headers.get(b"if-none-match")),
        prefer=_text(headers.get(b"prefer")),
    )


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")
