"""What the delivery benchmark's receivers saw, judged: lag percentiles and completeness.

Pure functions over the receiver's records ``(path, position, arrived, recorded)``
(times in seconds since the epoch), so what "every event reached every
subscription as required" means is written down once and tested.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class LagFigures:
    """One lag phase judged: lag percentiles (ms) and what its summary line says."""

    p50: float
    p99: float
    worst: float
    nats_p99: float
    webhooks_p99: float
    complete: bool
    summary: str


def judge(taken: Mapping[str, Any], paths: Sequence[str], positions: Sequence[int]) -> LagFigures:
    """What the receiver's ``take`` answer says about ``paths`` against the feed's positions."""
    arrivals: list[Arrival] = [
        (str(path), int(position), float(arrived), float(recorded))
        for path, position, arrived, recorded in taken["arrivals"]
    ]
    lags = first_lags_ms(arrivals)
    nats_lags = first_lags_ms(a for a in arrivals if a[0].endswith("/nats"))
    webhook_lags = first_lags_ms(a for a in arrivals if not a[0].endswith("/nats"))
    judged = completeness(arrivals, paths, positions)
    summary = (
        "every event reached every subscription in order"
        if judged.complete
        else f"INCOMPLETE: {judged.missing} missing, {judged.out_of_order} paths out of order"
    ) + (
        f"; {judged.duplicates} duplicates; "
        f"signatures verified {taken['verified']}/{taken['sampled']} sampled"
    )
    return LagFigures(
        percentile(lags, 0.5),
        percentile(lags, 0.99),
        max(lags, default=float("nan")),
        percentile(nats_lags, 0.99),
        percentile(webhook_lags, 0.99),
        judged.complete,
        summary,
    )
