"""Every error answer, as RFC 9457 problem+json, mapped in this one module.

Handlers raise domain, service or ``HttpProblem`` exceptions (or answer a write's
refusal: ``api.http.write_answers``); ``to_problem`` decides status, type and
wording, and the request pipeline renders it (``api.plumbing.pipeline``).
Nothing internal (trace, SQL, path) is ever put in a body: unexpected errors
are logged once, server-side, and answered with a generic 500.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson
from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.http.etags import etag_header
from api.http.problem_types import registered_title
from application.field_names import camel_path
from application.shipment_input import InvalidInput, field_errors_summary
from application.validation_messages import api_words, field_error
from domain.errors import IllegalTransition, InvalidShipment, ShipmentClosed
from domain.values import Status
from infrastructure.delivery.destinations import RefusedDestination
from infrastructure.delivery.subscriptions import SubscriptionNotFound
from infrastructure.errors import (
    IdempotencyKeyReused,
    ShipmentNotFound,
    StoreUnavailable,
    VersionConflict,
)
from projections.version_tags import encode_tag

PROBLEM_MEDIA_TYPE = "application/problem+json"


class HttpProblem(Exception):
    """An HTTP-level refusal raised by the API layer itself (415, 428, 413, 400, 422…)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        type_: str = "about:blank",
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        self.status = status
        self.detail = detail
        self.type_ = type_
        # A documented type always has its one title (``api.http.problem_types``).
        self.title = registered_title(type_) or title or HTTPStatus(status).phrase
        self.headers = headers or {}
        self.extensions = extensions
        super().__init__(detail)


