"""The global change feed: every shipment event in commit order, from the notification log.

Positions are the library's notification ids. On SQLite they commit in order
(one writer at a time); on PostgreSQL appends overlap and may commit out of
position order, and the recorder's read of the log stops short of any position
still in flight (``infrastructure.log_horizon``). A reader that pages with
``after`` therefore never skips an event committed later, and never sees one
twice. Ids of rolled-back appends (a lost race) are never used, so positions
may jump.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from infrastructure.errors import store_errors
from infrastructure.event_store import ShipmentStore


@dataclass(frozen=True)
class FeedEntry:
    """One event and its position in the global log."""

    position: int
    event: Any  # A Shipment domain event (upcast when it was recorded in an old form).
    # Renderings of this entry, made once and reused by every reader that holds it (a
    # thousand open streams sending one event render it once): see ``api.http.event_stream``.
    renderings: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class FeedPage:
    """Entries after a position, and whether more were already committed."""

    entries: list[FeedEntry]
    has_more: bool


class ChangeFeed:
    """Reads the store's notification log as domain events."""

    def __init__(self, store: ShipmentStore) -> None:
        self._store = store

    def read(self, after: int, limit: int) -> FeedPage:
        """Up to ``limit`` entries with positions greater than ``after``, oldest first."""
        with store_errors():
            notifications = self._store.recorder.select_notifications(
                start=after, limit=limit + 1, inclusive_of_start=False
            )
        page = notifications[:limit]
        events = self._store.mapper.to_domain_events(page)  # one key lookup for the page
        entries = [FeedEntry(n.id, event) for n, event in zip(page, events, strict=True)]
        return FeedPage(entries, has_more=len(notifications) > limit)
