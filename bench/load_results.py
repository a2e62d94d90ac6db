"""What one load run asks for and what it measured, and the median of several runs."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class LoadSpec:
    """One closed-loop load: ``connections`` clients sending ``method`` for ``duration_s``."""

    method: str  # "GET" or "PATCH" (with If-Match: *)
    base_url: str
    ids_file: Path
    duration_s: int
    connections: int
    threads: int
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadResult:
    """Throughput and latency of one load run, as the generator measured them."""

    generator: str
    requests: int
    duration_s: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int  # answers that were neither 2xx nor 3xx (e.g. 412 on a lost race)
    socket_errors: int  # connect/read/write errors and time-outs


@dataclass(frozen=True)
class MedianResult:
    """The median of each figure over repeated runs (figures taken separately)."""

    runs: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int


def median_of(results: Sequence[LoadResult]) -> MedianResult:
    """Median throughput, p50 and p99 over ``results``; error counts are summed."""
    if not results:
        raise ValueError("no results to take the median of")
    return MedianResult(
        runs=len(results),
        requests_per_s=statistics.median(r.requests_per_s for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        non_2xx=sum(r.non_2xx for r in results),
        socket_errors=sum(r.socket_errors for r in results),
    )


@dataclass(frozen=True)
class Measurement:
    """One recorded run: which store, which system, which load, and what it measured."""

    store: str
    system: str  # "service" or "baseline"
    method: str
    connections: int
    threads: int
    repetition: int
    result: LoadResult
    load_average_1m: float  # the machine's load just before the run: a noise indicator
    generator_output: str

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.store, self.system, self.method, self.connections)


def medians(measurements: Sequence[Measurement]) -> dict[tuple[str, str, str, int], MedianResult]:
    """The median result per (store, system, method, connections)."""
    grouped: dict[tuple[str, str, str, int], list[LoadResult]] = {}
    for measurement in measurements:
        grouped.setdefault(measurement.key, []).append(measurement.result)
    return {key: median_of(results) for key, results in grouped.items()}
