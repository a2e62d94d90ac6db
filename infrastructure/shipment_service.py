"""The one application service: intent-named commands and reads over the event store.

It translates the library's exceptions into ours (``VersionConflict``,
``ShipmentNotFound``, ``StoreUnavailable``), so no caller ever catches a library error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from copy import deepcopy
from dataclasses import dataclass
from typing import cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, project_aggregate
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
from infrastructure.stale_cache import StaleCacheGuard


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
        # Whether the write path checks a cached state first (used by the event loop only).
        self.stale_cache_guard = StaleCacheGuard()

    def create(self, details: ShipmentDetails, context: WriteContext) -> Shipment:
        """Start a new stream with one ``Created`` event.

        Once appended, the returned object is the one this process caches: read it,
        never change it (a command needs a copy from ``load`` or ``load_cached``).
        """
        shipment = Shipment(details, context.actor, context.request_id)
        self._append(shipment, context)
        return shipment

    def load(self, shipment_id: UUID) -> Shipment:
        """The current state, read from the store.

        A cached copy is brought up to date with the events after it (the
        library's fast-forward: one query, only the new events decoded); without
        one the state is rebuilt from the last snapshot and the events after it.
        Either way this process's cache is refreshed, so that the next
        ``load_cached`` starts from what the store holds now.
        """
        with _store_errors():
            shipment = self.load_cached(shipment_id)
            if shipment is not None:
                newer = self.store.repository.event_store.get(shipment_id, gt=shipment.version)
                shipment = cast(Shipment, project_aggregate(shipment, newer))
            else:
                try:
                    # With a version the repository reads the store and bypasses its
                    # cache. (Evicting and then getting would leave a gap in which
                    # another thread's save could re-cache an older state.)
                    shipment = self.store.repository.get(shipment_id, version=MAX_POSITION)
                except AggregateNotFoundError:
                    raise ShipmentNotFound(shipment_id) from None
        cache = self.store.repository.cache
        if cache is not None:
            # The caller's commands change what we return; the cache keeps its own copy.
            cache.put(shipment_id, deepcopy(shipment))
        return shipment

    def load_cached(self, shipment_id: UUID) -> Shipment | None:
        """This process's cached state of the shipment, with no I/O; None when it has none.

        The library's repository caches each aggregate this process saved or
        loaded (without fast-forwarding, see ``event_store.library_env``), so
        the state may lag writes made by other processes. Decide on it only
        where the store checks the version, an append at ``version + 1``; decide
        anything else again on ``load``. This is the library's own cache hit
        (``Repository.get``), taken apart only to tell a hit from a miss.
        """
        cache = self.store.repository.cache
        if cache is None:
            return None
        try:
            cached = cast(Shipment, cache.get(shipment_id))
        except KeyError:
            return None
        # Commands change what they are given; a copy keeps the cache as saved.
        return deepcopy(cached)

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
        ``shipment`` must be a copy from ``load`` or ``load_cached`` used for this one
        command: once appended, the library caches that very object as the state.
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

    @property
    def submits_without_waiting(self) -> bool:
        """Whether ``submit_revision`` is available (it needs the group committer)."""
        return self._committer is not None

    def submit_revision(
        self,
        shipment: Shipment,
        details: ShipmentDetails,
        status: Status | None,
        context: WriteContext,
        notify: Callable[[BaseException | None], None],
    ) -> bool:
        """As ``revise``, but queue the append and return at once: False if nothing changed.

        For an event loop, which must not block on the store. ``notify`` gets None
        once the append is durable, else the library's ``IntegrityError`` (the
        position is taken) or the store's error; it runs on the committer's thread.
        Unlike ``revise`` nothing here explains a lost race (that needs store reads).
        """
        if self._committer is None:
            raise RuntimeError("submitting needs group commit (SHIPMENTS_GROUP_COMMIT)")
        if not shipment.revise(details, status, context.actor, context.request_id):
            return False
        self._committer.enqueue(shipment, *self._statements(shipment, context), notify)
        return True

    def close(self) -> None:
        """Commit what is queued and stop the committer's thread."""
        if self._committer is not None:
            self._committer.close()

    def _statements(
        self, shipment: Shipment, context: WriteContext
    ) -> tuple[list[Statement], list[Statement]]:
        """What commits with the append: the inline projections' rows, the ledger's record."""
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
        return projection_statements, ledger_statements

    def _append(self, shipment: Shipment, context: WriteContext) -> None:
        projection_statements, ledger_statements = self._statements(shipment, context)
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
