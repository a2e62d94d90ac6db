"""The write use case's store in plain memory: the fake of ``application.ports.ShipmentStreams``.

It decides writes exactly as the real store does — the same pure
``infrastructure.batch_decisions.decide_batch``, one write per batch, on a
private copy of the current state — and remembers what it wrote in the same
``RecentStates`` and ``NewestVersions``. Only where states live differs: a dict
instead of SQL rows, a list of events instead of a table. So a use-case test
runs in a millisecond, and ``tests/application/test_write_use_case.py`` runs the
same tests against SQLite and PostgreSQL to keep the fake honest.

``remembers``: how many written states it keeps for stale writes (0 makes every
412 and merge read "the stream", as a second server would).
"""

from __future__ import annotations

import threading
from copy import deepcopy
from typing import Any
from uuid import UUID

from domain.shipment import Shipment
from infrastructure.batch_decisions import decide_batch
from infrastructure.co_commit import Statement
from infrastructure.errors import ShipmentNotFound
from infrastructure.idempotency import IdempotencyClaim, IdempotencyRecord
from infrastructure.newest_versions import NewestVersions
from infrastructure.recent_states import RecentStates, Written
from infrastructure.stream_reader import StreamPage
from infrastructure.write_commands import Notify, WriteCommand


class InMemoryShipments:
    """Streams of shipment events in memory, written one decision at a time."""

    def __init__(self, remembers: int = 1_000) -> None:
        self.events: dict[UUID, list[Any]] = {}
        self._states: dict[UUID, list[Shipment]] = {}  # every version, oldest first
        self._records: dict[tuple[str, str], IdempotencyRecord] = {}
        self.recent = RecentStates(remembers)
        self.newest = NewestVersions(10_000)
        self._lock = threading.Lock()  # one writer at a time, as a row lock would

    def submit(self, command: WriteCommand, notify: Notify) -> None:
        with self._lock:
            shipment_id = command.shipment_id
            states = {} if shipment_id is None else {shipment_id: self._current(shipment_id)}
            claim = command.claim
            records = {}
            if claim is not None and claim.ledger_key in self._records:
                records[claim.ledger_key] = self._records[claim.ledger_key]
            decided = decide_batch([command], states, records, [], self._record)
            for kept in decided.accepted:
                state = kept.state
                self._states.setdefault(state.id, []).append(deepcopy(state))
                self.events.setdefault(state.id, []).append(kept.event)
                if claim is not None:
                    self._records[claim.ledger_key] = IdempotencyRecord(
                        claim.fingerprint, state.id, state.version, claim.status_code
                    )
            self.recent.keep(decided.accepted)
            self.newest.note((kept.state.id, kept.state.version) for kept in decided.accepted)
        notify(decided.outcomes[0])

    def newest_seen_version(self, shipment_id: UUID) -> int | None:
        return self.newest.newest(shipment_id)

    def kept_state(self, shipment_id: UUID, version: int) -> Shipment | None:
        return self.recent.kept(shipment_id, version)

    def recent_state(self, shipment_id: UUID, version: int) -> Shipment | None:
        return self.recent.at(shipment_id, version)

    def kept_document(self, shipment_id: UUID, version: int) -> bytes | None:
        return self.recent.document(shipment_id, version)

    def recent_writes(self, shipment_id: UUID, first: int, last: int) -> list[Written] | None:
        return self.recent.between(shipment_id, first, last)

    def page(
        self, shipment_id: UUID, after: int, limit: int, start: Shipment | None = None
    ) -> StreamPage:
        with self._lock:
            states = self._states.get(shipment_id)
            events = self.events.get(shipment_id, [])
            if not states:
                raise ShipmentNotFound(shipment_id)
            if start is None and after > 0:
                start = deepcopy(states[after - 1])
            later = events[after : after + limit + 1]
        return StreamPage(start, later[:limit], has_more=len(later) > limit)

    def load_version_and_base(self, shipment_id: UUID, version: int) -> tuple[Shipment, int | None]:
        with self._lock:
            states = self._states.get(shipment_id, [])
            if not 1 <= version <= len(states):
                raise ShipmentNotFound(shipment_id, version)
            event = self.events[shipment_id][version - 1]
            return deepcopy(states[version - 1]), getattr(event, "based_on", None)

    def _current(self, shipment_id: UUID) -> Shipment | None:
        states = self._states.get(shipment_id)
        return None if not states else self.recent.kept(shipment_id, len(states)) or states[-1]

    @staticmethod
    def _record(claim: Any, shipment_id: UUID, version: int) -> Statement:
        """The ledger's row for a claim; in memory it is kept by ``submit`` instead."""
        assert isinstance(claim, IdempotencyClaim)
        return Statement("", (claim.key, shipment_id, version))
