"""The Shipment aggregate: an append-only stream of facts about one shipment."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from eventsourcing.domain import Aggregate, event

from domain.details import DETAIL_FIELDS, ShipmentDetails
from domain.errors import IllegalTransition, ShipmentClosed
from domain.merging import Edit, MergeConflict
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

        Every write is decided on a private copy of the current state
        (``infrastructure.batch_decisions``), so that a decision that fails
        half-way leaves the state it was given, and the states kept for later
        writes, untouched. A generic deep copy walks every value; ours need no walk: every attribute
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
        based_on: int | None = None,
    ) -> bool:
        """Make the shipment match ``details`` (and ``status`` when given).

        Returns whether an event was recorded: a request that changes nothing
        records nothing, so it does not move the version. ``based_on`` is the
        older version a merged write was based on (None: the current one).
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
            self._change_status(self.status, new_status, actor, request_id, based_on)
        else:
            previous: dict[str, Any] = {name: getattr(self.details, name) for name in changes}
            if new_status is not None:
                previous["status"] = self.status
            self._revise(changes, new_status, actor, request_id, previous, based_on)
        return True

    def merge(
        self,
        edit: Edit,
        changed_since: Collection[str],
        based_on: int,
        actor: str,
        request_id: str | None,
    ) -> bool:
        """Apply a write based on the older version ``based_on`` to the current state.

        ``changed_since`` names the fields changed after ``based_on``. Raises
        ``MergeConflict`` when the write changes one of them; otherwise only the
        write's own fields are applied, and every rule of ``revise`` runs on the
        current state (a shipment closed meanwhile refuses the merge).
        """
        conflicting = edit.conflicts(changed_since)
        if conflicting:
            raise MergeConflict(conflicting)
        if not edit.values:
            return False
        details, status = edit.onto(self.details)
        return self.revise(details, status, actor, request_id, based_on)

    class StatusChanged(Aggregate.Event):
        """Only the status moved.

        Version 2 also records ``based_on``: the older version a merged write was
        based on (None for a write made on the current version, and for events
        recorded before version 2, which are upcast with None).
        """

        class_version = 2

        old_status: Status
        new_status: Status
        actor: str
        request_id: str | None
        based_on: int | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["based_on"] = None

    @event(StatusChanged)
    def _change_status(
        self,
        old_status: Status,
        new_status: Status,
        actor: str,
        request_id: str | None,
        based_on: int | None,
    ) -> None:
        self.status = new_status

    class Revised(Aggregate.Event):
        """Some details changed (and perhaps the status, in the same request).

        Version 2 also records ``previous``: the values the changed fields (and
        ``status``, when it moved) had before, so one event read alone, as the
        change feed shows it, tells what it replaced. Version 1 events did not
        record it; they are upcast with ``previous = None`` (unknown without
        replaying the stream, which ``history`` does). Version 3 also records
        ``based_on``, as ``StatusChanged`` does; older events are upcast with None.
        """

        class_version = 3

        changes: dict[str, Any]
        new_status: Status | None
        actor: str
        request_id: str | None
        previous: dict[str, Any] | None
        based_on: int | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["previous"] = None

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["based_on"] = None

    @event(Revised)
    def _revise(
        self,
        changes: dict[str, Any],
        new_status: Status | None,
        actor: str,
        request_id: str | None,
        previous: dict[str, Any] | None,
        based_on: int | None,
    ) -> None:
        self.details = self.details.with_changes(changes)
        if new_status is not None:
            self.status = new_status


__all__ = ["DETAIL_FIELDS", "MergeConflict", "Shipment"]
