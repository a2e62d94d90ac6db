"""The app factory: ``create_app(settings)`` builds one fully wired FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from api.console import routes as console
from api.edge.reads import ShipmentReadFastPath
from api.edge.writes import ShipmentWriteFastPath
from api.http.allowed_methods import install_allow_header
from api.http.openapi_document import openapi_document
from api.http.problem_pages import router as problem_pages
from api.http.problems import install_problem_handlers
from api.http.routers import (
    events,
    health,
    history,
    metrics,
    shipment_list,
    shipments,
    subscriptions,
)
from api.plumbing.access_log import AccessLog, configure_logging
from api.plumbing.auth import build_authenticator
from api.plumbing.cors import cross_origin_layer
from api.plumbing.header_folding import ListHeaderFoldingMiddleware
from api.plumbing.request_ids import RequestIdMiddleware
from api.plumbing.request_metrics import ServiceMetrics
from api.plumbing.request_observer import RequestObserverMiddleware
from api.subscription_deliverer import start_deliverer
from api.view_runners import start_view_runners
from api.wiring import Services, build_services, open_document_reads
from infrastructure.log_follower import LogFollower
from infrastructure.settings import Settings

API_DESCRIPTION = """
Event-sourced shipments. Every shipment is an append-only stream of events; its
**version** is the stream position and its **ETag** names that position.
Writes (PUT, PATCH) need `If-Match`: a write appends one event at the expected
position, and of several writers holding the same tag exactly one succeeds —
the others get **412** with the current tag. Errors are `application/problem+json`.
"""


class ShipmentsApp(FastAPI):
    """The FastAPI app, with the most frequent requests answered in front of it.

    Plain reads and writes of one shipment: see ``api.edge.reads`` and
    ``api.edge.writes``, which call the very behaviour the routes call. Every
    request they decline, having sent and read nothing it cannot hand back, takes
    the full app.
    """

    fast_reads: ShipmentReadFastPath | None = None
    fast_writes: ShipmentWriteFastPath | None = None
    cross_origin: ASGIApp | None = None  # CORS around everything below (``api.plumbing.cors``)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.cross_origin is not None:
            await self.cross_origin(scope, receive, send)
        else:
            await self.answer(scope, receive, send)

    async def answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The fast paths, then the full app."""
        if self.fast_reads is not None and await self.fast_reads.answer(scope, receive, send):
            return
        if self.fast_writes is not None:
            answered, receive = await self.fast_writes.answer(scope, receive, send)
            if answered:
                return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """A wired app; it connects to the store at start-up and closes it at shutdown."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not hasattr(app.state, "services"):
            app.state.services = build_services(settings)
        if not hasattr(app.state, "authenticator"):
            app.state.authenticator = build_authenticator(settings, app.state.services)
        app.state.document_reads = await open_document_reads(app.state.services)
        runners = start_view_runners(app.state.services, settings, app.state.metrics)
        app.state.log_follower = LogFollower(app.state.services.store).start()
        app.state.deliverer = start_deliverer(app.state.services, settings, app.state.log_follower)
        try:
            yield
        finally:
            if app.state.deliverer is not None:
                app.state.deliverer.stop()
            app.state.log_follower.stop()
            runners.stop()
            if app.state.document_reads is not None:
                await app.state.document_reads.close()
            app.state.services.close()

    app = ShipmentsApp(
        title="Shipment service",
        version="1.0.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
    )
    if services is not None:
        app.state.services = services
    app.add_middleware(ListHeaderFoldingMiddleware)
    app.add_middleware(RequestIdMiddleware)
    app.state.metrics = ServiceMetrics()
    configure_logging(settings.log_format, settings.log_level)
    observers = [AccessLog(), app.state.metrics.observe_request]
    # Outermost: times the whole request once, for both the log and the metrics.
    app.add_middleware(RequestObserverMiddleware, observers=observers)
    app.fast_reads = ShipmentReadFastPath(app.state, observers)
    app.fast_writes = ShipmentWriteFastPath(app.state, observers)
    app.cross_origin = cross_origin_layer(settings, app.answer)
    install_problem_handlers(app)
    install_allow_header(app)
    app.include_router(shipments.router)
    app.include_router(shipment_list.router)
    app.include_router(history.router)
    app.include_router(events.router)
    app.include_router(subscriptions.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(console.router)
    app.include_router(problem_pages)
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    return app


def create_app_from_env() -> FastAPI:
    """Entry point for ``uvicorn --factory`` (each worker process builds its own app)."""
    return create_app(Settings())
