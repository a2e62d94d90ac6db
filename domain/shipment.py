"""The Shipment aggregate: an append-only stream of facts about one shipment."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate, event

from domain.details import DETAIL_FIELDS, ShipmentDetails
from domain.errors import IllegalTransition, ShipmentClosed
from domain.values import Status


class Shipment(Aggregate):
    """A shipment whose every accepted change is exactly one event.

    Each event carries who caused it (``actor``) and the request that carried it
    (``request_id``), so the stream is its own audit trail.
    """

    @event("Created")
    def __init__(self, details: ShipmentDetails, actor: str, request_id: str | None) -> None:
        self.details = details
        self.status = Status.DRAFT
        self.created_by = actor

    def revise(
        self,
        details: ShipmentDetails,
        status: Status | None,
        actor: str,
        request_id: str | None,
    ) -> bool:
        """Make the shipment match ``details`` (and ``status`` when given).

        Returns whether an event was recorded: a request that changes nothing
        records nothing, so it does not move the version.
        """
        changes = self.details.differences(details)
        new_status = status if status is not None and status != self.status else None
        if not changes and new_status is None:
            return False
        if self.status.is_final:
            raise ShipmentClosed(self.status.value)
        if new_status is not None and not self.status.can_move_to(new_status):
            raise IllegalTransition(self.status.value, new_status.value)
        if not changes:
            assert new_status is not None
            self._change_status(self.status, new_status, actor, request_id)
        else:
            self._revise(changes, new_status, actor, request_id)
        return True

    @event("StatusChanged")
    def _change_status(
        self, old_status: Status, new_status: Status, actor: str, request_id: str | None
    ) -> None:
        self.status = new_status

    @event("Revised")
    def _revise(
        self,
        changes: dict[str, Any],
        new_status: Status | None,
        actor: str,
        request_id: str | None,
    ) -> None:
        self.details = self.details.with_changes(changes)
        if new_status is not None:
            self.status = new_status


__all__ = ["DETAIL_FIELDS", "Shipment"]
