"""What a delivery reports as it goes: each attempt's outcome, duration and lag.

The deliverer knows nothing of Prometheus; the app hands it an observer
(``api.plumbing.request_metrics``), as the projection runners get theirs. An
operator then sees deliveries per second, failures by destination kind, and how
long after its commit an event reached its receiver, without reading a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class AttemptObserved:
    """One attempt to send one message to one destination."""

    scheme: str  # "http", "https" or "nats"
    delivered: bool
    seconds: float  # the attempt, from sending to the answer
    lag_seconds: float | None  # from the event's recording to the answer, when delivered


class DeliveryObserver(Protocol):
    def __call__(self, attempt: AttemptObserved) -> None: ...


def ignore_attempt(attempt: AttemptObserved) -> None:
    """The observer of a deliverer nobody watches (the command line, tests)."""
