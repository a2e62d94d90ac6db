"""When to ask the store whether a cached shipment is still the last state, learned as we go.

Writes are decided on this process's cached state (see ``ShipmentWrites``). Whether
another process wrote since can be asked of the view (an indexed read), but that
read costs about an eighth of a write here (measured in ``bench/README.md``), and
it is wasted where nobody else writes the same shipments. An append on a stale
state is never wrong — the store rejects it and the write is decided again — but
it costs a transaction and, in a group-committed batch, a retry of its
neighbours. So: trust the cache until an append loses a race; then ask before
every write, until ``calm_checks`` answers in a row found nothing stale.
"""

from __future__ import annotations


class StaleCacheGuard:
    """Decides whether to check a cached state before deciding on it (one per process)."""

    def __init__(self, calm_checks: int = 1000) -> None:
        self._calm_checks = calm_checks
        self._checking = False
        self._calm = 0

    @property
    def should_check(self) -> bool:
        """Whether other writers were seen lately (so a cached state may well be stale)."""
        return self._checking

    def lost_race(self) -> None:
        """An append on a cached state was rejected: another process writes these shipments."""
        self._checking = True
        self._calm = 0

    def checked(self, current: bool) -> None:
        """Record what a check found; enough current answers in a row end the checking."""
        if not current:
            self._calm = 0
            return
        self._calm += 1
        if self._calm >= self._calm_checks:
            self._checking = False
            self._calm = 0
