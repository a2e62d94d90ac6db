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
        # The actor is recorded on the event, not kept as state: the state is exactly
        # what the shipment's public document shows, so that document (the view row)
        # restores it (``projections.shipment_document.restore_shipment``).
        self.details = details
        self.status = Status.DRAFT

    def __deepcopy__(self, memo: dict[int, Any]) -> Shipment:
        """A copy that commands can change without touching the original, made cheaply.

        The library deep-copies the cached aggregate for every command it is loaded
        for, so that a command that fails half-way cannot corrupt the cache. A
        generic deep copy walks every value; ours need no walk: every attribute
        holds an immutable value (frozen ``ShipmentDetails``/``Address``, the
        ``Status`` enum, ``str``, ``datetime``, ``UUID``, ``int``) and commands
        only ever rebind attributes, never change a value in place. The one
        mutable attribute is the library's list of pending events (an instance
        attribute of ``BaseAggregate``, which keeps its state in ``__dict__``),
        so the copy gets its own list; the events in it are frozen facts. A new
        attribute holding a mutable value must be copied here too (a unit test
        checks that every attribute is hashable, i.e. immutable).
        """
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._pending_events = list(self._pending_events)
        memo[id(self)] = clone
        return clone

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
            previous: dict[str, Any] = {name: getattr(self.details, name) for name in changes}
            if new_status is not None:
                previous["status"] = self.status
            self._revise(changes, new_status, actor, request_id, previous)
        return True

    @event("StatusChanged")
    def _change_status(
        self, old_status: Status, new_status: Status, actor: str, request_id: str | None
    ) -> None:
        self.status = new_status

    class Revised(Aggregate.Event):
        """Some details changed (and perhaps the status, in the same request).

        Version 2 also records ``previous``: the values the changed fields (and
        ``status``, when it moved) had before, so one event read alone, as the
        change feed shows it, tells what it replaced. Version 1 events did not
        record it; they are upcast with ``previous = None`` (unknown without
        replaying the stream, which ``history`` does).
        """

        class_version = 2

        changes: dict[str, Any]
        new_status: Status | None
        actor: str
        request_id: str | None
        previous: dict[str, Any] | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["previous"] = None

    @event(Revised)
    def _revise(
        self,
        changes: dict[str, Any],
        new_status: Status | None,
        actor: str,
        request_id: str | None,
        previous: dict[str, Any] | None,
    ) -> None:
        self.details = self.details.with_changes(changes)
        if new_status is not None:
            self.status = new_status


__all__ = ["DETAIL_FIELDS", "Shipment"]
