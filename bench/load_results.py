"""What one load run asks for and what it measured, and the median of several runs."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cpu_cost import CpuCost
from bench.workloads import EXPECT_2XX_OR_412, EXPECT_412, Workload


@dataclass(frozen=True)
class LoadSpec:
    """One closed-loop load of ``workload`` against one or more servers of one system.

    With several base URLs the connections and threads are split evenly over them,
    one generator process per URL, all started together.
    """

    workload: Workload
    base_urls: tuple[str, ...]
    ids_file: Path
    duration_s: int
    seed: int  # generator thread i seeds its random numbers with seed + i
    headers: Mapping[str, str] = field(default_factory=dict)
    # patch-stale: the If-Match value of each shipment of ids_file, line by line
    tags_file: Path | None = None


@dataclass(frozen=True)
class LoadResult:
    """What one load run measured (over all its generator processes)."""

    generator: str
    requests: int
    duration_s: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    status_2xx: int
    status_412: int
    status_5xx: int
    status_other: int  # any other non-2xx answer (3xx, 4xx but 412)
    socket_errors: int  # connect/read/write errors and time-outs
    # Read-modify-write loads only (zero otherwise):
    successes: int = 0  # PATCHes answered 200
    conflicts: int = 0  # PATCHes answered 412
    unknown_outcomes: int = 0  # PATCHes maybe applied: answered 5xx, or the answer was lost
    in_flight_at_end: int = 0  # PATCHes sent and not yet answered when the generator stopped
    parse_failures: int = 0  # GET answers without a readable counter or ETag
    updates_per_s: float = 0.0
    update_p50_ms: float = 0.0  # first GET of an update to its 200, retries included
    update_p99_ms: float = 0.0
    # Per "<index>.<group>" of the contended shipments (bench/contention.py); the
    # unknown ones include those in flight at the end (each may have been applied):
    successes_by_key: Mapping[str, int] = field(default_factory=dict)
    unknown_by_key: Mapping[str, int] = field(default_factory=dict)
    # Filled in after the run from the shipments' counters (None: not a RMW load):
    lost_updates: int | None = None
    unexplained_increments: int | None = None
    # Filled in after the run from /proc (bench/cpu_cost.py):
    cpu: CpuCost | None = None

    @property
    def conflicts_per_success(self) -> float:
        return self.conflicts / self.successes if self.successes else 0.0

    def unexpected_412(self, expected: str) -> int:
        """412s where none is normal: on GET and If-Match: * (they must never be 412)."""
        return 0 if expected in (EXPECT_2XX_OR_412, EXPECT_412) else self.status_412

    def unexpected_2xx(self, expected: str) -> int:
        """2xx where every answer should be 412: a stale tag that was accepted."""
        return self.status_2xx if expected == EXPECT_412 else 0

    def errors(self, expected: str) -> int:
        """Answers other than the workload's ``expected`` ones (EXPECT_*), and socket errors."""
        return (
            self.status_5xx
            + self.status_other
            + self.unexpected_412(expected)
            + self.unexpected_2xx(expected)
            + self.socket_errors
        )


@dataclass(frozen=True)
class MedianResult:
    """The median of each figure over repeated runs; error and lost-update counts summed."""

    runs: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    updates_per_s: float
    conflicts_per_success: float
    update_p50_ms: float
    update_p99_ms: float
    errors: int
    status_5xx: int
    unexpected_412: int
    socket_errors: int
    unknown_outcomes: int
    parse_failures: int
    lost_updates: int | None
    unexplained_increments: int | None
    unexpected_2xx: int = 0
    # Medians of the runs' CPU figures (None: no run measured them, or no request completed)
    server_us_per_request: float | None = None
    postgres_us_per_request: float | None = None
    idle_percent: float | None = None

    def throughput(self, read_modify_write: bool) -> float:
        """Successful updates/s for read-modify-write loads, requests/s for the others."""
        return self.updates_per_s if read_modify_write else self.requests_per_s


def median_of(results: Sequence[LoadResult], expected: str) -> MedianResult:
    """Median figures over ``results``; counts of errors and lost updates are summed.

    ``expected`` is the workload's normal answer (EXPECT_*): the others are errors.
    """
    if not results:
        raise ValueError("no results to take the median of")

    def median(name: str) -> float:
        return float(statistics.median(getattr(r, name) for r in results))

    def cpu_median(name: str) -> float | None:
        values = [getattr(r.cpu, name) for r in results if r.cpu is not None]
        present = [value for value in values if value is not None]
        return float(statistics.median(present)) if present else None

    lost = [r.lost_updates for r in results if r.lost_updates is not None]
    unexplained = [
        r.unexplained_increments for r in results if r.unexplained_increments is not None
    ]
    return MedianResult(
        runs=len(results),
        requests_per_s=median("requests_per_s"),
        p50_ms=median("p50_ms"),
        p99_ms=median("p99_ms"),
        updates_per_s=median("updates_per_s"),
        conflicts_per_success=float(statistics.median(r.conflicts_per_success for r in results)),
        update_p50_ms=median("update_p50_ms"),
        update_p99_ms=median("update_p99_ms"),
        errors=sum(r.errors(expected) for r in results),
        status_5xx=sum(r.status_5xx for r in results),
        unexpected_412=sum(r.unexpected_412(expected) for r in results),
        socket_errors=sum(r.socket_errors for r in results),
        unknown_outcomes=sum(r.unknown_outcomes for r in results),
        parse_failures=sum(r.parse_failures for r in results),
        lost_updates=sum(lost) if lost else None,
        unexplained_increments=sum(unexplained) if unexplained else None,
        unexpected_2xx=sum(r.unexpected_2xx(expected) for r in results),
        server_us_per_request=cpu_median("server_us_per_request"),
        postgres_us_per_request=cpu_median("postgres_us_per_request"),
        idle_percent=cpu_median("idle_percent"),
    )


MeasurementKey = tuple[str, str, str, str]  # store, system, shape, workload


@dataclass(frozen=True)
class Measurement:
    """One recorded run: which store, system, deployment shape and workload, and its result."""

    store: str
    system: str  # "service" or "baseline"
    shape: str  # "1w", "2w", "2servers"
    workload: Workload
    repetition: int
    seed: int
    result: LoadResult
    load_average_1m: float  # the machine's load just before the run: a noise indicator
    generator_output: str
    accounting: Mapping[str, Any] | None = None  # RMW: counters before/after, per shipment

    @property
    def key(self) -> MeasurementKey:
        return (self.store, self.system, self.shape, self.workload.name)


def medians(measurements: Sequence[Measurement]) -> dict[MeasurementKey, MedianResult]:
    """The median result per (store, system, shape, workload)."""
    grouped: dict[MeasurementKey, list[Measurement]] = {}
    for measurement in measurements:
        grouped.setdefault(measurement.key, []).append(measurement)
    return {
        key: median_of([m.result for m in group], group[0].workload.expected)
        for key, group in grouped.items()
    }
