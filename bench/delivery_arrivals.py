"""What the delivery benchmark's receivers saw, judged: lag percentiles and completeness.

Pure functions over the receiver's records ``(path, position, arrived, recorded)``
(times in seconds since the epoch), so what "every event reached every
subscription as required" means is written down once and tested.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Arrival = tuple[str, int, float, float]


@dataclass(frozen=True)
class Completeness:
    """Per path: the first arrival of each position, against the feed's positions."""

    paths: int
    complete_paths: int  # every feed position, first arrivals in feed order
    missing: int  # (path, position) pairs never received
    out_of_order: int  # paths whose first arrivals were not in feed order
    duplicates: int  # arrivals beyond the first (allowed: at least once)

    @property
    def complete(self) -> bool:
        return self.paths > 0 and self.complete_paths == self.paths


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile (nearest rank); NaN when there are no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def first_lags_ms(arrivals: Iterable[Arrival]) -> list[float]:
    """The lag of the first arrival of each (path, position), in milliseconds."""
    seen: set[tuple[str, int]] = set()
    lags = []
    for path, position, arrived, recorded in arrivals:
        if (path, position) in seen:
            continue
        seen.add((path, position))
        lags.append((arrived - recorded) * 1000)
    return lags


def completeness(
    arrivals: Iterable[Arrival], paths: Sequence[str], positions: Sequence[int]
) -> Completeness:
    """Whether each path got every position, its first arrivals in feed order."""
    firsts: dict[str, list[int]] = {path: [] for path in paths}
    seen: set[tuple[str, int]] = set()
    duplicates = 0
    for path, position, _, _ in arrivals:
        if (path, position) in seen:
            duplicates += 1
            continue
        seen.add((path, position))
        firsts.setdefault(path, []).append(position)
    expected = list(positions)
    wanted = set(expected)
    complete = missing = out_of_order = 0
    for path in paths:
        got = firsts[path]
        missing += len(wanted - set(got))
        in_order = got == sorted(got)
        out_of_order += not in_order
        complete += in_order and got == expected
    return Completeness(len(paths), complete, missing, out_of_order, duplicates)
