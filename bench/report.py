"""The benchmark's outputs: markdown tables for people, a JSON file for the record.

Figures and ratios only — nothing here judges them; a benchmark that asserts
on timing on a shared 2-core machine would only be a flaky test.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.appends import AppendsResult, appends_table
from bench.load_results import Measurement, MedianResult, medians

REPO = Path(__file__).resolve().parents[1]


def comparison_table(measurements: Sequence[Measurement], connections: int) -> str:
    """Service against baseline for GET and PATCH at ``connections``, per store."""
    table = medians(measurements)
    lines = [
        "| store | load | service req/s | p50 | p99 | baseline req/s | p50 | p99 "
        "| req/s ratio | p99 ratio |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    stores = list(dict.fromkeys(m.store for m in measurements))
    for store in stores:
        for method in ("GET", "PATCH"):
            service = table.get((store, "service", method, connections))
            baseline = table.get((store, "baseline", method, connections))
            if service is None and baseline is None:
                continue
            lines.append(
                f"| {store} | {_load_name(method, connections)} | {_figures(service)} "
                f"| {_figures(baseline)} | {_ratio(service, baseline, 'requests_per_s')} "
                f"| {_ratio(service, baseline, 'p99_ms')} |"
            )
    return "\n".join(lines)


def writers_table(measurements: Sequence[Measurement], writers: Sequence[int]) -> str:
    """The service's HTTP appends/s (PATCH If-Match: *) at each writer count, per store."""
    table = medians(measurements)
    lines = [
        "| store | " + " | ".join(f"{w} writer(s)" for w in writers) + " |",
        "|---|" + "---:|" * len(writers),
    ]
    for store in dict.fromkeys(m.store for m in measurements):
        cells = []
        for count in writers:
            result = table.get((store, "service", "PATCH", count))
            cells.append(
                "-"
                if result is None
                else f"{result.requests_per_s:,.0f}/s (p99 {result.p99_ms:.1f} ms)"
            )
        lines.append(f"| {store} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def error_notes(measurements: Sequence[Measurement]) -> list[str]:
    """One line per load whose runs saw non-2xx answers or socket errors."""
    notes = []
    for (store, system, method, connections), result in medians(measurements).items():
        if result.non_2xx or result.socket_errors:
            notes.append(
                f"{store} {system} {_load_name(method, connections)}: "
                f"{result.non_2xx} non-2xx answers, {result.socket_errors} socket errors "
                f"over {result.runs} run(s)"
            )
    return notes


def full_report(
    measurements: Sequence[Measurement],
    appends: Sequence[AppendsResult],
    config: Mapping[str, Any],
) -> str:
    """Everything a person reads after a run, as markdown."""
    connections = int(config["connections"])
    parts = [
        f"## HTTP: service vs CRUD baseline (median of {config['repeat']} run(s), "
        f"{config['duration']} s each, -t{config['threads']}, {config['workers']} worker(s), "
        f"generator {config['generator']})",
        "",
        comparison_table(measurements, connections),
        "",
        "Ratios are service / baseline: above 1 is more requests/s, or a longer p99.",
    ]
    writers = list(config["writers"])
    if any(m.system == "service" and m.method == "PATCH" for m in measurements):
        parts += [
            "",
            "## Service: appends/s over HTTP at "
            + ", ".join(str(count) for count in writers)
            + " concurrent writer(s) (PATCH, If-Match: *)",
            "",
            writers_table(measurements, writers),
        ]
    if appends:
        parts += [
            "",
            "## In-process appends/s (ShipmentService.revise, no HTTP; median)",
            "",
            appends_table(list(appends)),
        ]
    notes = error_notes(measurements)
    if notes:
        parts += ["", "Errors seen (figures include them):", *(f"- {note}" for note in notes)]
    return "\n".join(parts)


def save_results(
    results_dir: Path,
    measurements: Sequence[Measurement],
    appends: Sequence[AppendsResult],
    config: Mapping[str, Any],
) -> Path:
    """Write every raw run, the medians and the machine's description to a JSON file."""
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    document = {
        "config": dict(config),
        "commit": _commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_at_end": os.getloadavg(),
        },
        "medians": [
            {"store": k[0], "system": k[1], "method": k[2], "connections": k[3], **asdict(v)}
            for k, v in medians(measurements).items()
        ],
        "runs": [{**asdict(m), "key": list(m.key)} for m in measurements],
        "in_process_appends": [{**asdict(a), "appends_per_s": a.appends_per_s} for a in appends],
    }
    path.write_text(json.dumps(document, indent=2))
    return path


def _commit() -> str:
    """The code measured: HEAD's hash, with ``+dirty`` when the tree has changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, cwd=REPO
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], capture_output=True, text=True, check=True, cwd=REPO
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+dirty" if dirty else head


def _load_name(method: str, connections: int) -> str:
    suffix = " (If-Match: *)" if method == "PATCH" else ""
    return f"{method}{suffix} -c{connections}"


def _figures(result: MedianResult | None) -> str:
    if result is None:
        return "- | - | -"
    return f"{result.requests_per_s:,.0f} | {result.p50_ms:.2f} ms | {result.p99_ms:.2f} ms"


def _ratio(service: MedianResult | None, baseline: MedianResult | None, name: str) -> str:
    if service is None or baseline is None:
        return "-"
    denominator = getattr(baseline, name)
    return f"{getattr(service, name) / denominator:.2f}x" if denominator else "-"
