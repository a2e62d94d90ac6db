"""Writes that must commit in the same transaction as the events they describe.

The library's recorders already pass keyword arguments from ``Application.save``
down to ``_insert_events`` inside the append transaction (that is how its own
process recorders store tracking records). We use the same hook to commit the
shipment view row and the idempotency record atomically with the event: either
all of them are durable or none is, so an acknowledged write is always visible
and a crashed one leaves nothing half-applied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from psycopg.sql import SQL, Composed

from domain.shipment import Shipment

CO_COMMIT_KWARG = "co_commit"


@dataclass(frozen=True)
class Statement:
    """One SQL statement in the dialect of the recorder that will run it."""

    sql: str | SQL | Composed
    params: Mapping[str, Any] | Sequence[Any] = ()


class InlineProjection(Protocol):
    """A read model kept current inside the write transaction itself."""

    def statements_for(self, shipment: Shipment) -> Sequence[Statement]:
        """The statements that bring the read model up to ``shipment``'s version."""
        ...
