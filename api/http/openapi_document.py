"""The OpenAPI document: what FastAPI derives from the routes, plus what routes read themselves.

``docs/openapi.json`` is this document, committed; ``shipments openapi`` (or
``make openapi``) writes it, and a test fails while the two differ.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from api.http.problem_schemas import PROBLEM_MODELS
from api.http.schemas import ShipmentPatch
from api.http.subscription_schemas import SubscriptionCreate, SubscriptionPatch
from application.input_models import ShipmentCreate, ShipmentWrite

TAGS = [
    {"name": "shipments", "description": "Shipments: create, read, replace, merge-patch, list."},
    {"name": "history", "description": "A shipment's past, read from its event stream."},
    {"name": "events", "description": "The change feed of all shipments, in commit order."},
    {"name": "operations", "description": "Probes and metrics for whoever runs the service."},
    {"name": "subscriptions", "description": "Push delivery of the change feed (admin)."},
]


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus the request-body and problem models that routes answer themselves."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=TAGS,
    )
    _parameters_are_sent_or_left_out(schema)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    models: tuple[type[BaseModel], ...] = (
        ShipmentCreate,
        ShipmentWrite,
        ShipmentPatch,
        SubscriptionCreate,
        SubscriptionPatch,
        *PROBLEM_MODELS,
    )
    for model in models:
        model_schema = model.model_json_schema(
            by_alias=True, ref_template="#/components/schemas/{model}"
        )
        components.update(model_schema.pop("$defs", {}))
        components[model.__name__] = model_schema
    for component in components.values():
        _left_out_is_not_a_default(component)
    app.openapi_schema = schema
    return schema


def _parameters_are_sent_or_left_out(schema: dict[str, Any]) -> None:
    """``X | None`` parameters: document ``X``, optional; a header or query is never null.

    (Declared ``X | None`` so that errors name the parameter, not a union member.)
    """
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                declared = parameter.get("schema", {})
                branches = declared.get("anyOf", [])
                kept = [branch for branch in branches if branch != {"type": "null"}]
                if len(branches) == 2 and len(kept) == 1:
                    declared.pop("anyOf")
                    parameter["schema"] = {**kept[0], **declared}


def _left_out_is_not_a_default(schema: Any) -> None:
    """Drop ``"default": null`` from every schema, nested ones too.

    pydantic writes it for each optional member, but it documents nothing a client
    can use (what "left out" means is in each model's description), and generators
    read a default as "always present": openapi-typescript, with its default options,
    makes every such member required, so a POST without ``deliveryDate`` would not
    type-check.
    """
    if isinstance(schema, dict):
        if "default" in schema and schema["default"] is None:
            del schema["default"]
        for value in schema.values():
            _left_out_is_not_a_default(value)
    elif isinstance(schema, list):
        for value in schema:
            _left_out_is_not_a_default(value)


def document_text(app: FastAPI) -> str:
    """The document as committed: pretty-printed, keys sorted, one final newline."""
    return json.dumps(openapi_document(app), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
