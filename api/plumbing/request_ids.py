"""``X-Request-ID``: accepted from the client (when sane) or generated, and echoed."""

from __future__ import annotations

import itertools
import re
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
# A random per-process prefix and a counter: unique across processes and hosts,
# without reading the OS's random source on every request (measurable on a GET).
_PROCESS_PREFIX = secrets.token_hex(8)
_SEQUENCE = itertools.count(1)
_SANE = re.compile(r"^[A-Za-z0-9._:\-/+=@]{1,128}$")


def choose_request_id(sent: str | None) -> str:
    """Keep a client's id if it is short and printable; otherwise make one."""
    if sent and _SANE.match(sent):
        return sent
    return f"{_PROCESS_PREFIX}{next(_SEQUENCE):08x}"


class RequestIdMiddleware:
    """Puts the request id in ``scope['state']`` and on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                sent = value.decode("latin-1")
                break
        request_id = choose_request_id(sent)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)
