"""What a subscription is: where the feed goes, how far it got, and how it is doing."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

SECRET_PREFIX = "whsec_"
# How long deliveries carry a signature with the replaced secret too, after a rotation.
ROTATION_OVERLAP_SECONDS = 24 * 3600.0


class SubscriptionStatus(StrEnum):
    """``active`` delivers; ``failing`` retries on the schedule; ``disabled`` waits for a person."""

    ACTIVE = "active"
    FAILING = "failing"
    DISABLED = "disabled"


def new_secret() -> str:
    """A signing secret as Standard Webhooks writes them: ``whsec_`` and 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


@dataclass(frozen=True)
class Subscription:
    """One subscription as stored; ``revision`` moves on every change a person makes.

    ``position`` is the last feed position delivered (or skipped by type);
    ``failures`` counts the failed attempts at the event after it.
    """

    id: UUID
    url: str
    types: tuple[str, ...]  # empty: every type
    description: str | None
    status: SubscriptionStatus
    position: int
    created_at: float
    secret: str
    previous_secret: str | None
    previous_secret_until: float | None
    revision: int
    failures: int
    next_attempt_at: float | None
    last_error: str | None
    last_attempt_at: float | None
    lease_owner: str | None = None  # the process delivering it, while its lease runs
    lease_until: float | None = None

    def leased_to_another(self, owner: str, now: float) -> bool:
        """Whether another process holds the right to deliver it now."""
        return (
            self.lease_owner is not None
            and self.lease_owner != owner
            and (self.lease_until or 0.0) >= now
        )

    def wants(self, message_type: str) -> bool:
        """Whether an event of this (public) type is delivered, rather than skipped."""
        return not self.types or message_type in self.types

    def signing_secrets(self, now: float) -> list[str]:
        """The secrets a delivery is signed with now: the new one, and the old during rotation."""
        if self.previous_secret and (self.previous_secret_until or 0.0) > now:
            return [self.secret, self.previous_secret]
        return [self.secret]


@dataclass(frozen=True)
class SubscriptionChanges:
    """What a person changes (a merge patch): None leaves a field as it is."""

    url: str | None = None
    types: tuple[str, ...] | None = None
    description: str | None = None
    clear_description: bool = False
    status: SubscriptionStatus | None = None
    position: int | None = None


@dataclass(frozen=True)
class DeliveryAttempt:
    """One try at delivering one event: what the receiver answered, or why it failed."""

    subscription_id: UUID
    position: int
    message_id: str
    attempt: int
    status_code: int | None
    error: str | None
    duration_ms: float
    at: float

    @property
    def succeeded(self) -> bool:
        return self.error is None


class SubscriptionNotFound(LookupError):
    """No subscription has this id."""
