"""The app factory: ``create_app(settings)`` builds one fully wired FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.console import routes as console
from api.edge.doors import ShipmentDoors
from api.http import api_docs
from api.http.allowed_methods import install_allow_header
from api.http.openapi_document import openapi_document
from api.http.problem_pages import router as problem_pages
from api.http.problems import install_problem_handlers
from api.http.routers import (
    events,
    health,
    history,
    metrics,
    personal_data,
    shipment_list,
    shipments,
    subscriptions,
)
from api.plumbing.access_log import AccessLog, configure_logging
from api.plumbing.auth import build_authenticator
from api.plumbing.cors import CrossOrigin, cross_origin_options
from api.plumbing.pipeline import RequestPipeline
from api.plumbing.request_metrics import ServiceMetrics
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
        app.state.deliverer = start_deliverer(
            app.state.services, settings, app.state.log_follower, app.state.metrics.delivery
        )
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

    app = FastAPI(
        title="Shipment service",
        version="1.0.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        # The service logs and counts every request itself, in the request pipeline
        # (``api.plumbing``), doors included; FastAPI's own OpenTelemetry spans,
        # metrics and exception logs would log a failure twice and cost a tenth of a
        # GET's CPU in checks per request, to report nothing by default.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        docs_url=None,  # api.http.api_docs serves them without a CDN
        redoc_url=None,
    )
    if services is not None:
        app.state.services = services
    app.state.metrics = ServiceMetrics()
    configure_logging(settings.log_format, settings.log_level)
    # ``add_middleware`` wraps what was added before, so, from the outside in:
    # CORS (its headers go on every answer, problems included), the request
    # pipeline, the doors, FastAPI's routing. A middleware an integrator adds
    # later wraps all of them and sees every request.
    app.add_middleware(ShipmentDoors, app_state=app.state)
    app.add_middleware(
        RequestPipeline,
        app_state=app.state,
        observers=[AccessLog(), app.state.metrics.observe_request],
        max_body_bytes=settings.max_body_bytes,
    )
    if settings.cors_origins:
        app.add_middleware(CrossOrigin, **cross_origin_options(settings))
    install_problem_handlers(app)
    install_allow_header(app)
    app.include_router(shipments.router)
    app.include_router(shipment_list.router)
    app.include_router(history.router)
    app.include_router(personal_data.router)
    app.include_router(events.router)
    app.include_router(subscriptions.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(console.router)
    app.include_router(problem_pages)
    app.include_router(api_docs.router)
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    return app


def create_app_from_env() -> FastAPI:
    """Entry point for ``uvicorn --factory`` (each worker process builds its own app)."""
    return create_app(Settings())
