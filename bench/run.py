"""Benchmark the shipment service against a minimal CRUD baseline: ``python -m bench.run``.

For each store (SQLite in a temporary file, PostgreSQL in a fresh schema that is
dropped afterwards) it starts the service exactly as users do (``shipments
serve``) and then the baseline, seeds each with the same shipments, and drives
GET and PATCH (``If-Match: *``) loads over loopback, each several times; it
prints medians and service/baseline ratios and saves every raw run as JSON in
``bench/results/``. It never asserts on timing. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from bench.appends import run_appends
from bench.generators import GENERATORS, choose_generator, run_load
from bench.load_results import LoadSpec, Measurement
from bench.report import full_report, save_results
from bench.seeding import seed_shipments
from bench.servers import SYSTEMS, running_server
from bench.stores import POSTGRES_ADMIN_URL, STORE_KINDS, fresh_store, postgres_problem

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def planned_loads(system: str, connections: int, writers: list[int]) -> list[tuple[str, int]]:
    """(method, connections) pairs to run: GET and PATCH for both, writer counts for ours."""
    loads = [("GET", connections), ("PATCH", connections)]
    if system == "service":
        loads += [("PATCH", count) for count in writers if ("PATCH", count) not in loads]
    return loads


def measure_system(
    store: str, system: str, arguments: argparse.Namespace, generator: str, workdir: Path
) -> list[Measurement]:
    """Start one system on a fresh store, seed it, and run every planned load on it."""
    headers = _auth_headers(arguments.token)
    measurements: list[Measurement] = []
    with (
        fresh_store(store, workdir, system, arguments.postgres_url) as url,
        running_server(
            system,
            url,
            workdir,
            workers=arguments.workers,
            extra_env=dict(arguments.server_env),
            headers=headers,
        ) as server,
    ):
        ids_file = workdir / f"{store}-{system}-ids.txt"
        seed_shipments(server.base_url, arguments.seed, ids_file, headers)
        print(f"bench: {store} {system}: seeded {arguments.seed} shipments", flush=True)
        for method, connections in planned_loads(system, arguments.connections, arguments.writers):
            spec = LoadSpec(
                method=method,
                base_url=server.base_url,
                ids_file=ids_file,
                duration_s=arguments.duration,
                connections=connections,
                threads=arguments.threads,
                headers=headers,
            )
            if arguments.warmup:
                run_load(generator, replace(spec, duration_s=arguments.warmup))
            for repetition in range(arguments.repeat):
                load_average = os.getloadavg()[0]
                result, output = run_load(generator, spec)
                measurements.append(
                    Measurement(
                        store=store,
                        system=system,
                        method=method,
                        connections=connections,
                        threads=min(arguments.threads, connections),
                        repetition=repetition,
                        result=result,
                        load_average_1m=load_average,
                        generator_output=output,
                    )
                )
                print(
                    f"bench: {store:8} {system:8} {method:5} -c{connections:<3} "
                    f"run {repetition + 1}/{arguments.repeat}: "
                    f"{result.requests_per_s:9,.0f} req/s  p50 {result.p50_ms:7.2f} ms  "
                    f"p99 {result.p99_ms:7.2f} ms  non-2xx {result.non_2xx}  "
                    f"(load avg {load_average:.1f})",
                    flush=True,
                )
    return measurements


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--stores", default=",".join(STORE_KINDS), help="sqlite,postgres")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="service,baseline")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=1, help="unrecorded seconds before a load")
    parser.add_argument("--connections", "-c", type=int, default=32)
    parser.add_argument("--threads", "-t", type=int, default=2, help="load generator threads")
    parser.add_argument("--repeat", type=int, default=3, help="runs per load (median quoted)")
    parser.add_argument("--seed", type=int, default=2000, help="shipments created per system")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument(
        "--writers", default="1,8,32", help="writer counts for the service's appends/s"
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
    arguments.stores = [s for s in arguments.stores.split(",") if s]
    arguments.systems = [s for s in arguments.systems.split(",") if s]
    for store in arguments.stores:
        if store not in STORE_KINDS:
            parser.error(f"unknown store {store!r}: use {', '.join(STORE_KINDS)}")
    for system in arguments.systems:
        if system not in SYSTEMS:
            parser.error(f"unknown system {system!r}: use {', '.join(SYSTEMS)}")
    return arguments


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the tables, save the raw results; 1 if a system failed."""
    arguments = parse_arguments(argv)
    stores = list(arguments.stores)
    if "postgres" in stores and (problem := postgres_problem(arguments.postgres_url)):
        print(f"bench: skipping PostgreSQL: {problem}")
        stores.remove("postgres")
    measurements: list[Measurement] = []
    failures = 0
    generator = "none"
    if not arguments.appends_only:
        generator = choose_generator(arguments.generator, install=not arguments.no_install)
        with tempfile.TemporaryDirectory(prefix="bench-") as directory:
            for store in stores:
                for system in arguments.systems:
                    try:
                        measurements += measure_system(
                            store, system, arguments, generator, Path(directory)
                        )
                    except (RuntimeError, subprocess.SubprocessError, httpx.HTTPError) as error:
                        # Say which system failed and go on: the others' figures still count.
                        print(f"bench: {store} {system} FAILED: {error}", file=sys.stderr)
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
        "duration": arguments.duration,
        "warmup": arguments.warmup,
        "connections": arguments.connections,
        "threads": arguments.threads,
        "repeat": arguments.repeat,
        "seed": arguments.seed,
        "workers": arguments.workers,
        "writers": arguments.writers,
        "generator": generator,
        "authenticated": bool(arguments.token),
        "server_env": sorted(key for key, _ in arguments.server_env),
    }


def _auth_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _key_value(text: str) -> tuple[str, str]:
    key, separator, value = text.partition("=")
    if not separator or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


if __name__ == "__main__":
    raise SystemExit(main())
