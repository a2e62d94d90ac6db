"""Rows that must commit in the same transaction as the events they describe.

The group committer (``infrastructure.group_commit``) writes the shipment view
row, the as-of index rows and the idempotency record in the transaction that
appends the events (``infrastructure.append_sessions``): either all of them
are durable or none is, so an acknowledged write is always visible and a
crashed one leaves nothing half-applied. Here: what such a row is
(``Statement``), who makes them (``InlineProjection``), and the one the writes
are decided on (``WriteModel``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from psycopg.sql import SQL, Composed

from domain.shipment import Shipment

CurrentRow = tuple[int, bytes]
"""A shipment's version and its stored document, as the write model keeps them."""


@dataclass(frozen=True)
class Statement:
    """One SQL statement in the dialect of the recorder that will run it."""

    sql: str | SQL | Composed
    params: Mapping[str, Any] | Sequence[Any] = ()
    # The shipment's public document, when this statement stores it (the view row):
    # the write's answer sends these very bytes, so the state is rendered once.
    document: bytes | None = None


class InlineProjection(Protocol):
    """A read model kept current inside the write transaction itself."""

    def statements_for(self, shipment: Shipment) -> Sequence[Statement]:
        """The statements that bring the read model up to ``shipment``'s version."""
        ...


class WriteModel(InlineProjection, Protocol):
    """The inline projection a write is decided on: a snapshot of the shipment at every version.

    Its row commits with every event, so reading it inside the append transaction
    (the row locked until commit) gives the state and the version to append at,
    in one query, whatever the stream's length.
    """

    def read_current(self, cursor: Any, shipment_ids: Sequence[UUID]) -> dict[UUID, CurrentRow]:
        """The rows of these shipments, locked until the caller's transaction ends."""
        ...

    def restore(self, row: CurrentRow) -> Shipment:
        """The aggregate a row describes, at the row's version."""
        ...


def runs_of_same_sql(
    statements: Sequence[Statement],
) -> list[tuple[Any, list[Sequence[Any] | Mapping[str, Any]]]]:
    """Consecutive statements with the same SQL object, as (sql, [params, …]) in order."""
    runs: list[tuple[Any, list[Sequence[Any] | Mapping[str, Any]]]] = []
    for statement in statements:
        if runs and runs[-1][0] is statement.sql:
            runs[-1][1].append(statement.params)
        else:
            runs.append((statement.sql, [statement.params]))
    return runs
