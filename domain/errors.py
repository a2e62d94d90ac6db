"""Exceptions the domain raises when a command breaks a business rule."""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """Base of every rule violation, so callers can map them in one place."""


@dataclass(frozen=True)
class FieldProblem:
    """One invalid field: where it is (camel-free domain name) and why."""

    field: str
    message: str


class InvalidShipment(DomainError):
    """The requested shipment data breaks a validation rule."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


class IllegalTransition(DomainError):
    """The status machine does not allow this move."""

    def __init__(self, current: str, requested: str) -> None:
        self.current = current
        self.requested = requested
        super().__init__(f"a {current} shipment cannot move to {requested}")


class ShipmentClosed(DomainError):
    """The shipment is in a final status; nothing about it may change any more."""

    def __init__(self, status: str) -> None:
        self.status = status
        super().__init__(f"the shipment is {status}, a final status; it can no longer change")
