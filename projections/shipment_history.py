"""A shipment's history: each event with the representation before and after it.

``changes`` is the difference between the public representation rendered just
before and just after the event (``shipment_document``, the same rendering every
answer uses), so it is exact by construction and speaks the API's field names,
whatever the event recorded and in whichever version of its class.
"""

from __future__ import annotations

from collections.abc import Iterable
from copy import deepcopy
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.shipment import Shipment
from infrastructure.stream_reader import StreamPages, StreamReader
from projections.event_payloads import event_type
from projections.shipment_document import format_timestamp, shipment_document

# Server-owned fields that every event moves (or none does): not changes a user made.
_BOOKKEEPING_FIELDS = frozenset({"id", "eTag", "version", "createdAt", "updatedAt"})

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True)
class Step:
    """One event of a stream and the shipment's representation around it."""

    event: Any
    before: dict[str, Any] | None  # None before the creating event.
    after: dict[str, Any]

    @property
    def version(self) -> int:
        return int(self.event.originator_version)

    def changes(self) -> dict[str, dict[str, Any]]:
        """``{field: {"from": …, "to": …}}`` for each public field the event set.

        The creating event shows every field it set (non-null) as from null.
        """
        before = self.before or {}
        return {
            name: {"from": before.get(name), "to": value}
            for name, value in self.after.items()
            if name not in _BOOKKEEPING_FIELDS and before.get(name) != value
        }

    def history_item(self) -> dict[str, Any]:
        """One item of ``/history``."""
        return {
            "version": self.version,
            "type": event_type(self.event),
            "recordedAt": format_timestamp(self.event.timestamp),
            "actor": getattr(self.event, "actor", None),
            "requestId": getattr(self.event, "request_id", None),
            "changes": self.changes(),
            "basedOn": self.based_on,
        }

    @property
    def based_on(self) -> int | None:
        """The older version a merged write was based on (None unless merged)."""
        based_on = getattr(self.event, "based_on", None)
        return None if based_on is None else int(based_on)


@dataclass(frozen=True)
class StepsPage:
    """A page of steps; ``next_after`` is None when the stream ends with it."""

    steps: list[Step]
    next_after: int | None
    start: Shipment | None = None  # the state the page starts from (None: from creation)
    end: Shipment | None = None  # the state after its last step (the start's when it has none)


def read_steps(
    reader: StreamPages,
    shipment_id: UUID,
    after: int,
    limit: int,
    start: Shipment | None = None,
) -> StepsPage:
    """Steps for versions ``after + 1 …`` (at most ``limit``), replayed from the stream.

    ``start``: the state at ``after`` when the caller has it (else it is read).
    """
    page = reader.page(shipment_id, after, limit, start)
    shipment = page.start
    first = deepcopy(shipment)  # the library's ``mutate`` changes the aggregate in place
    before = None if shipment is None else shipment_document(shipment)
    steps: list[Step] = []
    for event in page.events:
        shipment = event.mutate(shipment)
        document = shipment_document(shipment)
        steps.append(Step(event, before, document))
        before = document
    next_after = steps[-1].version if page.has_more and steps else None
    return StepsPage(steps, next_after, first, shipment)


def steps_of_documents(
    start: dict[str, Any] | None, written: Iterable[tuple[Any, dict[str, Any]]]
) -> list[Step]:
    """Steps from states already folded and rendered: each event with the document of the
    state it produced, in order; ``start`` is the one before the first (None: creation).

    A stale write's 412 makes its ``changesSince`` this way from the states this
    process wrote lately, without reading the stream; ``Step`` does the rest, as
    for ``/history``.
    """
    before = start
    steps: list[Step] = []
    for event, document in written:
        steps.append(Step(event, before, document))
        before = document
    return steps


def history_page(reader: StreamReader, shipment_id: UUID, after: int, limit: int) -> dict[str, Any]:
    """The body of ``GET /v1/shipments/{id}/history``."""
    page = read_steps(reader, shipment_id, after, limit)
    return {
        "items": [step.history_item() for step in page.steps],
        "nextAfter": page.next_after,
    }


def every_step(reader: StreamReader, shipment_id: UUID, up_to: int | None = None) -> list[Step]:
    """All steps of a stream from creation (or up to version ``up_to``), page by page."""
    steps: list[Step] = []
    after: int | None = 0
    while after is not None and (up_to is None or after < up_to):
        limit = MAX_PAGE_SIZE if up_to is None else min(MAX_PAGE_SIZE, up_to - after)
        page = read_steps(reader, shipment_id, after, limit)
        steps.extend(page.steps)
        after = page.next_after
    return steps
