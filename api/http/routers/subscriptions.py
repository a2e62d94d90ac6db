"""``/v1/subscriptions``: push delivery of the change feed (admin only).

Routes parse and render; what a change means (URL checks, the starting
position, re-enabling) is ``SubscriptionAdministration``'s, which the CLI calls too.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from api.http.dependencies import AdminDep, ServicesDep
from api.http.openapi_docs import COMMON_PROBLEMS, problem, request_body
from api.http.problems import validation_problem
from api.http.subscription_schemas import (
    DeliveryAttemptList,
    SecretOut,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionList,
    SubscriptionOut,
    SubscriptionPatch,
    attempt_answer,
    subscription_answer,
)
from api.http.write_bodies import JSON, MERGE_PATCH, parse_json_object, require_content_type
from application.validation_messages import field_error
from infrastructure.delivery.subscriptions import (
    SubscriptionChanges,
    SubscriptionNotFound,
    SubscriptionStatus,
)

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])

SubscriptionIdPath = Annotated[
    str,
    Path(
        description="The subscription's id (any other text is a 404)",
        json_schema_extra={"format": "uuid"},
    ),
]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: problem("No such subscription")}
BODY_PROBLEMS: dict[int | str, dict[str, Any]] = {
    413: problem("Body over 64 KiB"),
    415: problem("Wrong Content-Type"),
}


async def _parsed(request: Request, model: type[BaseModel], accepted: tuple[str, ...]) -> Any:
    require_content_type(request.headers.get("content-type"), accepted)
    # The request pipeline refuses a body over the limit (413) as it is read.
    body = parse_json_object(await request.body())
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise validation_problem([field_error(e) for e in error.errors()]) from None


def _id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise SubscriptionNotFound(text) from None


def _json(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(content), status_code, headers, media_type="application/json")


def _wake_deliverer(request: Request) -> None:
    deliverer = getattr(request.app.state, "deliverer", None)
    if deliverer is not None:
        deliverer.wake()


@router.post(
    "",
    operation_id="createSubscription",
    status_code=201,
    summary="Subscribe a webhook or a NATS JetStream subject to the change feed",
    description=(
        "Every event after `after` is delivered at least once, in feed order. A webhook gets "
        "a signed `POST` (Standard Webhooks: `webhook-id`, `webhook-timestamp`, "
        "`webhook-signature`), one at a time. A `nats://` subject gets the same body and "
        "headers on JetStream, with `Nats-Msg-Id` (the message id: the stream drops "
        "duplicates) and, on messages published before the previous one was acknowledged, "
        "`Nats-Expected-Last-Msg-Id` naming it, so the stream stores none before the one "
        "before it."
    ),
    response_model=None,
    responses={
        201: {
            "description": "Created; `secret` is shown this once only",
            "model": SubscriptionCreated,
            "headers": {"Location": {"schema": {"type": "string"}, "description": "Its URL"}},
        },
        **COMMON_PROBLEMS,
        **BODY_PROBLEMS,
    },
    openapi_extra=request_body((JSON,), "Where to deliver, and what", "SubscriptionCreate"),
)
async def create_subscription(request: Request, svc: ServicesDep, principal: AdminDep) -> Response:
    wanted: SubscriptionCreate = await _parsed(request, SubscriptionCreate, (JSON,))
    admin = svc.subscriptions
    subscription = await run_in_threadpool(
        admin.add, wanted.url, wanted.types, wanted.description, wanted.after
    )
    head = await run_in_threadpool(admin.head)
    _wake_deliverer(request)
    body = {**subscription_answer(subscription, head), "secret": subscription.secret}
    return _json(body, 201, {"Location": f"/v1/subscriptions/{subscription.id}"})


@router.get(
    "",
    operation_id="listSubscriptions",
    summary="Every subscription, with its position, lag and status",
    response_model=None,
    responses={
        200: {"description": "The subscriptions", "model": SubscriptionList},
        **COMMON_PROBLEMS,
    },
)
async def list_subscriptions(svc: ServicesDep, principal: AdminDep) -> Response:
    admin = svc.subscriptions
    subscriptions = await run_in_threadpool(admin.subscriptions.all)
    head = await run_in_threadpool(admin.head)
    return _json({"items": [subscription_answer(s, head) for s in subscriptions]})


@router.get(
    "/{subscription_id}",
    operation_id="getSubscription",
    summary="One subscription",
    response_model=None,
    responses={
        200: {"description": "The subscription", "model": SubscriptionOut},
        **NOT_FOUND,
        **COMMON_PROBLEMS,
    },
)
async def get_subscription(
    subscription_id: SubscriptionIdPath, svc: ServicesDep, principal: AdminDep
) -> Response:
    admin = svc.subscriptions
    subscription = await run_in_threadpool(admin.subscriptions.get, _id(subscription_id))
    head = await run_in_threadpool(admin.head)
    return _json(subscription_answer(subscription, head))


@router.patch(
    "/{subscription_id}",
    operation_id="updateSubscription",
    summary="Re-enable, rewind or skip (position), change types, URL or description",
    description='A merge patch. `{"status": "active"}` re-enables a disabled subscription: '
    'delivery resumes at the event that failed. `{"position": N}` delivers what comes '
    "after N next (replay or skip).",
    response_model=None,
    responses={
        200: {"description": "The subscription", "model": SubscriptionOut},
        **NOT_FOUND,
        **COMMON_PROBLEMS,
        **BODY_PROBLEMS,
    },
    openapi_extra=request_body((MERGE_PATCH, JSON), "The members to change", "SubscriptionPatch"),
)
async def update_subscription(
    request: Request, subscription_id: SubscriptionIdPath, svc: ServicesDep, principal: AdminDep
) -> Response:
    key = _id(subscription_id)
    patch: SubscriptionPatch = await _parsed(request, SubscriptionPatch, (MERGE_PATCH, JSON))
    sent = patch.model_fields_set
    changes = SubscriptionChanges(
        url=patch.url,
        types=None if "types" not in sent else tuple(patch.types or ()),
        description=patch.description,
        clear_description="description" in sent and patch.description is None,
        status=None if patch.status is None else SubscriptionStatus(patch.status),
        position=patch.position,
    )
    admin = svc.subscriptions
    subscription = await run_in_threadpool(admin.change, key, changes)
    head = await run_in_threadpool(admin.head)
    _wake_deliverer(request)
    return _json(subscription_answer(subscription, head))


@router.delete(
    "/{subscription_id}",
    operation_id="deleteSubscription",
    status_code=204,
    summary="Stop delivering and forget the subscription",
    response_model=None,
    responses={204: {"description": "Deleted"}, **NOT_FOUND, **COMMON_PROBLEMS},
)
async def delete_subscription(
    subscription_id: SubscriptionIdPath, svc: ServicesDep, principal: AdminDep
) -> Response:
    if not await run_in_threadpool(svc.subscriptions.remove, _id(subscription_id)):
        raise SubscriptionNotFound(subscription_id)
    return Response(status_code=204)


@router.post(
    "/{subscription_id}/rotate-secret",
    operation_id="rotateSubscriptionSecret",
    summary="A new signing secret; for 24 h deliveries are signed with the old one too",
    response_model=None,
    responses={
        200: {"description": "The new secret", "model": SecretOut},
        **NOT_FOUND,
        **COMMON_PROBLEMS,
    },
)
async def rotate_subscription_secret(
    subscription_id: SubscriptionIdPath, svc: ServicesDep, principal: AdminDep
) -> Response:
    secret = await run_in_threadpool(svc.subscriptions.rotate_secret, _id(subscription_id))
    return _json({"secret": secret})


@router.get(
    "/{subscription_id}/deliveries",
    operation_id="listSubscriptionDeliveries",
    summary="The latest delivery attempts, newest first",
    response_model=None,
    responses={
        200: {"description": "The attempts", "model": DeliveryAttemptList},
        **NOT_FOUND,
        **COMMON_PROBLEMS,
    },
)
async def list_subscription_deliveries(
    subscription_id: SubscriptionIdPath,
    svc: ServicesDep,
    principal: AdminDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    key = _id(subscription_id)
    store = svc.subscriptions.subscriptions
    await run_in_threadpool(store.get, key)  # 404 for an unknown one
    attempts = await run_in_threadpool(store.attempts, key, limit)
    return _json({"items": [attempt_answer(attempt) for attempt in attempts]})