def problem_response(problem: HttpProblem, instance: str | None = None) -> Response:
    """Render a problem as ``application/problem+json`` (``instance``: the request's path)."""
    body: dict[str, Any] = {
        "type": problem.type_,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(problem.extensions)
    return Response(
        content=orjson.dumps(body),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=problem.headers,
    )


def validation_problem(errors: list[dict[str, str]], detail: str | None = None) -> HttpProblem:
    """A 422 listing each invalid field (camelCase path) and why."""
    return HttpProblem(
        422,
        detail or field_errors_summary(errors),
        type_="/problems/invalid-request",
        errors=errors,
    )


def to_problem(error: Exception) -> HttpProblem | None:
    """The problem a known exception maps to, or None for an unexpected one."""
    if isinstance(error, HttpProblem):
        return error
    if isinstance(error, ShipmentNotFound):
        detail = "no such shipment" if error.version is None else "no such version of the shipment"
        return HttpProblem(404, detail)
    if isinstance(error, VersionConflict):
        if error.since is None:
            return if_none_match_problem(error)
        if error.since == 0:
            return unknown_tag_problem(error)
        return version_conflict_problem(error)
    if isinstance(error, SubscriptionNotFound):
        return HttpProblem(404, "no such subscription")
    if isinstance(error, RefusedDestination):
        return validation_problem([{"field": "url", "reason": str(error)}])
    if isinstance(error, IllegalTransition | ShipmentClosed):
        return rule_problem(error)
    if isinstance(error, InvalidInput):
        return validation_problem(error.errors, error.detail)
    if isinstance(error, InvalidShipment):
        return validation_problem(
            [{"field": camel_path(p.field), "reason": api_words(p.message)} for p in error.problems]
        )
    if isinstance(error, IdempotencyKeyReused):
        return HttpProblem(
            422,
            "this Idempotency-Key was already used for a different request",
            type_="/problems/idempotency-key-reused",
        )
    # The library's connection errors are a safety net for a store read that
    # was not wrapped in ``store_errors()``: an outage is a 503, never a 500.
    if isinstance(error, StoreUnavailable | OperationalError | InterfaceError):
        return outage_problem()
    return None


def rule_problem(error: IllegalTransition | ShipmentClosed) -> HttpProblem:
    """The 409 of a move the status machine forbids: where it is, where it may go."""
    if isinstance(error, ShipmentClosed):
        return HttpProblem(
            409,
            str(error),
            type_="/problems/shipment-closed",
            currentStatus=error.status,
            allowedStatuses=[],
        )
    allowed = _moves_from(error.current)
    return HttpProblem(
        409,
        f"{error}; {_may_move(error.current, allowed)}",
        type_="/problems/illegal-transition",
        currentStatus=error.current,
        requestedStatus=error.requested,
        allowedStatuses=allowed,
    )


def _moves_from(status: str) -> list[str]:
    """The statuses a shipment in ``status`` may move to (the 409's ``allowedStatuses``)."""
    return [target.value for target in Status(status).moves()]


def _may_move(status: str, allowed: list[str]) -> str:
    return f"from {status} it may move to {' or '.join(allowed)}"


def version_conflict_problem(error: VersionConflict, **extensions: Any) -> HttpProblem:
    """The 412 of a stale tag: where the shipment is now (and what else the caller adds).

    ``extensions`` are the members a stale write's answer adds: ``changesSince``,
    ``changesSinceComplete``, ``conflictingFields`` (``api.http.write_answers``).
    """
    return HttpProblem(
        412,
        f"the shipment has changed: it is now at version {error.current_version}; "
        "read it again and retry with its current ETag",
        type_="/problems/version-conflict",
        headers={"ETag": etag_header(error.shipment_id, error.current_version)},
        currentVersion=error.current_version,
        currentETag=encode_tag(error.shipment_id, error.current_version),
        **extensions,
    )


def if_none_match_problem(error: VersionConflict) -> HttpProblem:
    """The 412 of a write whose ``If-None-Match`` matched: it asked not to overwrite this."""
    return HttpProblem(
        412,
        "If-None-Match matched: the shipment exists, at version "
        f"{error.current_version}, and this write was to be made only if it did not match. "
        "Nothing was written",
        type_="/problems/if-none-match-matched",
        headers={"ETag": etag_header(error.shipment_id, error.current_version)},
        currentVersion=error.current_version,
        currentETag=encode_tag(error.shipment_id, error.current_version),
    )


def unknown_tag_problem(error: VersionConflict) -> HttpProblem:
    """The 412 of an ``If-Match`` that names no version of this shipment.

    Nobody else changed anything: the tag is a weak one, another shipment's, one
    this service never issued, or text that is not a tag. Saying "changed by
    someone else" (with the whole history as news) would send the client looking
    for a writer that does not exist, so it has its own type and says what it is.
    """
    return HttpProblem(
        412,
        "If-Match names no version of this shipment: it is not an ETag this service "
        'issued for it (a weak tag W/"…", another shipment\'s tag, or text that is not '
        f"a tag). Nothing was written. The shipment is at version {error.current_version}; "
        "send the ETag a GET of it gives",
        type_="/problems/unknown-tag",
        headers={"ETag": etag_header(error.shipment_id, error.current_version)},
        currentVersion=error.current_version,
        currentETag=encode_tag(error.shipment_id, error.current_version),
    )


def outage_problem() -> HttpProblem:
    """The 503 for a store that could not be reached in time (never says why)."""
    return HttpProblem(
        503,
        "the shipment store is unavailable; retry shortly",
        headers={"Retry-After": "1"},
    )


def unexpected_problem() -> HttpProblem:
    """The 500 for an error nobody expected: it says nothing of what failed.

    The request id on the answer (``api.plumbing.pipeline``) finds the logged trace.
    """
    return HttpProblem(500, "the server failed to handle this request; it has been logged")


def install_problem_handlers(app: FastAPI) -> None:
    """Render FastAPI's own refusals (no route, a bad parameter) as our problems.

    Every other exception leaves the app and is rendered by the request
    pipeline (``api.plumbing.pipeline``) with ``to_problem``, for the routes and
    the doors in front of them alike.
    """

    async def handle_http(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        detail = (
            error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
        )
        if error.status_code == 404:
            detail = "no such resource"
        return problem_response(
            HttpProblem(error.status_code, detail, headers=dict(error.headers or {})),
            request.url.path,
        )

    async def handle_request_validation(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        errors = [
            field_error(e, tuple(e["loc"][1:]) or tuple(e["loc"][:1])) for e in error.errors()
        ]
        return problem_response(validation_problem(errors), request.url.path)

    app.add_exception_handler(StarletteHTTPException, handle_http)
    app.add_exception_handler(RequestValidationError, handle_request_validation)
