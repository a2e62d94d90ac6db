"""The one application service: intent-named commands and reads over the event store.

It translates the library's exceptions into ours (``VersionConflict``,
``ShipmentNotFound``, ``StoreUnavailable``), so no caller ever catches a library error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from domain.details import ShipmentDetails
from domain.shipment import Shipment
from domain.values import Status
from infrastructure.co_commit import CO_COMMIT_KWARG, InlineProjection, Statement
from infrastructure.errors import (
    IdempotencyKeyReused,
    ShipmentNotFound,
    VersionConflict,
)
from infrastructure.errors import store_errors as _store_errors
from infrastructure.event_store import MAX_POSITION, ShipmentStore
from infrastructure.group_commit import GroupCommitter
from infrastructure.idempotency import IdempotencyClaim, IdempotencyLedger, IdempotencyRecord


@dataclass(frozen=True)
class WriteContext:
    """Who asks for a write, under which request id, with which idempotency key."""

    actor: str
    request_id: str | None
    idempotency: IdempotencyClaim | None = None


class AlreadyApplied(Exception):
    """A concurrent request with the same Idempotency-Key won; answer with its result."""

    def __init__(self, record: IdempotencyRecord) -> None:
        self.record = record
        super().__init__(f"already applied as version {record.version}")


class ShipmentService:
    """Creates, revises and reads shipments; the store decides every race."""

    def __init__(
        self,
        store: ShipmentStore,
        ledger: IdempotencyLedger,
        inline_projections: Sequence[InlineProjection] = (),
        committer: GroupCommitter | None = None,
    ) -> None:
        self.store = store
        self.ledger = ledger
        self._inline_projections = tuple(inline_projections)
        self._committer = committer

    def create(self, details: ShipmentDetails, context: WriteContext) -> Shipment:
        """Start a new stream with one ``Created`` event."""
        shipment = Shipment(details, context.actor, context.request_id)
        self._append(shipment, context)
        return shipment

    def load(self, shipment_id: UUID) -> Shipment:
        """The current state, from the stream (snapshot + cache keep it cheap)."""
        with _store_errors():
            try:
                shipment: Shipment = self.store.repository.get(shipment_id)
            except AggregateNotFoundError:
                raise ShipmentNotFound(shipment_id) from None
        return shipment

    def load_version(self, shipment_id: UUID, version: int) -> Shipment:
        """The state as it was right after ``version`` was appended."""
        if not 1 <= version <= MAX_POSITION:
            raise ShipmentNotFound(shipment_id, version)
        with _store_errors():
            try:
                shipment: Shipment = self.store.repository.get(shipment_id, version=version)
            except AggregateNotFoundError:
                raise ShipmentNotFound(shipment_id, version) from None
        if shipment.version != version:
            raise ShipmentNotFound(shipment_id, version)
        return shipment

    def revise(
        self,
        shipment: Shipment,
        details: ShipmentDetails,
        status: Status | None,
        context: WriteContext,
    ) -> bool:
        """Append at most one event at ``shipment.version + 1``; False if nothing changed.

        Raises ``VersionConflict`` when another writer took that position first.
        """
        if not shipment.revise(details, status, context.actor, context.request_id):
            return False
        self._append(shipment, context)
        return True

    def current_version(self, shipment_id: UUID) -> int:
        """The stream's last position, read from the store itself."""
        with _store_errors():
            events = list(self.store.events.get(shipment_id, desc=True, limit=1))
        if not events:
            raise ShipmentNotFound(shipment_id)
        return events[0].originator_version

    def recall(self, principal: str, key: str) -> IdempotencyRecord | None:
        """What an earlier write with this Idempotency-Key produced, if any."""
        with _store_errors():
            return self.ledger.recall(principal, key)

    def _append(self, shipment: Shipment, context: WriteContext) -> None:
        projection_statements: list[Statement] = [
            statement
            for projection in self._inline_projections
            for statement in projection.statements_for(shipment)
        ]
        ledger_statements: list[Statement] = []
        if context.idempotency is not None:
            ledger_statements.append(
                self.ledger.record(context.idempotency, shipment.id, shipment.version)
            )
        with _store_errors():
            try:
                if self._committer is not None:
                    self._committer.append(shipment, projection_statements, ledger_statements)
                else:
                    statements = projection_statements + ledger_statements
                    self.store.save(shipment, **{CO_COMMIT_KWARG: statements})
            except IntegrityError:
                self._explain_lost_race(shipment, context)
                raise

    def _explain_lost_race(self, shipment: Shipment, context: WriteContext) -> None:
        """Turn a rejected append into the reason a client can act on."""
        if context.idempotency is not None:
            record = self.ledger.recall(context.idempotency.principal, context.idempotency.key)
            if record is not None:
                if record.fingerprint != context.idempotency.fingerprint:
                    raise IdempotencyKeyReused(context.idempotency.key)
                raise AlreadyApplied(record)
        raise VersionConflict(shipment.id, self.current_version(shipment.id))
