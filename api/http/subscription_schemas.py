"""Subscriptions as clients send and see them (``/v1/subscriptions``).

Inputs are strict and forbid unknown members, as every body of this API; the
answer is rendered from the stored record in one place (``subscription_answer``),
and never carries the secret except when it is made.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from infrastructure.delivery.destinations import MAX_URL_LENGTH
from infrastructure.delivery.subscriptions import DeliveryAttempt, Subscription
from infrastructure.event_store import MAX_POSITION
from projections.shipment_document import format_timestamp

MessageType = Literal[
    "shipment.created",
    "shipment.revised",
    "shipment.status_changed",
    "shipment.personal_data_erased",
]
MAX_DESCRIPTION_LENGTH = 500
Url = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description="https://…/hook, http://…, or nats://host:port/<subject>",
    ),
]
Position = Annotated[int, Field(ge=0, le=MAX_POSITION)]

_INPUT = ConfigDict(alias_generator=to_camel, extra="forbid", strict=True)
_OUTPUT = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class SubscriptionCreate(BaseModel):
    """A new subscription."""

    model_config = _INPUT

    url: Url
    types: list[MessageType] | None = Field(
        default=None, description="Only these event types (default: all)"
    )
    description: Annotated[str, Field(max_length=MAX_DESCRIPTION_LENGTH)] | None = None
    after: Position | None = Field(
        default=None,
        description="Deliver what comes after this feed position (default: the head now)",
    )


class SubscriptionPatch(BaseModel):
    """A merge patch: re-enable (or disable), rewind or skip, change types, URL, description."""

    model_config = _INPUT

    url: Url | None = None
    types: list[MessageType] | None = None
    description: Annotated[str, Field(max_length=MAX_DESCRIPTION_LENGTH)] | None = None
    status: Literal["active", "disabled"] | None = None
    position: Position | None = None


class SubscriptionOut(BaseModel):
    """A subscription as it is now (never its secret)."""

    model_config = _OUTPUT

    id: str
    url: str
    types: list[str]
    description: str | None
    status: Literal["active", "failing", "disabled"]
    position: int = Field(description="The last feed position delivered or skipped by type")
    lag: int = Field(description="Positions behind the feed's head")
    created_at: str
    last_error: str | None
    last_attempt_at: str | None


class SubscriptionCreated(SubscriptionOut):
    """The new subscription and its signing secret: shown this once only."""

    secret: str


class SubscriptionList(BaseModel):
    items: list[SubscriptionOut]


class SecretOut(BaseModel):
    """A new signing secret (the old one still signs for 24 hours)."""

    secret: str


class DeliveryAttemptOut(BaseModel):
    """One attempt at delivering one event."""

    model_config = _OUTPUT

    position: int
    message_id: str
    attempt: int
    status: int | None = Field(description="The receiver's HTTP status (null: none)")
    error: str | None = Field(description="Why it failed: a short excerpt only")
    duration_ms: float
    at: str


class DeliveryAttemptList(BaseModel):
    items: list[DeliveryAttemptOut]


def instant(seconds: float | None) -> str | None:
    """Seconds since the epoch as RFC 3339 (as every time of this API)."""
    if seconds is None:
        return None
    return format_timestamp(datetime.fromtimestamp(seconds, UTC))


def subscription_answer(subscription: Subscription, head: int) -> dict[str, Any]:
    """The JSON of a subscription; ``head`` is the feed's latest position."""
    return {
        "id": str(subscription.id),
        "url": subscription.url,
        "types": list(subscription.types),
        "description": subscription.description,
        "status": subscription.status.value,
        "position": subscription.position,
        "lag": max(0, head - subscription.position),
        "createdAt": instant(subscription.created_at),
        "lastError": subscription.last_error,
        "lastAttemptAt": instant(subscription.last_attempt_at),
    }


def attempt_answer(attempt: DeliveryAttempt) -> dict[str, Any]:
    """The JSON of one delivery attempt."""
    return {
        "position": attempt.position,
        "messageId": attempt.message_id,
        "attempt": attempt.attempt,
        "status": attempt.status_code,
        "error": attempt.error,
        "durationMs": attempt.duration_ms,
        "at": instant(attempt.at),
    }
