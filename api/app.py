"""The app factory: ``create_app(settings)`` builds one fully wired FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.problems import install_problem_handlers
from api.request_ids import RequestIdMiddleware
from api.routers import health, shipments
from api.schemas import ShipmentWrite
from api.wiring import Services, build_services
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
        try:
            yield
        finally:
            app.state.services.close()

    app = FastAPI(
        title="Shipment service",
        version="1.0.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
    )
    if services is not None:
        app.state.services = services
    app.add_middleware(RequestIdMiddleware)
    install_problem_handlers(app)
    app.include_router(shipments.router)
    app.include_router(health.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def create_app_from_env() -> FastAPI:
    """Entry point for ``uvicorn --factory`` (each worker process builds its own app)."""
    return create_app(Settings())


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus the request-body models that routes read themselves."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    body_schema = ShipmentWrite.model_json_schema(
        by_alias=True, ref_template="#/components/schemas/{model}"
    )
    components.update(body_schema.pop("$defs", {}))
    components["ShipmentWrite"] = body_schema
    app.openapi_schema = schema
    return schema
