"""What people do to subscriptions, whichever door they come through (HTTP or CLI).

Each URL is checked here (``destinations``) before it is stored, and a new
subscription starts at the feed's settled head unless told otherwise: only what
happens from now on, and nothing in flight at this moment slipped under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from infrastructure.delivery.clock import Clock, SystemClock
from infrastructure.delivery.destinations import checked_destination
from infrastructure.delivery.subscription_store import SubscriptionStore
from infrastructure.delivery.subscriptions import (
    Subscription,
    SubscriptionChanges,
)
from infrastructure.errors import store_errors
from infrastructure.event_store import ShipmentStore


class SubscriptionAdministration:
    """Adds, changes, rotates and removes subscriptions."""

    def __init__(
        self,
        subscriptions: SubscriptionStore,
        store: ShipmentStore,
        *,
        allow_private: bool,
        clock: Clock | None = None,
    ) -> None:
        self.subscriptions = subscriptions
        self._store = store
        self._allow_private = allow_private
        self._clock = clock or SystemClock()

    def head(self) -> int:
        """The feed's latest position (0 when empty): what ``lag`` is measured against."""
        with store_errors():
            return int(self._store.recorder.max_notification_id() or 0)

    def add(
        self,
        url: str,
        types: Sequence[str] | None = None,
        description: str | None = None,
        after: int | None = None,
    ) -> Subscription:
        """A new subscription (``RefusedDestination`` for a URL it may not send to)."""
        checked_destination(url, allow_private=self._allow_private)
        if after is None:
            with store_errors():
                after = self._store.shipment_recorder.settled_head()
        return self.subscriptions.add(url, types or (), description, after, self._clock.now())

    def change(self, subscription_id: UUID, changes: SubscriptionChanges) -> Subscription:
        """Apply a person's changes (the URL checked first)."""
        if changes.url is not None:
            checked_destination(changes.url, allow_private=self._allow_private)
        return self.subscriptions.change(subscription_id, changes)

    def rotate_secret(self, subscription_id: UUID) -> str:
        return self.subscriptions.rotate_secret(subscription_id, self._clock.now())

    def remove(self, subscription_id: UUID) -> bool:
        return self.subscriptions.remove(subscription_id)
