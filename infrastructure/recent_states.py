"""The states this process's writes produced lately, by (shipment, version), for stale writes.

A stale write's answer needs the shipment as it was at the version its writer
read (to tell what changed since, and to merge). That version was, more often
than not, written by this very process moments ago; rebuilding it from the
store costs a snapshot and up to a snapshot interval of events. The committer
keeps the states it wrote here, and a reader takes a copy of one when it is
still kept; otherwise it reads the stream as ever. The states are never changed
once kept (every decision works on its own copy), so a copy is exact.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from copy import deepcopy
from uuid import UUID

from domain.shipment import Shipment


class RecentStates:
    """A bounded, thread-safe memory of written states, the oldest forgotten first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._states: OrderedDict[tuple[UUID, int], Shipment] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, states: Iterable[Shipment]) -> None:
        """Remember ``states`` (on the committer's thread, after their commit)."""
        with self._lock:
            for state in states:
                self._states[(state.id, state.version)] = state
            while len(self._states) > self._size:
                self._states.popitem(last=False)

    def kept(self, shipment_id: UUID, version: int) -> Shipment | None:
        """The kept state itself, not a copy: for readers that never change it.

        The committer decides on a copy of whatever this returns, so a state it
        wrote saves decoding the view row when that row is still at its version.
        """
        with self._lock:
            return self._states.get((shipment_id, version))

    def at(self, shipment_id: UUID, version: int) -> Shipment | None:
        """A copy of the shipment at ``version``, if this process wrote it lately."""
        with self._lock:
            state = self._states.get((shipment_id, version))
        return None if state is None else deepcopy(state)
