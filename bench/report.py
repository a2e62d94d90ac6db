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
from bench.load_results import Measurement, MeasurementKey, MedianResult, medians
from bench.workloads import SHAPES, Workload

REPO = Path(__file__).resolve().parents[1]


def _order(measurements: Sequence[Measurement]) -> tuple[list[str], list[str], list[Workload]]:
    stores = list(dict.fromkeys(m.store for m in measurements))
    shapes = [name for name in SHAPES if any(m.shape == name for m in measurements)]
    workloads = list({m.workload.name: m.workload for m in measurements}.values())
    return stores, shapes, workloads


def comparison_table(measurements: Sequence[Measurement]) -> str:
    """Service against baseline for the GET and PATCH loads, per store, load and shape."""
    table = medians(measurements)
    lines = [
        "| store | load | shape | service req/s | p50 | p99 | baseline req/s | p50 | p99 "
        "| req/s ratio | p99 ratio | errors (service / baseline) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    stores, shapes, workloads = _order(measurements)
    for store in stores:
        for workload in (w for w in workloads if not w.read_modify_write):
            for shape in shapes:
                service = table.get((store, "service", shape, workload.name))
                baseline = table.get((store, "baseline", shape, workload.name))
                if service is None and baseline is None:
                    continue
                lines.append(
                    f"| {store} | {workload.label} | {SHAPES[shape].label} "
                    f"| {_figures(service)} | {_figures(baseline)} "
                    f"| {_ratio(service, baseline, 'requests_per_s')} "
                    f"| {_ratio(service, baseline, 'p99_ms')} "
                    f"| {_count(service, 'errors')} / {_count(baseline, 'errors')} |"
                )
    return "\n".join(lines)


def rmw_table(measurements: Sequence[Measurement]) -> str:
    """Service against baseline for the read-modify-write loads: updates, 412s, lost updates."""
    table = medians(measurements)
    lines = [
        "| store | load | shape | service updates/s | p50 | p99 | 412/success | lost "
        "| baseline updates/s | p50 | p99 | 412/success | lost | updates/s ratio "
        "| errors (service / baseline) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    stores, shapes, workloads = _order(measurements)
    for store in stores:
        for workload in (w for w in workloads if w.read_modify_write):
            for shape in shapes:
                service = table.get((store, "service", shape, workload.name))
                baseline = table.get((store, "baseline", shape, workload.name))
                if service is None and baseline is None:
                    continue
                lines.append(
                    f"| {store} | {workload.label} | {SHAPES[shape].label} "
                    f"| {_update_figures(service)} | {_update_figures(baseline)} "
                    f"| {_ratio(service, baseline, 'updates_per_s')} "
                    f"| {_count(service, 'errors')} / {_count(baseline, 'errors')} |"
                )
    return "\n".join(lines)


def cost_table(measurements: Sequence[Measurement]) -> str:
    """What each request costs in CPU, server and PostgreSQL, for every load: service vs baseline.

    Per HTTP request (a read-modify-write update is two or more); PostgreSQL's
    columns only for the PostgreSQL store (with SQLite the store is in the server).
    """
    table = medians(measurements)
    lines = [
        "| store | load | shape | service req/s | server µs/req | PG µs/req | idle % "
        "| baseline req/s | server µs/req | PG µs/req | idle % | req/s ratio "
        "| server µs/req ratio | server+PG µs/req ratio |",
        "|---|---|---|" + "---:|" * 11,
    ]
    stores, shapes, workloads = _order(measurements)
    for store in stores:
        postgres = store == "postgres"
        for workload in workloads:
            for shape in shapes:
                service = table.get((store, "service", shape, workload.name))
                baseline = table.get((store, "baseline", shape, workload.name))
                if service is None and baseline is None:
                    continue
                lines.append(
                    f"| {store} | {workload.label} | {SHAPES[shape].label} "
                    f"| {_cost_figures(service, postgres)} | {_cost_figures(baseline, postgres)} "
                    f"| {_ratio(service, baseline, 'requests_per_s')} "
                    f"| {_cpu_ratio(service, baseline, with_postgres=False)} "
                    f"| {_cpu_ratio(service, baseline, with_postgres=True) if postgres else '-'} |"
                )
    return "\n".join(lines)


def shapes_table(measurements: Sequence[Measurement]) -> str:
    """The service's throughput per deployment shape, next to its 1-worker figure."""
    table = medians(measurements)
    stores, shapes, workloads = _order(measurements)
    lines = [
        "| store | load | "
        + " | ".join(SHAPES[shape].label for shape in shapes)
        + "".join(f" | {shape} / 1w" for shape in shapes if shape != "1w")
        + " |",
        "|---|---|" + "---:|" * (len(shapes) + len([s for s in shapes if s != "1w"])),
    ]
    for store in stores:
        for workload in workloads:
            results = {
                shape: table.get((store, "service", shape, workload.name)) for shape in shapes
            }
            if all(result is None for result in results.values()):
                continue
            unit = "updates/s" if workload.read_modify_write else "req/s"
            cells = [
                "-"
                if result is None
                else f"{result.throughput(workload.read_modify_write):,.0f} {unit}"
                for result in results.values()
            ]
            one = results.get("1w")
            for shape in shapes:
                if shape == "1w":
                    continue
                other = results[shape]
                if one is None or other is None or not one.throughput(workload.read_modify_write):
                    cells.append("-")
                else:
                    rmw = workload.read_modify_write
                    cells.append(f"{other.throughput(rmw) / one.throughput(rmw):.2f}x")
            lines.append(f"| {store} | {workload.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def error_notes(measurements: Sequence[Measurement]) -> list[str]:
    """One line per load whose runs saw errors, unknown outcomes or lost updates."""
    notes = []
    labels = {m.key: m.workload.label for m in measurements}
    for key, result in medians(measurements).items():
        problems = []
        if result.status_5xx:
            problems.append(f"{result.status_5xx} 5xx")
        if result.unexpected_412:
            problems.append(f"{result.unexpected_412} 412 (If-Match: * must never 412)")
        if result.unexpected_2xx:
            problems.append(f"{result.unexpected_2xx} 2xx (a stale If-Match must be 412)")
        other = (
            result.errors
            - result.status_5xx
            - result.unexpected_412
            - result.unexpected_2xx
            - result.socket_errors
        )
        if other:
            problems.append(f"{other} other non-2xx")
        if result.socket_errors:
            problems.append(f"{result.socket_errors} socket errors/time-outs")
        if result.unknown_outcomes:
            problems.append(f"{result.unknown_outcomes} PATCHes of unknown outcome")
        if result.parse_failures:
            problems.append(f"{result.parse_failures} GET answers without a counter or ETag")
        if result.lost_updates:
            problems.append(f"{result.lost_updates} LOST UPDATES")
        if result.unexplained_increments:
            problems.append(f"{result.unexplained_increments} unexplained counter increments")
        if problems:
            notes.append(
                f"{_key_name(key, labels[key])}: {', '.join(problems)} over {result.runs} run(s)"
            )
    return notes


def _key_name(key: MeasurementKey, label: str) -> str:
    store, system, shape, _ = key
    return f"{store} {system} {SHAPES[shape].label if shape in SHAPES else shape} {label}"


def full_report(
    measurements: Sequence[Measurement],
    appends: Sequence[AppendsResult],
    config: Mapping[str, Any],
) -> str:
    """Everything a person reads after a run, as markdown."""
    parts = [
        f"## HTTP: service vs CRUD baseline (median of {config['repeat']} run(s), "
        f"{config['duration']} s each, generator {config['generator']}, "
        f"base random seed {config.get('random_seed')})",
    ]
    if any(not m.workload.read_modify_write for m in measurements):
        parts += [
            "",
            comparison_table(measurements),
            "",
            "Ratios are service / baseline: above 1 is more requests/s, or a longer p99. "
            "PATCH stale: every answer should be 412 (errors count any other answer).",
        ]
    if any(m.workload.read_modify_write for m in measurements):
        parts += [
            "",
            "### Read-modify-write (GET, then PATCH with the ETag read; 412 -> read again)",
            "",
            rmw_table(measurements),
            "",
            "updates/s: PATCHes answered 200; p50/p99: one update, from its first GET to its "
            "200 (retries included); 412/success: PATCHes answered 412 per success; lost: "
            "lost updates summed over the runs (must be 0; bench/contention.py).",
        ]
    if measurements:
        parts += [
            "",
            "### Cost: CPU per request and the machine's idle share (medians)",
            "",
            cost_table(measurements),
            "",
            "server µs/req: CPU of the system's server processes (all workers, both servers) "
            "per completed request; PG µs/req: PostgreSQL's backends serving them and its "
            "background processes (other clients' backends left out; the whole server's in "
            "the raw results); idle %: idle + iowait of all cores; all over the measured "
            "window only, from /proc (bench/cpu_cost.py); the load generator's CPU is not "
            "counted. µs/req ratios below 1: the service spends less CPU per request.",
        ]
    if any(m.system == "service" for m in measurements):
        parts += [
            "",
            "### Service by deployment shape (medians)",
            "",
            shapes_table(measurements),
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
    else:
        parts += ["", "No errors, no 5xx, no lost updates."]
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
            {"store": k[0], "system": k[1], "shape": k[2], "workload": k[3], **asdict(v)}
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


def _figures(result: MedianResult | None) -> str:
    if result is None:
        return "- | - | -"
    return f"{result.requests_per_s:,.0f} | {result.p50_ms:.2f} ms | {result.p99_ms:.2f} ms"


def _update_figures(result: MedianResult | None) -> str:
    if result is None:
        return "- | - | - | - | -"
    lost = "-" if result.lost_updates is None else str(result.lost_updates)
    return (
        f"{result.updates_per_s:,.0f} | {result.update_p50_ms:.1f} ms "
        f"| {result.update_p99_ms:.1f} ms | {result.conflicts_per_success:.2f} | {lost}"
    )


def _cost_figures(result: MedianResult | None, postgres: bool) -> str:
    if result is None:
        return "- | - | - | -"
    return (
        f"{result.requests_per_s:,.0f} | {_micros(result.server_us_per_request)} "
        f"| {_micros(result.postgres_us_per_request) if postgres else '-'} "
        f"| {'-' if result.idle_percent is None else f'{result.idle_percent:.0f}%'}"
    )


def _micros(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _cpu_ratio(
    service: MedianResult | None, baseline: MedianResult | None, with_postgres: bool
) -> str:
    """Service / baseline CPU per request: the server's alone, or with PostgreSQL's."""
    if service is None or baseline is None:
        return "-"

    def per_request(result: MedianResult) -> float | None:
        server = result.server_us_per_request
        if not with_postgres or server is None:
            return server
        postgres = result.postgres_us_per_request
        return None if postgres is None else server + postgres

    numerator, denominator = per_request(service), per_request(baseline)
    if numerator is None or not denominator:
        return "-"
    return f"{numerator / denominator:.2f}x"


def _count(result: MedianResult | None, name: str) -> str:
    return "-" if result is None else str(getattr(result, name))


def _ratio(service: MedianResult | None, baseline: MedianResult | None, name: str) -> str:
    if service is None or baseline is None:
        return "-"
    denominator = getattr(baseline, name)
    return f"{getattr(service, name) / denominator:.2f}x" if denominator else "-"
