"""Deciding a batch of writes, in order, on the state read in their transaction. No I/O.

Each write is decided on a private copy of its shipment's current state; an
accepted one becomes that shipment's state for the next write in the batch, so
writes to one shipment are settled one after the other exactly as if each had
its own transaction (a stale tag then fails on the first write's version; ``*``
is decided on the first write's result). A refusal touches nobody else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain.shipment import Shipment
from infrastructure.co_commit import InlineProjection, Statement
from infrastructure.errors import IdempotencyKeyReused
from infrastructure.idempotency import IdempotencyRecord
from infrastructure.recent_states import Written
from infrastructure.write_commands import WriteCommand, WriteOutcome

RecordOf = Callable[[Any, UUID, int], Statement]
"""The ledger's statement recording a claim with the version its write produced."""


@dataclass
class DecidedBatch:
    """What a batch's transaction must write, and what to answer once it commits."""

    outcomes: list[WriteOutcome] = field(default_factory=list)  # one per command, in order
    statements: list[Statement] = field(default_factory=list)  # co-committed rows
    events: list[Any] = field(default_factory=list)  # the new domain events, in order
    accepted: list[Written] = field(default_factory=list)  # every state written, in order


def decide_batch(
    commands: Sequence[WriteCommand],
    states: dict[UUID, Shipment | None],
    records: dict[tuple[str, str], IdempotencyRecord],
    projections: Sequence[InlineProjection],
    record_of: RecordOf,
) -> DecidedBatch:
    """Decide ``commands`` in order on ``states`` (current state per shipment read).

    ``records`` holds the live Idempotency-Key records of the batch's keys; a key
    recorded by an earlier write of this batch counts as recorded too.
    """
    decided = DecidedBatch()
    records = dict(records)
    for command in commands:
        claim = command.claim
        if claim is not None and claim.ledger_key in records:
            record = records[claim.ledger_key]
            if record.fingerprint != claim.fingerprint:
                decided.outcomes.append(WriteOutcome(error=IdempotencyKeyReused(claim.key)))
            else:
                decided.outcomes.append(WriteOutcome(replay=record))
            continue
        current = states.get(command.shipment_id) if command.shipment_id is not None else None
        try:
            shipment = command.decide(deepcopy(current))
        except Exception as refusal:  # noqa: BLE001 - a refusal is this write's answer alone
            decided.outcomes.append(WriteOutcome(error=refusal))
            continue
        if not shipment.pending_events:
            decided.outcomes.append(WriteOutcome(shipment=shipment))
            continue
        # Rows describe the pending events, so they are made before the events are taken.
        statements = [s for projection in projections for s in projection.statements_for(shipment)]
        decided.statements.extend(statements)
        document = next((s.document for s in statements if s.document is not None), None)
        if claim is not None:
            decided.statements.append(record_of(claim, shipment.id, shipment.version))
            records[claim.ledger_key] = IdempotencyRecord(
                claim.fingerprint, shipment.id, shipment.version, claim.status_code
            )
        events = shipment.collect_events()
        decided.events.extend(events)
        states[shipment.id] = shipment
        decided.accepted.append(Written(shipment, events[-1], document))  # the event at its version
        decided.outcomes.append(
            WriteOutcome(shipment=shipment, appended=True, document=document, event=events[-1])
        )
    return decided
