"""Drive a load with ``wrk`` and read back the figures its Lua ``done()`` prints.

A load against two servers runs two wrk processes started together, each with
half the connections and threads and its own range of thread ids (so every
generator thread has its own random seed); their counts are added and their
latency distributions merged from the quantiles each prints.
"""

from __future__ import annotations

import bisect
import json
import shutil
import subprocess
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.load_results import LoadResult, LoadSpec

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk" / "shipments.lua"
RESULT_PREFIX = "BENCH_JSON "
INSTALL_HINT = "install it with: sudo bash bench/setup.sh (apt-get install -y wrk)"


class WrkFailed(RuntimeError):
    """wrk exited badly or printed no figures."""


def wrk_path() -> str | None:
    """Where ``wrk`` is installed, or None."""
    return shutil.which("wrk")


def split(total: int, parts: int) -> list[int]:
    """``total`` spread as evenly as possible over ``parts`` (each at least 1)."""
    return [max(1, total * (i + 1) // parts - total * i // parts) for i in range(parts)]


def wrk_commands(spec: LoadSpec, wrk: str = "wrk", run_tag: str | None = None) -> list[list[str]]:
    """One wrk command line per base URL (threads never exceed connections)."""
    workload = spec.workload
    servers = len(spec.base_urls)
    connections = split(workload.connections, servers)
    threads = [
        min(t, c) for t, c in zip(split(workload.threads, servers), connections, strict=True)
    ]
    # Every run writes values no earlier run wrote: a PATCH that repeats a previous
    # run's body on the same shipment would be a no-op, not a write.
    run_tag = run_tag or uuid.uuid4().hex[:8]
    commands = []
    offset = 0
    for base_url, process_connections, process_threads in zip(
        spec.base_urls, connections, threads, strict=True
    ):
        arguments = [
            f"mode={workload.mode}",
            f"ids={spec.ids_file}",
            f"seed={spec.seed}",
            f"offset={offset}",
            f"partitions={sum(threads)}",
            f"auth={spec.headers.get('Authorization', '')}",
            f"tag={run_tag}",
            f"merge={int(workload.merge)}",
            f"quantiles={int(servers > 1)}",
            *([f"tags={spec.tags_file}"] if spec.tags_file is not None else []),
        ]
        commands.append(
            [
                wrk,
                "--latency",
                "--threads",
                str(process_threads),
                "--connections",
                str(process_connections),
                "--duration",
                f"{spec.duration_s}s",
                "--timeout",
                "10s",
                "--script",
                str(WRK_SCRIPT),
                base_url,
                "--",
                *arguments,
            ]
        )
        offset += process_threads
    return commands


def run_wrk(spec: LoadSpec) -> tuple[LoadResult, str]:
    """Run one load; returns the figures and wrk's own report(s) (kept in the raw results)."""
    wrk = wrk_path()
    if wrk is None:
        raise WrkFailed(f"wrk is not installed; {INSTALL_HINT}")
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for command in wrk_commands(spec, wrk)
    ]
    outputs, figures = [], []
    for process in processes:
        try:
            stdout, stderr = process.communicate(timeout=spec.duration_s + 120)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        outputs.append(stdout + stderr)
        lines = [line for line in stdout.splitlines() if line.startswith(RESULT_PREFIX)]
        if process.returncode != 0 or not lines:
            raise WrkFailed(f"wrk exited with {process.returncode}:\n{stdout}{stderr}")
        figures.append(json.loads(lines[-1][len(RESULT_PREFIX) :]))
    return combine(figures, spec.workload.read_modify_write), "\n".join(outputs)


def combine(figures: Sequence[Mapping[str, Any]], read_modify_write: bool) -> LoadResult:
    """One result from the figures of one or more wrk processes that ran together."""
    requests = sum(int(f["requests"]) for f in figures)
    durations = [f["duration_us"] / 1e6 for f in figures]
    # The processes ran side by side: their rates add up.
    requests_per_s = sum(f["requests"] / d for f, d in zip(figures, durations, strict=True) if d)
    if len(figures) == 1:
        p50_ms, p99_ms = figures[0]["p50_us"] / 1000, figures[0]["p99_us"] / 1000
    else:
        distributions = [(int(f["requests"]), f["latency_quantiles_us"]) for f in figures]
        p50_ms = merged_quantile(distributions, 50) / 1000
        p99_ms = merged_quantile(distributions, 99) / 1000
    statuses = _summed(f["statuses"] for f in figures)
    successes_by_key = _summed(f["successes"] for f in figures)
    successes = sum(successes_by_key.values())
    update_ms = {int(k) / 10: v for k, v in _summed(f["update_ms_tenths"] for f in figures).items()}
    mean_duration = sum(durations) / len(durations)
    return LoadResult(
        generator="wrk",
        requests=requests,
        duration_s=mean_duration,
        requests_per_s=requests_per_s,
        p50_ms=p50_ms,
        p99_ms=p99_ms,
        status_2xx=statuses.get("ok", 0),
        status_412=statuses.get("s412", 0),
        status_5xx=statuses.get("s5xx", 0),
        status_other=statuses.get("other", 0),
        socket_errors=sum(
            int(f[name])
            for f in figures
            for name in ("connect_errors", "read_errors", "write_errors", "timeouts")
        ),
        successes=successes,
        conflicts=sum(int(f["conflicts"]) for f in figures),
        unknown_outcomes=sum(int(v) for f in figures for v in f["unknown"].values())
        - sum(int(f["in_flight_at_end"]) for f in figures),
        in_flight_at_end=sum(int(f["in_flight_at_end"]) for f in figures),
        parse_failures=sum(int(f["parse_failures"]) for f in figures),
        updates_per_s=(
            sum(
                sum(f["successes"].values()) / d
                for f, d in zip(figures, durations, strict=True)
                if d
            )
            if read_modify_write
            else 0.0
        ),
        update_p50_ms=histogram_quantile(update_ms, 50),
        update_p99_ms=histogram_quantile(update_ms, 99),
        successes_by_key=successes_by_key,
        unknown_by_key=_summed(f["unknown"] for f in figures),
    )


def merged_quantile(
    distributions: Sequence[tuple[int, Sequence[Sequence[float]]]], q: float
) -> float:
    """The q-th percentile of several runs' latencies, each given as [percent, value] pairs.

    Each run's distribution function is read off its quantiles (the share of its
    requests at or below x is the largest percent whose value is <= x); the merged
    one weighs them by request count. Returns the smallest listed value at which
    the merged share reaches q.
    """
    total = sum(count for count, _ in distributions)
    if not total:
        return 0.0
    prepared = []
    for count, pairs in distributions:
        # In percent order, values made non-decreasing (wrk answers 0 for a percentile
        # it cannot rank, e.g. 100), so the share never falls as x grows.
        values, shares, highest = [], [], 0.0
        for percent, value in sorted((float(p), float(v)) for p, v in pairs):
            highest = max(highest, value)
            values.append(highest)
            shares.append(percent)
        prepared.append((count, values, shares))
    candidates = sorted({v for _, values, _ in prepared for v in values})
    for x in candidates:
        share = 0.0
        for count, values, shares in prepared:
            position = bisect.bisect_right(values, x)
            share += count * (shares[position - 1] if position else 0.0)
        if share / total >= q:
            return x
    return candidates[-1] if candidates else 0.0


def histogram_quantile(histogram: Mapping[float, int], q: float) -> float:
    """The q-th percentile of a {value: count} histogram (wrk's rule: first value reaching it)."""
    total = sum(histogram.values())
    if not total:
        return 0.0
    rank = q / 100 * total
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return max(histogram)


def _summed(tables: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for table in tables:
        for key, value in table.items():
            total[key] = total.get(key, 0) + int(value)
    return total
