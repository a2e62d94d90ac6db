"""How far a view is behind the event log, in events and in seconds.

Read from the store itself (the view's tracked position and the head of the
log), so every process reports the same figure whichever one runs the view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from infrastructure.event_store import ShipmentStore
from projections.shipment_view import ShipmentView


@dataclass(frozen=True)
class ProjectionStatus:
    """A view's position, the store's head, and the lag between them.

    ``lag_events`` counts positions; on PostgreSQL a rolled-back append leaves
    a gap in positions, so it may overstate the number of events (never
    understate it). ``lag_seconds`` is the age of the oldest event the view has
    not processed (0 when caught up).
    """

    view: str
    position: int
    head: int
    lag_events: int
    lag_seconds: float

    @property
    def caught_up(self) -> bool:
        return self.lag_events == 0


def projection_status(store: ShipmentStore, view: ShipmentView) -> ProjectionStatus:
    """The status of ``view`` right now."""
    position = view.max_tracking_id(view.tracking_name) or 0
    head = store.recorder.max_notification_id() or 0
    lag_seconds = 0.0
    if head > position:
        oldest = store.recorder.select_notifications(
            start=position, limit=1, inclusive_of_start=False
        )
        if oldest:
            event: Any = store.mapper.to_domain_event(oldest[0])
            recorded: datetime = event.timestamp
            lag_seconds = max(0.0, (datetime.now(UTC) - recorded).total_seconds())
    return ProjectionStatus(
        view=view.tracking_name,
        position=position,
        head=head,
        lag_events=max(0, head - position),
        lag_seconds=lag_seconds,
    )
