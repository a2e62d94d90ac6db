"""A minimal CRUD shipment service: the competitor the event-sourced service must beat.

Same stack as the service (FastAPI on uvicorn, async psycopg pool or sqlite3,
orjson), one table ``shipments(id, version, document)``, and the same HTTP shape
for the calls the benchmark makes: ``POST /v1/shipments``, ``GET`` with an
``ETag``, and ``PATCH`` with a required ``If-Match`` that becomes
``UPDATE … WHERE id = ? AND version = ?`` (412 when no row changed). It keeps no
history, no view, no idempotency ledger: the price of those is what we measure.

Run it: ``python -m bench.crud_baseline --database-url sqlite:///x.db --port 8100``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID, uuid4

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import ValidationError

from bench.crud_baseline_rules import (
    SERVER_OWNED,
    client_fields,
    if_match_passes,
    merge_patch,
    status_move_allowed,
    timestamp_now,
    version_tag,
)
from bench.crud_baseline_store import Documents, create_table, open_documents

DATABASE_URL_VARIABLE = "BENCH_BASELINE_DATABASE_URL"


class Problem(Exception):
    """An error answer; rendered as a small problem+json body."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def create_baseline_app(database_url: str) -> FastAPI:
    """The baseline app on the store ``database_url`` names (the table must exist)."""
    documents = open_documents(database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await documents.open()
        try:
            yield
        finally:
            await documents.close()

    app = FastAPI(title="CRUD baseline", lifespan=lifespan)

    @app.exception_handler(Problem)
    async def problem_answer(request: Request, problem: Problem) -> Response:
        body = {"title": problem.detail, "status": problem.status, "detail": problem.detail}
        return Response(
            orjson.dumps(body),
            status_code=problem.status,
            media_type="application/problem+json",
            headers=problem.headers,
        )

    @app.get("/readyz")
    async def readyz() -> Response:
        await documents.ping()
        return Response(b'{"status":"ready"}', media_type="application/json")

    @app.post("/v1/shipments", status_code=201)
    async def create_shipment(request: Request) -> Response:
        fields = _validated(_json_object(await request.body()))
        shipment_id = uuid4()
        now = timestamp_now()
        document = _document(shipment_id, 1, "DRAFT", fields, now, now)
        body = orjson.dumps(document)
        await documents.insert(shipment_id, body.decode())
        headers = {"ETag": f'"{document["eTag"]}"', "Location": f"/v1/shipments/{shipment_id}"}
        return Response(body, status_code=201, media_type="application/json", headers=headers)

    @app.get("/v1/shipments/{shipment_id}")
    async def get_shipment(shipment_id: str) -> Response:
        parsed_id = _parse_id(shipment_id)
        version, document = await _existing(documents, parsed_id)
        headers = {"ETag": f'"{version_tag(parsed_id, version)}"', "Cache-Control": "no-cache"}
        return Response(document, media_type="application/json", headers=headers)

    @app.patch("/v1/shipments/{shipment_id}")
    async def patch_shipment(shipment_id: str, request: Request) -> Response:
        parsed_id = _parse_id(shipment_id)
        if_match = request.headers.get("if-match")
        patch = None
        while True:
            version, stored = await _existing(documents, parsed_id)
            current_tag = version_tag(parsed_id, version)
            if if_match is None:
                raise Problem(428, "If-Match is required", {"ETag": f'"{current_tag}"'})
            if not if_match_passes(if_match, current_tag):
                raise Problem(412, "the If-Match tag is not current", {"ETag": f'"{current_tag}"'})
            if patch is None:
                patch = _json_object(await request.body())
            answer = await _apply_patch(documents, parsed_id, version, stored, dict(patch))
            if answer is not None:
                return answer
            # Lost the race to another writer. A named tag is stale now: 412, like the
            # service. ``*`` matches any existing shipment, so it is decided again on the
            # new state (the contract: never 412 while the shipment exists).
            if if_match.strip() != "*":
                raise Problem(412, "another writer changed the shipment first")

    return app


async def _apply_patch(
    documents: Documents, shipment_id: UUID, version: int, stored: str, patch: dict[str, Any]
) -> Response | None:
    """Merge ``patch`` into the stored document and write it at ``version`` + 1.

    None when another writer changed the row since it was read (the UPDATE matched no row).
    """
    current = orjson.loads(stored)
    status = patch.pop("status", current["status"])
    if not isinstance(status, str) or not status_move_allowed(current["status"], status):
        raise Problem(409, f"cannot move from {current['status']} to {status}")
    for key in SERVER_OWNED:
        patch.pop(key, None)
    before = {key: value for key, value in current.items() if key not in SERVER_OWNED}
    fields = _validated(merge_patch(before, patch))
    if fields == before and status == current["status"]:
        tag = version_tag(shipment_id, version)
        return Response(stored, media_type="application/json", headers={"ETag": f'"{tag}"'})
    document = _document(
        shipment_id, version + 1, status, fields, current["createdAt"], timestamp_now()
    )
    body = orjson.dumps(document)
    if not await documents.update(shipment_id, version, body.decode()):
        return None
    return Response(body, media_type="application/json", headers={"ETag": f'"{document["eTag"]}"'})


def create_baseline_app_from_env() -> FastAPI:
    """Entry point for ``uvicorn --factory`` (each worker builds its own app)."""
    return create_baseline_app(os.environ[DATABASE_URL_VARIABLE])


def _document(
    shipment_id: UUID,
    version: int,
    status: str,
    fields: dict[str, Any],
    created_at: str,
    updated_at: str,
) -> dict[str, Any]:
    return {
        "id": str(shipment_id),
        "eTag": version_tag(shipment_id, version),
        "version": version,
        "status": status,
        **fields,
        "createdAt": created_at,
        "updatedAt": updated_at,
    }


async def _existing(documents: Documents, shipment_id: UUID) -> tuple[int, str]:
    row = await documents.get(shipment_id)
    if row is None:
        raise Problem(404, "no such shipment")
    return row


def _parse_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise Problem(404, "no such shipment") from None


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Problem(400, "the body is not JSON") from None
    if not isinstance(value, dict):
        raise Problem(422, "the body must be a JSON object")
    return value


def _validated(values: dict[str, Any]) -> dict[str, Any]:
    try:
        return client_fields(values)
    except ValidationError as error:
        raise Problem(422, f"invalid shipment: {error.error_count()} problem(s)") from None


def main(argv: list[str] | None = None) -> int:
    """Create the table once, then serve with uvicorn (``--workers`` like the service)."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m bench.crud_baseline", description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get(DATABASE_URL_VARIABLE))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--workers", type=int, default=1)
    arguments = parser.parse_args(argv)
    if not arguments.database_url:
        parser.error(f"--database-url (or {DATABASE_URL_VARIABLE}) is required")
    create_table(arguments.database_url)
    os.environ[DATABASE_URL_VARIABLE] = arguments.database_url
    uvicorn.run(
        "bench.crud_baseline:create_baseline_app_from_env",
        factory=True,
        host=arguments.host,
        port=arguments.port,
        workers=arguments.workers,
        log_level="warning",
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
