"""The shipment view's projection: events in, view rows and a tracking position out.

It is the library's ``Projection`` (``process_event(event, tracking)``), with one
difference that throughput needs: ``process_event`` stages the event, and
``commit`` writes the rows of all staged events together with the tracking
position of the last one, in one transaction. A crash therefore loses a whole
batch or nothing, and the runner resumes after the last committed position: no
event is lost, and none is applied twice.

Rows already at (or past) an event's version are left alone: the write path
updates the row inside the append itself, so for most events there is nothing
to write but the position.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.shipment import Shipment
from projections.shipment_states import ShipmentStates
from projections.shipment_view import ShipmentView, ViewRow

LagObserver = Callable[[float], None]


@dataclass(frozen=True)
class PreparedBatch:
    """The rows for a batch of events and the position of its last event."""

    rows: list[ViewRow]
    tracking: Tracking
    events: list[Any]


class ShipmentViewProjection(Projection[ShipmentView]):
    """Brings one shipment view up to date with the event log, a batch per transaction."""

    name = "shipment_view"

    def __init__(
        self,
        view: ShipmentView,
        states: ShipmentStates,
        *,
        skip_applied: bool = True,
        observe_lag: LagObserver | None = None,
    ) -> None:
        super().__init__(view)
        self._states = states
        # A rebuild writes into an empty table and may skip the version check.
        self._skip_applied = skip_applied
        self._observe_lag = observe_lag
        self._staged: list[Any] = []
        self._position: int | None = None

    @property
    def staged(self) -> int:
        """How many events wait for ``commit``."""
        return len(self._staged)

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Stage one event; it is recorded, with its position, by the next ``commit``."""
        self._staged.append(domain_event)
        self._position = tracking.notification_id

    def commit(self, cursor: Any = None) -> int:
        """Write the staged events' rows and position atomically; returns how many events.

        With ``cursor`` the writes join the caller's transaction (a rebuild's swap).
        """
        batch = self.prepare()
        if batch is None:
            return 0
        self.write(batch, cursor)
        return len(batch.events)

    def prepare(self) -> PreparedBatch | None:
        """The rows and position of the staged events, ready to write (None: nothing staged).

        Split from ``write`` so that a rebuild can compute one batch while the
        previous one is being written.
        """
        if not self._staged:
            return None
        events, self._staged = self._staged, []
        assert self._position is not None
        tracking = Tracking(self.view.tracking_name, self._position)
        return PreparedBatch(self._rows_for(events), tracking, events)

    def write(self, batch: PreparedBatch, cursor: Any = None) -> None:
        """Write a prepared batch: its rows and its position, in one transaction."""
        if cursor is None:
            self.view.upsert(batch.rows, batch.tracking)
        else:
            self.view.write(cursor, batch.rows, batch.tracking)
        if self._observe_lag is not None and batch.events:
            # The batch's first event, the one that waited longest; reading a timestamp
            # may mean decoding the event (``RecordedEvent``), so one per batch.
            oldest = batch.events[0]
            self._observe_lag((datetime.now(UTC) - oldest.timestamp).total_seconds())

    def discard(self) -> None:
        """Forget the staged events (their transaction failed; they will be read again)."""
        self._staged = []

    def _rows_for(self, events: list[Any]) -> list[ViewRow]:
        """One row per shipment: its state after the last of its events in the batch."""
        applied: dict[UUID, int] = {}
        if self._skip_applied:
            applied = self.view.versions({event.originator_id for event in events})
        latest: dict[UUID, Shipment] = {}
        for event in events:
            if applied.get(event.originator_id, 0) >= event.originator_version:
                continue
            latest[event.originator_id] = self._states.after(event)
        return [ViewRow.of(state) for state in latest.values()]
