"""Times each HTTP request once and tells every observer how it ended.

The access log and the request metrics both need a request's status and
duration; one middleware measures them and hands them on, so the hot path wraps
``send`` and reads the clock once, not once per consumer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass(frozen=True)
class ObservedRequest:
    """One answered (or failed) request, as the log and the metrics see it."""

    method: str
    path: str
    route: str | None
    status: int
    seconds: float
    request_id: str | None
    actor: str | None


RequestObserver = Callable[[ObservedRequest], None]


class RequestObserverMiddleware:
    """Outermost middleware: measures the whole request, then calls each observer."""

    def __init__(self, app: ASGIApp, observers: Sequence[RequestObserver]) -> None:
        self.app = app
        self._observers = tuple(observers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # Shared with the inner layers, which put the request id and the actor here.
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 500  # what the client gets if the app fails before answering

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            observed = ObservedRequest(
                method=scope["method"],
                path=scope["path"],
                route=getattr(scope.get("route"), "path", None),
                status=status,
                seconds=time.perf_counter() - started,
                request_id=state.get("request_id"),
                actor=state.get("actor"),
            )
            for observer in self._observers:
                observer(observed)
