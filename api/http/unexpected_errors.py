"""The last resort: an error nobody expected is logged once and answered with a 500.

Starlette's own last resort (``ServerErrorMiddleware``) answers with the app's
handler and then raises the error again, so that the server logs it too: uvicorn
then prints the traceback a second time, in plain text, after our JSON line. A
log pipeline would count one failure twice, and half of it without the request
id. This layer sits inside Starlette's and ends the error where it is answered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ERROR_LOGGER = "shipments.errors"
_log = logging.getLogger(ERROR_LOGGER)


class UnexpectedErrorMiddleware:
    """Logs an unexpected error once and answers it with the response ``answer`` gives."""

    def __init__(self, app: ASGIApp, answer: Callable[[Scope], Response]) -> None:
        self.app = app
        self._answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_noting_start)
        except Exception:  # noqa: BLE001 - the last resort: whatever failed is answered
            _log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            if started:
                return  # the answer is under way: the server closes the connection
            await self._answer(scope)(scope, receive, send)
