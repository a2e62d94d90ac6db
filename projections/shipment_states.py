"""The state of each shipment right after an event, computed by folding the event log.

A view row needs the whole state after an event, but an event carries only what
changed. Reading the event log in order, the state after event *n* is event *n*
applied to the state after *n - 1*: so the states of recently seen shipments are
kept in memory (a bounded LRU), and each event costs one ``mutate``. Only when a
shipment's previous state is not at hand (evicted, or the log was entered midway)
is it read from the store, at exactly that version (snapshot plus the rest).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast
from uuid import UUID

from domain.shipment import Shipment
from infrastructure.event_store import ShipmentStore

StateLoader = Callable[[UUID, int], Shipment]
"""Reads one shipment's state at one version from the store."""


def repository_loader(store: ShipmentStore) -> StateLoader:
    """Loads through the store's repository (a snapshot and the events after it)."""

    def load(shipment_id: UUID, version: int) -> Shipment:
        return cast(Shipment, store.repository.get(shipment_id, version=version))

    return load


class ShipmentStates:
    """Folds shipment events into states, remembering the most recently used ones."""

    def __init__(self, load: StateLoader, max_size: int) -> None:
        self._load = load
        self._max_size = max(1, max_size)
        self._states: OrderedDict[UUID, Shipment] = OrderedDict()
        self.store_reads = 0  # misses: how often the fold had to read a stream

    def after(self, event: Any) -> Shipment:
        """The state of the event's shipment once ``event`` is applied.

        The returned object stays in the cache and moves on with later events,
        so read what you need from it before folding the next one.
        """
        shipment_id: UUID = event.originator_id
        version: int = event.originator_version
        state = self._states.get(shipment_id)
        if state is not None and state.version == version - 1:
            event.mutate(state)
            self._states.move_to_end(shipment_id)
            return state
        if version == 1:  # the first event of a stream creates the shipment
            state = cast(Shipment, event.mutate(None))
        else:
            self.store_reads += 1
            state = self._load(shipment_id, version)
        self._remember(shipment_id, state)
        return state

    @contextmanager
    def loading_with(self, load: StateLoader) -> Iterator[None]:
        """Read missing states with ``load`` for a while (a swap reads inside its own lock)."""
        usual, self._load = self._load, load
        try:
            yield
        finally:
            self._load = usual

    def _remember(self, shipment_id: UUID, state: Shipment) -> None:
        self._states[shipment_id] = state
        self._states.move_to_end(shipment_id)
        while len(self._states) > self._max_size:
            self._states.popitem(last=False)
