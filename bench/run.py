"""Benchmark the shipment service against a minimal CRUD baseline: ``python -m bench.run``.

For each store (SQLite in a temporary file, PostgreSQL in a fresh schema that is
dropped afterwards) and each deployment shape (1 worker, ``--workers 2``, two
separate servers on one database) it starts the service exactly as users do
(``shipments serve``) and then the baseline, seeds each with the same shipments,
and drives loads that collide like real traffic: GET and PATCH ``If-Match: *``
uniform at random, PATCH on a hot set, PATCH with stale tags (every answer
412), read-modify-write loops on a few shipments (with a lost-update check), and
the old partitioned load as a labelled best case. Each load runs several times;
beside the speed it measures the cost — CPU per request of the servers and of
PostgreSQL, and the machine's idle share, from /proc over the measured window.
It prints medians and service/baseline ratios and saves every raw run as JSON in
``bench/results/``. It never asserts on timing. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from bench.appends import run_appends
from bench.contention import (
    CONTENDED_SHIPMENT,
    account,
    read_snapshots,
    reset_high_weights,
)
from bench.cpu_cost import CpuCost, cost_between, take_snapshot
from bench.generators import GENERATORS, choose_generator, run_load
from bench.load_results import LoadSpec, Measurement
from bench.report import full_report, save_results
from bench.seeding import seed_shipments, seed_stale_shipments, write_ids, write_tags
from bench.servers import SYSTEMS, running_deployment
from bench.stores import POSTGRES_ADMIN_URL, STORE_KINDS, fresh_store, postgres_problem
from bench.workloads import (
    ALL,
    CONTENDED,
    EXPECT_412,
    HOT,
    SHAPES,
    STALE,
    WORKLOAD_CHOICES,
    Shape,
    Workload,
)
from bench.workloads import expand_workloads as _expand

RESULTS_DIR = Path(__file__).resolve().parent / "results"
# After a read-modify-write run, let a PATCH that was in flight when the generator
# stopped reach the store before the counters are read.
SETTLE_S = 0.5


def seed_deployment(
    base_url: str,
    workloads: list[Workload],
    arguments: argparse.Namespace,
    directory: Path,
    headers: dict[str, str],
) -> tuple[dict[str, Path], dict[str, Path]]:
    """Create the shipments the workloads need; the ids file and the tags file of each id set.

    Only the stale set has tags: the version-1 ETag of each of its shipments, which
    have all moved past version 1.
    """
    files: dict[str, Path] = {}
    tags: dict[str, Path] = {}
    id_sets = {workload.id_set for workload in workloads}
    if id_sets & {ALL, HOT}:
        count = max(arguments.seed, arguments.hot) if HOT in id_sets else arguments.seed
        ids = seed_shipments(base_url, count, headers=headers)
        files[ALL] = directory / "ids-all.txt"
        files[HOT] = directory / "ids-hot.txt"
        write_ids(files[ALL], ids)
        write_ids(files[HOT], ids[: arguments.hot])
    if CONTENDED in id_sets:
        ids = seed_shipments(
            base_url, arguments.rmw_shipments, headers=headers, body=CONTENDED_SHIPMENT
        )
        files[CONTENDED] = directory / "ids-contended.txt"
        write_ids(files[CONTENDED], ids)
    if STALE in id_sets:
        stale = seed_stale_shipments(base_url, arguments.stale, headers=headers)
        files[STALE] = directory / "ids-stale.txt"
        tags[STALE] = directory / "tags-stale.txt"
        write_ids(files[STALE], [shipment_id for shipment_id, _ in stale])
        write_tags(tags[STALE], [tag for _, tag in stale])
    return files, tags


def measure_deployment(
    store: str,
    shape: Shape,
    system: str,
    arguments: argparse.Namespace,
    generator: str,
    workdir: Path,
) -> list[Measurement]:
    """Deploy one system in one shape on a fresh store, seed it, and run every workload."""
    headers = _auth_headers(arguments.token)
    measurements: list[Measurement] = []
    directory = workdir / f"{store}-{shape.name}-{system}"
    directory.mkdir()
    with (
        fresh_store(store, workdir, f"{system}_{shape.name}", arguments.postgres_url) as url,
        running_deployment(
            system,
            url,
            directory,
            servers=shape.servers,
            workers=shape.workers,
            extra_env=dict(arguments.server_env),
            headers=headers,
        ) as servers,
    ):
        base_urls = tuple(server.base_url for server in servers)
        server_pids = tuple(server.process.pid for server in servers)
        started = time.monotonic()
        files, tags = seed_deployment(
            base_urls[0], arguments.workloads, arguments, directory, headers
        )
        print(
            f"bench: {store} {shape.name} {system}: seeded in {time.monotonic() - started:.0f} s",
            flush=True,
        )
        for workload in arguments.workloads:
            runs: list[tuple[int | None, int]] = (
                [(None, arguments.warmup)] if arguments.warmup else []
            )
            runs += [(repetition, arguments.duration) for repetition in range(arguments.repeat)]
            for repetition, duration in runs:
                # Each run its own seeds (thread i of a run: run seed + i); the warm-up too.
                seed = arguments.random_seed + 1000 * (
                    arguments.repeat if repetition is None else repetition
                )
                spec = LoadSpec(
                    workload=workload,
                    base_urls=base_urls,
                    ids_file=files[workload.id_set],
                    duration_s=duration,
                    seed=seed,
                    headers=headers,
                    tags_file=tags.get(workload.id_set),
                )
                measurement = measure_load(
                    store, shape, system, spec, generator, headers, server_pids
                )
                if repetition is None:
                    continue
                measurement = replace(measurement, repetition=repetition)
                measurements.append(measurement)
                _print_run(measurement, arguments.repeat)
    return measurements


def measure_load(
    store: str,
    shape: Shape,
    system: str,
    spec: LoadSpec,
    generator: str,
    headers: dict[str, str],
    server_pids: Sequence[int],
) -> Measurement:
    """One load run and its CPU cost; for read-modify-write, the counters and the check.

    The CPU is read right before the generator starts and right after it exits
    (bench/cpu_cost.py): ``server_pids`` are the processes started for the system,
    whose descendants count with them; the generator's own CPU is not theirs.
    """
    workload = spec.workload
    contended: list[str] = []
    before = []
    if workload.read_modify_write:
        contended = [line for line in spec.ids_file.read_text().splitlines() if line]
        before = read_snapshots(spec.base_urls[0], contended, headers)
        if reset_high_weights(spec.base_urls[0], contended, before, headers):
            before = read_snapshots(spec.base_urls[0], contended, headers)
    load_average = os.getloadavg()[0]
    start = take_snapshot(server_pids)
    result, output = run_load(generator, spec)
    result = replace(result, cpu=cost_between(start, take_snapshot(server_pids), result.requests))
    accounting = None
    if workload.read_modify_write:
        time.sleep(SETTLE_S)
        after = read_snapshots(spec.base_urls[0], contended, headers)
        checked = account(before, after, result.successes_by_key, result.unknown_by_key)
        result = replace(
            result,
            lost_updates=checked.lost_updates,
            unexplained_increments=checked.unexplained_increments,
        )
        accounting = {
            "before": [{"version": s.version, **s.counters} for s in before],
            "after": [{"version": s.version, **s.counters} for s in after],
            "per_shipment": checked.per_shipment,
        }
    return Measurement(
        store=store,
        system=system,
        shape=shape.name,
        workload=workload,
        repetition=-1,
        seed=spec.seed,
        result=result,
        load_average_1m=load_average,
        generator_output=output,
        accounting=accounting,
    )


def _print_run(measurement: Measurement, repeat: int) -> None:
    result = measurement.result
    workload = measurement.workload
    figures = (
        f"{result.requests_per_s:8,.0f} req/s  p50 {result.p50_ms:6.2f} ms  "
        f"p99 {result.p99_ms:7.2f} ms"
    )
    if workload.read_modify_write:
        figures = (
            f"{result.updates_per_s:8,.0f} updates/s  {result.conflicts_per_success:5.2f} "
            f"412/success  update p50 {result.update_p50_ms:6.1f} ms "
            f"p99 {result.update_p99_ms:7.1f} ms  lost updates {result.lost_updates}"
            f"  unexplained {result.unexplained_increments}  unknown {result.unknown_outcomes}"
            f"  in flight at end {result.in_flight_at_end}"
        )
    elif workload.expected == EXPECT_412:
        figures += f"  412 {result.status_412}"
    print(
        f"bench: {measurement.store:8} {measurement.shape:8} {measurement.system:8} "
        f"{workload.name:16} run {measurement.repetition + 1}/{repeat} "
        f"(seed {measurement.seed}): {figures}  "
        f"errors {result.errors(workload.expected)} (5xx {result.status_5xx})  "
        f"{_cost_figures(result.cpu)}  (load avg {measurement.load_average_1m:.1f})",
        flush=True,
    )


def _cost_figures(cost: CpuCost | None) -> str:
    if cost is None or cost.server_us_per_request is None:
        return "cpu -"
    return (
        f"cpu: server {cost.server_us_per_request:,.0f} µs/req, "
        f"postgres {cost.postgres_us_per_request or 0:,.0f} µs/req "
        f"(whole server {cost.postgres_all_cpu_s * 1e6 / max(cost.requests, 1):,.0f}), "
        f"idle {cost.idle_percent:.0f}%, others {cost.others_percent:.0f}%"
    )


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--stores", default=",".join(STORE_KINDS), help="sqlite,postgres")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="service,baseline")
    parser.add_argument(
        "--shapes",
        default=",".join(SHAPES),
        help="deployment shapes: 1w (1 worker), 2w (--workers 2), "
        "2servers (two servers on one database)",
    )
    parser.add_argument(
        "--workloads",
        default=",".join(WORKLOAD_CHOICES),
        help="get, patch-uniform, patch-hot, patch-stale (every PATCH names a version "
        "the shipment has moved past: 412), rmw, rmw-fields (without and with "
        "Prefer: conflict=merge), best-case (the old partitioned PATCH)",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=1, help="unrecorded seconds before a load")
    parser.add_argument(
        "--connections", "-c", type=int, default=32, help="clients (over all servers)"
    )
    parser.add_argument(
        "--threads",
        "-t",
        type=int,
        default=2,
        help="wrk threads for GET/PATCH loads (RMW: one thread per client)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per load (median quoted)")
    parser.add_argument("--seed", type=int, default=10_000, help="shipments created per deployment")
    parser.add_argument("--hot", type=int, default=100, help="shipments in the hot set")
    parser.add_argument(
        "--rmw-shipments", type=int, default=20, help="shipments the RMW clients share"
    )
    parser.add_argument(
        "--stale", type=int, default=200, help="shipments of the stale-write load (patch-stale)"
    )
    parser.add_argument(
        "--random-seed",
        type=int,
        default=None,
        help="base seed of the generators' random numbers (default: new each time; printed)",
    )
    parser.add_argument(
        "--writers",
        default="1,8,32",
        help="thread counts of the in-process micro-benchmark (--appends)",
    )
    parser.add_argument("--generator", choices=GENERATORS, default="auto")
    parser.add_argument(
        "--no-install", action="store_true", help="never try to install wrk when it is missing"
    )
    parser.add_argument(
        "--appends", action="store_true", help="also run the in-process micro-benchmark"
    )
    parser.add_argument(
        "--appends-only", action="store_true", help="run only the in-process micro-benchmark"
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("SHIPMENTS_BENCH_TOKEN", ""),
        help="bearer token sent on every request (or SHIPMENTS_BENCH_TOKEN)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        type=_key_value,
        metavar="KEY=VALUE",
        help="extra environment for the servers (repeatable)",
    )
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    arguments = parser.parse_args(argv)
    arguments.writers = [int(count) for count in arguments.writers.split(",") if count]
    arguments.stores = parse_names(parser, arguments.stores, STORE_KINDS, "store")
    arguments.systems = parse_names(parser, arguments.systems, SYSTEMS, "system")
    arguments.shapes = [
        SHAPES[name] for name in parse_names(parser, arguments.shapes, tuple(SHAPES), "shape")
    ]
    names = parse_names(parser, arguments.workloads, WORKLOAD_CHOICES, "workload")
    arguments.workloads = _expand(
        names,
        arguments.connections,
        arguments.threads,
        arguments.hot,
        arguments.rmw_shipments,
        arguments.stale,
    )
    if min(arguments.seed, arguments.hot, arguments.rmw_shipments, arguments.stale) < 1:
        parser.error("--seed, --hot, --rmw-shipments and --stale must be at least 1")
    if arguments.random_seed is None:
        arguments.random_seed = random.randrange(1, 1_000_000) * 1000
    return arguments


def parse_names(
    parser: argparse.ArgumentParser, text: str, known: tuple[str, ...], what: str
) -> list[str]:
    names = [name for name in text.split(",") if name]
    for name in names:
        if name not in known:
            parser.error(f"unknown {what} {name!r}: use {', '.join(known)}")
    return names


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the tables, save the raw results; 1 if a system failed."""
    arguments = parse_arguments(argv)
    # Stopped with SIGTERM (e.g. by timeout), unwind like Ctrl-C: the context managers
    # stop the servers and drop the schemas.
    signal.signal(signal.SIGTERM, _interrupted)
    stores = list(arguments.stores)
    if "postgres" in stores and (problem := postgres_problem(arguments.postgres_url)):
        print(f"bench: skipping PostgreSQL: {problem}")
        stores.remove("postgres")
    measurements: list[Measurement] = []
    failures = 0
    generator = "none"
    if not arguments.appends_only:
        generator = choose_generator(arguments.generator, install=not arguments.no_install)
        print(
            f"bench: base random seed {arguments.random_seed} "
            f"(repeat a run with --random-seed {arguments.random_seed})",
            flush=True,
        )
        with tempfile.TemporaryDirectory(prefix="bench-") as directory:
            for store in stores:
                for shape in arguments.shapes:
                    for system in arguments.systems:
                        try:
                            measurements += measure_deployment(
                                store, shape, system, arguments, generator, Path(directory)
                            )
                        except (
                            RuntimeError,
                            subprocess.SubprocessError,
                            httpx.HTTPError,
                        ) as error:
                            # Say which system failed and go on: the others' figures count.
                            print(
                                f"bench: {store} {shape.name} {system} FAILED: {error}",
                                file=sys.stderr,
                            )
                            failures += 1
    appends = []
    if arguments.appends or arguments.appends_only:
        appends = run_appends(stores, arguments.writers, arguments.duration, arguments.repeat)
    config = _config(arguments, stores, generator)
    print()
    print(full_report(measurements, appends, config))
    path = save_results(arguments.results_dir, measurements, appends, config)
    print(f"\nRaw results: {path}")
    return 1 if failures else 0


def _config(arguments: argparse.Namespace, stores: list[str], generator: str) -> dict[str, Any]:
    return {
        "stores": stores,
        "systems": arguments.systems,
        "shapes": [shape.name for shape in arguments.shapes],
        "workloads": [workload.name for workload in arguments.workloads],
        "duration": arguments.duration,
        "warmup": arguments.warmup,
        "connections": arguments.connections,
        "threads": arguments.threads,
        "repeat": arguments.repeat,
        "seed": arguments.seed,
        "hot": arguments.hot,
        "rmw_shipments": arguments.rmw_shipments,
        "stale": arguments.stale,
        "random_seed": arguments.random_seed,
        "writers": arguments.writers,
        "generator": generator,
        "authenticated": bool(arguments.token),
        "server_env": sorted(key for key, _ in arguments.server_env),
    }


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _auth_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _key_value(text: str) -> tuple[str, str]:
    key, separator, value = text.partition("=")
    if not separator or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


if __name__ == "__main__":
    raise SystemExit(main())
