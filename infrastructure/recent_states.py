"""The states this process's writes produced lately, by (shipment, version), for stale writes.

A stale write's answer needs the shipment as it was at the version its writer
read, and every version since with the event that made it (to tell what changed
since, and to merge). Those versions were, more often than not, written by this
very process moments ago; rebuilding them from the store costs a snapshot, up to
a snapshot interval of events and a worker thread. The committer keeps each state
it wrote here with its event, and a reader takes them while they are still kept;
otherwise it reads the stream as ever. Neither a state nor an event is ever
changed once kept (every decision works on its own copy), so readers share them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from copy import deepcopy
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.shipment import Shipment


@dataclass(frozen=True)
class Written:
    """A state a write committed, and the event it was appended with (at the state's version)."""

    state: Shipment
    event: Any
    document: bytes | None = None  # its public representation, as the view stored it


class RecentStates:
    """A bounded, thread-safe memory of written states, the oldest forgotten first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._states: OrderedDict[tuple[UUID, int], Written] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, written: Iterable[Written]) -> None:
        """Remember ``written`` (on a committer's thread, after their commit)."""
        with self._lock:
            for kept in written:
                self._states[(kept.state.id, kept.state.version)] = kept
            while len(self._states) > self._size:
                self._states.popitem(last=False)

    def forget_before(self, shipment_id: UUID, version: int) -> None:
        """Forget the states of ``shipment_id`` older than ``version`` (its personal data was
        erased there: what was kept from before must never be shown again)."""
        with self._lock:
            for key in [k for k in self._states if k[0] == shipment_id and k[1] < version]:
                del self._states[key]

    def kept(self, shipment_id: UUID, version: int) -> Shipment | None:
        """The kept state itself, not a copy: for readers that never change it.

        The committer decides on a copy of whatever this returns, so a state it
        wrote saves decoding the view row when that row is still at its version.
        """
        with self._lock:
            kept = self._states.get((shipment_id, version))
        return None if kept is None else kept.state

    def document(self, shipment_id: UUID, version: int) -> bytes | None:
        """The stored document of the state at ``version``, if this process wrote it lately."""
        with self._lock:
            kept = self._states.get((shipment_id, version))
        return None if kept is None else kept.document

    def at(self, shipment_id: UUID, version: int) -> Shipment | None:
        """A copy of the shipment at ``version``, if this process wrote it lately."""
        state = self.kept(shipment_id, version)
        return None if state is None else deepcopy(state)

    def between(self, shipment_id: UUID, first: int, last: int) -> list[Written] | None:
        """Versions ``first … last`` as written (shared, never to be changed), or None
        when one of them is not kept (another process wrote it, or it was forgotten)."""
        written: list[Written] = []
        with self._lock:
            for version in range(first, last + 1):
                kept = self._states.get((shipment_id, version))
                if kept is None:
                    return None
                written.append(kept)
        return written
