"""The one application service: intent-named commands and reads over the event store.

It translates the library's exceptions into ours (``VersionConflict``,
``ShipmentNotFound``, ``StoreUnavailable``), so no caller ever catches a library error.
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.details import ShipmentDetails
from domain.shipment import Shipment
from domain.values import Status
from infrastructure.errors import ShipmentNotFound, VersionConflict
from infrastructure.errors import store_errors as _store_errors
from infrastructure.event_store import MAX_POSITION, ShipmentStore
from infrastructure.group_commit import GroupCommitter
from infrastructure.idempotency import IdempotencyClaim, IdempotencyLedger
from infrastructure.recent_states import Written
from infrastructure.stream_reader import StreamPage, StreamReader
from infrastructure.write_commands import Notify, WriteCommand, WriteOutcome


@dataclass(frozen=True)
class WriteContext:
    """Who asks for a write, under which request id, with which idempotency key."""

    actor: str
    request_id: str | None
    idempotency: IdempotencyClaim | None = None


class ShipmentService:
    """Creates, revises and reads shipments; every write goes through the group committer."""

    def __init__(
        self, store: ShipmentStore, ledger: IdempotencyLedger, committer: GroupCommitter
    ) -> None:
        self.store = store
        self.ledger = ledger
        self._committer = committer

    def submit(self, command: WriteCommand, notify: Notify) -> None:
        """Queue a write; ``notify`` gets its outcome on the committer's thread (see ``Notify``)."""
        self._committer.enqueue(command, notify)

    def execute(self, command: WriteCommand) -> WriteOutcome:
        """Queue a write and wait for its outcome (for threads: tools, tests)."""
        return self._committer.execute(command)

    def create(self, details: ShipmentDetails, context: WriteContext) -> Shipment:
        """Start a new stream with one ``Created`` event (a convenience for tools and tests)."""

        def decide(_: Shipment | None) -> Shipment:
            return Shipment(details, context.actor, context.request_id)

        outcome = self.execute(WriteCommand(None, decide, context.idempotency))
        return _written(outcome)

    def revise(
        self,
        shipment: Shipment,
        details: ShipmentDetails,
        status: Status | None,
        context: WriteContext,
    ) -> bool:
        """Append at most one event after ``shipment.version``; False if nothing changed.

        A convenience for tools and tests, on the same write path as the API: raises
        ``VersionConflict`` when the shipment has moved on since ``shipment``, and
        leaves ``shipment`` at the new state, as the library's own save would.
        """

        def decide(current: Shipment | None) -> Shipment:
            if current is None:
                raise ShipmentNotFound(shipment.id)
            if current.version != shipment.version:
                raise VersionConflict(shipment.id, current.version)
            current.revise(details, status, context.actor, context.request_id)
            return current

        outcome = self.execute(WriteCommand(shipment.id, decide, context.idempotency))
        vars(shipment).update(vars(deepcopy(_written(outcome))))
        return outcome.appended

    def load(self, shipment_id: UUID) -> Shipment:
        """The current state, replayed from the stream (the last snapshot, then the events)."""
        return self.load_version(shipment_id, MAX_POSITION, exact=False)

    def load_version(self, shipment_id: UUID, version: int, *, exact: bool = True) -> Shipment:
        """The state as it was right after ``version`` was appended (or the last before it)."""
        if not 1 <= version <= MAX_POSITION:
            raise ShipmentNotFound(shipment_id, version)
        with _store_errors():
            try:
                shipment: Shipment = self.store.repository.get(shipment_id, version=version)
            except AggregateNotFoundError:
                raise ShipmentNotFound(shipment_id, version) from None
        if exact and shipment.version != version:
            raise ShipmentNotFound(shipment_id, version)
        return shipment

    def recent_state(self, shipment_id: UUID, version: int) -> Shipment | None:
        """The state at ``version`` if this process wrote it lately (a copy), else None."""
        return self._committer.recent.at(shipment_id, version)

    def newest_seen_version(self, shipment_id: UUID) -> int | None:
        """The newest version of the shipment this process has seen committed (None: unseen)."""
        return self._committer.newest.newest(shipment_id)

    def kept_state(self, shipment_id: UUID, version: int) -> Shipment | None:
        """The state at ``version`` if this process wrote it lately, else None: shared,
        for readers that never change it (no copy)."""
        return self._committer.recent.kept(shipment_id, version)

    def kept_document(self, shipment_id: UUID, version: int) -> bytes | None:
        """The stored document of the state at ``version`` if this process wrote it lately."""
        return self._committer.recent.document(shipment_id, version)

    def page(
        self, shipment_id: UUID, after: int, limit: int, start: Shipment | None = None
    ) -> StreamPage:
        """Up to ``limit`` events of the stream after ``after`` (``StreamReader.page``)."""
        return StreamReader(self.store).page(shipment_id, after, limit, start)

    def recent_writes(self, shipment_id: UUID, first: int, last: int) -> list[Written] | None:
        """Versions ``first … last`` with their events if this process wrote them all
        lately (shared, never to be changed), else None."""
        return self._committer.recent.between(shipment_id, first, last)

    def load_version_and_base(self, shipment_id: UUID, version: int) -> tuple[Shipment, int | None]:
        """The state at ``version``, and the older version the write that made it was
        merged from (None unless it was a merge: see ``Shipment.merge``)."""
        shipment = self.load_version(shipment_id, version)
        with _store_errors():
            events = list(self.store.events.get(shipment_id, gt=version - 1, lte=version))
        based_on = getattr(events[0], "based_on", None) if events else None
        return shipment, based_on

    def current_version(self, shipment_id: UUID) -> int:
        """The stream's last position, read from the store itself."""
        with _store_errors():
            events = list(self.store.events.get(shipment_id, desc=True, limit=1))
        if not events:
            raise ShipmentNotFound(shipment_id)
        return events[0].originator_version

    def close(self) -> None:
        """Commit what is queued and stop the committer's thread."""
        self._committer.close()


def _written(outcome: WriteOutcome) -> Shipment:
    """The written shipment, or the write's refusal raised."""
    if outcome.error is not None:
        raise outcome.error
    if outcome.shipment is None:
        raise RuntimeError("a replayed write has no shipment; read its version")
    return outcome.shipment
