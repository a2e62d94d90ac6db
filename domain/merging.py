"""Merging a stale write onto the current state: what its writer changed, where nobody else did.

A client that read version v and writes with that version's tag asks for the
fields it changed relative to v (its ``Edit``). When none of them changed since
v, applying just those fields to the current state loses nobody's update; every
domain rule then runs on the current state as for any write.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from domain.details import DETAIL_FIELDS, ShipmentDetails
from domain.errors import DomainError
from domain.values import Status


class State(Protocol):
    """What merging reads of a shipment's state (``domain.shipment`` imports this module)."""

    @property
    def details(self) -> ShipmentDetails: ...

    @property
    def status(self) -> Status: ...


STATUS = "status"
MERGEABLE_FIELDS: tuple[str, ...] = (*DETAIL_FIELDS, STATUS)
"""Every field a write can change, each counted whole (an address is one field)."""


def fields_changed(before: State, after: State) -> frozenset[str]:
    """The fields whose value differs between two states (what history shows as changed)."""
    changed = {
        name
        for name in DETAIL_FIELDS
        if getattr(before.details, name) != getattr(after.details, name)
    }
    if before.status != after.status:
        changed.add(STATUS)
    return frozenset(changed)


class MergeConflict(DomainError):
    """Fields the write changes were changed by someone else since the version it was based on."""

    def __init__(self, fields: Iterable[str]) -> None:
        self.fields = tuple(sorted(fields))
        super().__init__("changed since the write's version: " + ", ".join(self.fields))


@dataclass(frozen=True)
class Edit:
    """What a write changes relative to the version it was based on: field → requested value.

    Keys are ``MERGEABLE_FIELDS`` names; a field the write leaves as it was is not in it.
    """

    values: Mapping[str, Any]

    @classmethod
    def between(
        cls,
        base: ShipmentDetails,
        base_status: Status,
        requested: Mapping[str, Any],
        requested_status: Status | None,
    ) -> Edit:
        """The fields whose requested value differs from the base's (status None: kept)."""
        values = {
            name: requested[name]
            for name in DETAIL_FIELDS
            if name in requested and requested[name] != getattr(base, name)
        }
        if requested_status is not None and requested_status != base_status:
            values[STATUS] = requested_status
        return cls(values)

    @property
    def fields(self) -> frozenset[str]:
        """The names of the fields the write changes."""
        return frozenset(self.values)

    def conflicts(self, changed_since: Collection[str]) -> frozenset[str]:
        """The fields both this write and someone else since its base version changed."""
        return self.fields & frozenset(changed_since)

    def onto(self, current: ShipmentDetails) -> tuple[ShipmentDetails, Status | None]:
        """The current details with this write's fields applied, validated as a whole.

        Raises ``InvalidShipment`` when the result breaks a rule (say, a delivery date
        now before a pickup date someone else moved).
        """
        values = {name: getattr(current, name) for name in DETAIL_FIELDS}
        values.update((k, v) for k, v in self.values.items() if k != STATUS)
        status = self.values.get(STATUS)
        return ShipmentDetails(**values), status
