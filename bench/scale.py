"""Do costs stay flat as the store grows? A large store next to a small one, in one run.

    python -m bench.scale                                   # 1,000,000 / 10,000,000 (long)
    python -m bench.scale --shipments 20000 --events 200000 --stores postgres
    python -m bench.scale --stores sqlite --sqlite-shipments 20000 --sqlite-events 200000
    python -m bench.scale ... --keep    # keep the filled stores, and reuse them next time

For each store (PostgreSQL: ``--shipments``/``--events``; SQLite: ``--sqlite-*``):

1. fill it through the store's own append path (``bench.scale_fill``), in
   ``--fill-processes`` processes: events/s;
2. fill a small store (``--small-shipments``, the same events per shipment);
3. on each, in every ``--shapes`` deployment (1 worker, ``--workers 2``, two
   servers on one store), the ``--workloads`` of ``bench.run`` under wrk (32
   clients, each generator thread its own seed): GET and PATCH (``If-Match: *``)
   uniform over all shipments, PATCH on a hot set of 100, read-modify-write
   loops that retry on 412 (with the lost-update check); then, on one worker,
   one request at a time, ``--samples`` of each: every list filter and sort
   (first page, and a cursor in the middle), ``?asOf=``, ``versions/{n}``,
   ``/v1/events`` from the middle of the log;
4. on the large store: the server's RSS, sampled every second while 32 clients
   PATCH shipments for ``--memory-seconds``, each write to a shipment no earlier
   one touched (a shuffled sweep of every id: the worst case for any cache);
5. ``shipments verify`` and ``shipments projections rebuild``, each with every
   ``--replay-workers`` count: events/s.

It prints a table of p50/p99 on both stores with the ratio of the p99s
(large/small), and never passes or fails on timing.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import psycopg

from api.wiring import build_services
from bench.contention import CONTENDED_SHIPMENT
from bench.load_results import LoadSpec
from bench.memory import RssSeries
from bench.run import measure_load, parse_names
from bench.scale_fill import fill
from bench.seeding import seed_shipments, write_ids
from bench.servers import REPO_ROOT, running_deployment, running_server
from bench.stores import POSTGRES_ADMIN_URL, postgres_problem
from bench.workloads import ALL, CONTENDED, HOT, SHAPES, WORKLOAD_CHOICES, expand_workloads
from bench.wrk_load import run_wrk
from infrastructure.settings import Settings
from projections.shipment_list import ListPosition, SortOrder, encode_cursor

LIST_FILTERS = {
    "no filter": "",
    "status": "status=SUBMITTED",
    "shipmentType": "shipmentType=HHG",
    "destinationState": "destinationState=TX",
    "deliveryDate range": "deliveryDateFrom=2025-03-01&deliveryDateTo=2025-03-10",
    "updatedSince": "updatedSince=2000-01-01T00:00:00Z",
}
READY_TIMEOUT_S = 600  # a server's first start on a large store
HOT_SET = 100  # shipments in the hot set
# bench.run's loads that draw from a filled store's shipments (patch-stale needs its
# own shipments moved past version 1, which bench.run seeds).
SCALE_WORKLOADS = tuple(name for name in WORKLOAD_CHOICES if name != "patch-stale")
CONTENDED_SHIPMENTS = 20  # shipments the read-modify-write clients share
Figures = dict[str, tuple[float, float]]  # name -> (p50 ms, p99 ms), or (req/s, p99 ms)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@contextmanager
def filled_store(
    kind: str, shipments: int, events: int, arguments: argparse.Namespace
) -> Iterator[tuple[str, Path]]:
    """(database URL, ids file) of a store holding ``shipments`` / ``events``; filled if new."""
    label = f"scale_{shipments}_{events}"
    data_dir = Path(arguments.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    ids_file = data_dir / f"{kind}-{label}.ids"
    if kind == "sqlite":
        path = data_dir / f"{label}.db"
        url = f"sqlite:///{path}"
        exists = path.exists()
    else:
        with psycopg.connect(arguments.postgres_url, autocommit=True) as conn:
            exists = bool(
                conn.execute(
                    "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (label,)
                ).fetchone()
            )
            if exists and not (arguments.keep and ids_file.exists()):
                conn.execute(f'DROP SCHEMA "{label}" CASCADE')
                exists = False
            if not exists:
                conn.execute(f'CREATE SCHEMA "{label}"')
        url = f"{arguments.postgres_url}?schema={label}"
    try:
        if exists and arguments.keep and ids_file.exists():
            print(f"[{kind}] reusing {label} (--keep)")
        else:
            for stale in data_dir.glob(f"{label}.db*"):
                stale.unlink()
            ids_file.with_suffix(".contended.ids").unlink(missing_ok=True)
            fill_store(kind, url, ids_file, shipments, events, arguments)
        yield url, ids_file
    finally:
        if not arguments.keep:
            if kind == "sqlite":
                for path in data_dir.glob(f"{label}.db*"):
                    path.unlink()
            else:
                with psycopg.connect(arguments.postgres_url, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{label}" CASCADE')
            ids_file.unlink(missing_ok=True)
            ids_file.with_suffix(".contended.ids").unlink(missing_ok=True)


def fill_store(
    kind: str, url: str, ids_file: Path, shipments: int, events: int, arguments: argparse.Namespace
) -> None:
    """Fill the empty store at ``url``; write its ids to ``ids_file``; print the rate."""
    settings = Settings(database_url=url, projection_runner=False)
    # Create the tables once, before the fill's processes start.
    build_services(settings).close()
    result = fill(settings, shipments, events, arguments.fill_processes)
    write_ids(ids_file, result.shipment_ids)
    print(
        f"[{kind}] filled {shipments:,} shipments, {result.events:,} events in "
        f"{result.seconds:.1f} s = {result.events_per_second:,.0f} events/s "
        f"({arguments.fill_processes} processes)"
    )
    if kind == "postgres":
        vacuum_schema(arguments.postgres_url, url.split("?schema=")[1])


def vacuum_schema(admin_url: str, schema: str) -> None:
    """``VACUUM (ANALYZE)`` every table of a freshly filled schema.

    A store that has run for years has been vacuumed by autovacuum: its rows carry
    their hint bits and its tables have statistics. Right after a bulk fill
    neither holds, and whatever reads the rows first (here: ``verify``) would pay
    for writing every page back, a cost of the fill, not of the store's size.
    """
    started = time.perf_counter()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
        ).fetchall()
        for (table,) in tables:
            conn.execute(f'VACUUM (ANALYZE) "{schema}"."{table}"')
    print(f"[postgres] vacuumed {schema} in {time.perf_counter() - started:.1f} s")


def load_figures(
    kind: str, url: str, ids_file: Path, arguments: argparse.Namespace, log_dir: Path
) -> Figures:
    """Every workload in every deployment shape, as ``bench.run`` drives them: req/s and p99.

    The ids are drawn uniformly from every shipment of the store (GET, PATCH), from
    its first ``HOT_SET`` (the hot set), or from the shipments the read-modify-write
    clients share (seeded once per store and kept beside its ids); each generator
    thread has its own seed. A read-modify-write run also counts lost updates,
    which must be zero.
    """
    files = {ALL: ids_file, HOT: ids_file.with_suffix(".hot.ids")}
    write_ids(files[HOT], ids_file.read_text().split()[:HOT_SET])
    figures: Figures = {}
    for shape in arguments.shapes:
        with running_deployment(
            "service",
            url,
            log_dir,
            servers=shape.servers,
            workers=shape.workers,
            ready_timeout=READY_TIMEOUT_S,
        ) as servers:
            base_urls = tuple(server.base_url for server in servers)
            if any(w.id_set == CONTENDED for w in arguments.workloads):
                files[CONTENDED] = contended_ids(base_urls[0], ids_file)
            for workload in arguments.workloads:
                spec = LoadSpec(
                    workload,
                    base_urls,
                    files[workload.id_set],
                    arguments.duration,
                    random.randrange(10**9),
                )
                pids = [server.process.pid for server in servers]
                result = measure_load(kind, shape, "service", spec, "wrk", {}, pids).result
                name = f"{shape.name} {workload.label}"
                if workload.read_modify_write:
                    figures[f"{name} (updates/s, p99)"] = (
                        result.updates_per_s,
                        result.update_p99_ms,
                    )
                    print(
                        f"  {name}: {result.conflicts_per_success:.2f} 412/success, "
                        f"lost updates {result.lost_updates}, "
                        f"unexplained {result.unexplained_increments}"
                    )
                else:
                    figures[f"{name} (req/s, p99)"] = (result.requests_per_s, result.p99_ms)
                if errors := result.errors(workload.expected):
                    print(f"  {name}: {errors} error(s) (5xx {result.status_5xx})")
    files[HOT].unlink()
    return figures


def contended_ids(base_url: str, ids_file: Path) -> Path:
    """The shipments the read-modify-write clients share: seeded once, kept with the store."""
    path = ids_file.with_suffix(".contended.ids")
    if not path.exists():
        write_ids(path, seed_shipments(base_url, CONTENDED_SHIPMENTS, body=CONTENDED_SHIPMENT))
    return path


def probe_paths(url: str, ids: list[str], samples: int) -> dict[str, list[str]]:
    """The request paths of each sequential probe, drawn at random."""
    rng = random.Random(7)
    head, middles = _log_head_and_middles(url)
    paths: dict[str, list[str]] = {}
    for name, query in LIST_FILTERS.items():
        for sort in SortOrder:
            base = f"/v1/shipments?sort={sort.value}&limit=50" + (f"&{query}" if query else "")
            paths[f"list {name}, sort={sort.value}, first page"] = [base] * samples
            cursor = encode_cursor(ListPosition(sort, middles[sort], UUID(int=0)))
            paths[f"list {name}, sort={sort.value}, middle cursor"] = [
                f"{base}&cursor={cursor}"
            ] * samples
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    chosen = [rng.choice(ids) for _ in range(samples)]
    paths["GET ?asOf=now"] = [f"/v1/shipments/{i}?asOf={now}" for i in chosen]
    paths["versions/{n}"] = [f"/v1/shipments/{i}/versions/{rng.randint(1, 2)}" for i in chosen]
    paths["/v1/events from the middle"] = [
        f"/v1/events?after={rng.randint(head // 3, 2 * head // 3)}&limit=100"
        for _ in range(samples)
    ]
    return paths


def probe(base_url: str, paths: dict[str, list[str]]) -> Figures:
    """p50 and p99 (ms) of each probe, one request at a time."""
    figures: Figures = {}
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        for name, requests in paths.items():
            client.get(requests[0])  # warm the connection and the query plan
            times = []
            for path in requests:
                started = time.perf_counter()
                answer = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                if answer.status_code != 200:
                    raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:200]}")
            figures[name] = (percentile(times, 0.5), percentile(times, 0.99))
    return figures


def replay_rates(url: str, workers: list[int]) -> Figures:
    """``shipments verify`` and ``projections rebuild``, timed: (events/s, seconds)."""
    events = _head(url)
    env = {**os.environ, "SHIPMENTS_DATABASE_URL": url}
    figures: Figures = {}
    for command in (["verify"], ["projections", "rebuild"]):
        for count in workers:
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "api.cli", *command, "--workers", str(count)],
                cwd=REPO_ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            seconds = time.perf_counter() - started
            if done.returncode != 0:
                raise RuntimeError(f"{command} failed:\n{done.stdout}\n{done.stderr}")
            figures[f"{' '.join(command)} --workers {count} (events/s, s)"] = (
                events / seconds,
                seconds,
            )
    return figures


def memory_series(url: str, ids_file: Path, seconds: int, log_dir: Path) -> tuple[RssSeries, int]:
    """The RSS of a fresh server while 32 clients PATCH shipments none touched before.

    The clients sweep a shuffled copy of every id, each generator thread its own
    share in turn, so every write meets a shipment that no cache of the server
    holds (the worst case for memory; uniform draws repeat some). Returns the
    series and how many different shipments were written.
    """
    sweep_file = log_dir / "sweep.ids"
    ids = ids_file.read_text().split()
    random.Random(3).shuffle(ids)
    write_ids(sweep_file, ids)
    with running_server("service", url, log_dir) as server:
        (workload,) = expand_workloads(["best-case"], 32, 2, 100, 20)
        with RssSeries(server.process.pid) as series:
            result, _ = run_wrk(LoadSpec(workload, (server.base_url,), sweep_file, seconds, 11))
    sweep_file.unlink()
    if errors := result.errors(workload.expected):
        print(f"  memory sweep: {errors} error(s)")
    return series, min(result.status_2xx, len(ids))


def measure(kind: str, shipments: int, events: int, arguments: argparse.Namespace) -> Figures:
    """Every figure of one store (filled or reused)."""
    with (
        filled_store(kind, shipments, events, arguments) as (url, ids_file),
        tempfile.TemporaryDirectory() as logs,
    ):
        ids = ids_file.read_text().split()
        figures = load_figures(kind, url, ids_file, arguments, Path(logs))
        with running_server("service", url, Path(logs), ready_timeout=READY_TIMEOUT_S) as server:
            figures |= probe(server.base_url, probe_paths(url, ids, arguments.samples))
        if arguments.memory_seconds and shipments > arguments.small_shipments:
            print_memory(
                kind,
                *memory_series(url, ids_file, arguments.memory_seconds, Path(logs)),
                arguments.memory_seconds,
            )
        figures |= replay_rates(url, arguments.replay_workers)
        return figures


def print_memory(kind: str, series: RssSeries, touched: int, seconds: int) -> None:
    print(
        f"[{kind}] RSS of the server over {seconds} s, {touched:,} different shipments "
        f"written: {series.summary()}"
    )
    print(f"[{kind}] RSS series (MiB): {', '.join(f'{s:.0f}' for s in series.samples)}")


def print_table(kind: str, small: Figures, large: Figures, sizes: str) -> None:
    print(f"\n[{kind}] {sizes}")
    print(f"{'measure':58} {'small a':>10} {'small b':>10} {'large a':>10} {'large b':>10} ratio")
    for name in large:
        a_small, b_small = small.get(name, (float("nan"), float("nan")))
        a_large, b_large = large[name]
        ratio = b_large / b_small if b_small else float("nan")
        print(
            f"{name:58} {a_small:10.1f} {b_small:10.1f} {a_large:10.1f} {b_large:10.1f} "
            f"{ratio:5.2f}"
        )
    print("(a, b: p50 and p99 in ms, or as the name says; ratio: large b / small b)")


def _log_head_and_middles(url: str) -> tuple[int, dict[SortOrder, Any]]:
    """The log's head, and the sort keys of the middle row of the view in each order."""
    with _connection(url) as (cursor, view):
        cursor.execute(f"SELECT count(*) AS n FROM {view}")
        half = int(cursor.fetchone()[0]) // 2
        middles: dict[SortOrder, Any] = {}
        for sort, column in (
            (SortOrder.UPDATED_AT, "updated_at"),
            (SortOrder.DELIVERY_DATE, "delivery_date"),
        ):
            cursor.execute(
                f"SELECT {column} FROM {view} ORDER BY {column} DESC LIMIT 1 OFFSET {half}"
            )
            value = cursor.fetchone()[0]
            if isinstance(value, str):
                value = (datetime if sort is SortOrder.UPDATED_AT else date).fromisoformat(value)
            middles[sort] = value
    return _head(url), middles


def _head(url: str) -> int:
    with _connection(url) as (cursor, _view):
        if url.startswith("sqlite"):
            cursor.execute("SELECT max(rowid) FROM stored_events")
        else:
            cursor.execute("SELECT max(notification_id) FROM shipmentstore_events")
        return int(cursor.fetchone()[0] or 0)


@contextmanager
def _connection(url: str) -> Iterator[tuple[Any, str]]:
    """A plain cursor on the store (tuples), and the view table's name in it."""
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            yield connection.cursor(), "shipment_view"
        finally:
            connection.close()
        return
    admin, schema = url.split("?schema=")
    with psycopg.connect(admin) as conn, conn.cursor() as cursor:
        cursor.execute(f'SET search_path TO "{schema}"')
        yield cursor, "shipment_view"


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    cpus = os.cpu_count() or 1
    parser.add_argument("--stores", default="postgres,sqlite", help="postgres,sqlite")
    parser.add_argument("--shipments", type=int, default=1_000_000, help="PostgreSQL")
    parser.add_argument("--events", type=int, default=10_000_000, help="PostgreSQL")
    parser.add_argument("--sqlite-shipments", type=int, default=100_000)
    parser.add_argument("--sqlite-events", type=int, default=1_000_000)
    parser.add_argument("--small-shipments", type=int, default=1_000)
    parser.add_argument("--fill-processes", type=int, default=cpus)
    parser.add_argument(
        "--replay-workers",
        type=lambda text: [int(part) for part in text.split(",") if part],
        default=[1, cpus] if cpus > 1 else [1],
        help="worker counts for verify and rebuild, e.g. 1,2 (empty: skip them)",
    )
    parser.add_argument(
        "--shapes",
        default=",".join(SHAPES),
        help="deployment shapes of the loads: 1w, 2w (--workers 2), 2servers (two on one store)",
    )
    parser.add_argument(
        "--workloads",
        default="get,patch-uniform,patch-hot,rmw",
        help=f"loads, as bench.run names them: {', '.join(SCALE_WORKLOADS)}",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk load")
    parser.add_argument("--samples", type=int, default=1_000, help="requests per probe")
    parser.add_argument("--memory-seconds", type=int, default=60, help="0: skip")
    parser.add_argument("--keep", action="store_true", help="keep filled stores; reuse them")
    parser.add_argument(
        "--memory-only", action="store_true", help="only the RSS series, on the large store(s)"
    )
    parser.add_argument(
        "--fill-only",
        action="store_true",
        help="fill the large store(s), keep them, measure nothing",
    )
    parser.add_argument("--data-dir", default=str(Path(tempfile.gettempdir()) / "shipments-scale"))
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL)
    arguments = parser.parse_args(argv)
    shapes = parse_names(parser, arguments.shapes, tuple(SHAPES), "shape")
    workloads = parse_names(parser, arguments.workloads, SCALE_WORKLOADS, "workload")
    arguments.shapes = [SHAPES[name] for name in shapes]
    arguments.workloads = expand_workloads(workloads, 32, 2, HOT_SET, CONTENDED_SHIPMENTS)
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    for kind in arguments.stores.split(","):
        if kind == "postgres":
            if problem := postgres_problem(arguments.postgres_url):
                print(f"[postgres] skipped: {problem}")
                continue
            shipments, events = arguments.shipments, arguments.events
        else:
            shipments, events = arguments.sqlite_shipments, arguments.sqlite_events
        if arguments.fill_only or arguments.memory_only:
            arguments.keep = arguments.keep or arguments.fill_only
            with (
                filled_store(kind, shipments, events, arguments) as (url, ids_file),
                tempfile.TemporaryDirectory() as logs,
            ):
                if arguments.memory_only:
                    print_memory(
                        kind,
                        *memory_series(url, ids_file, arguments.memory_seconds, Path(logs)),
                        arguments.memory_seconds,
                    )
                else:
                    print(f"[{kind}] kept at {url}")
            continue
        small_events = max(
            arguments.small_shipments, events * arguments.small_shipments // shipments
        )
        small = measure(kind, arguments.small_shipments, small_events, arguments)
        large = measure(kind, shipments, events, arguments)
        sizes = (
            f"small: {arguments.small_shipments:,} shipments / {small_events:,} events; "
            f"large: {shipments:,} / {events:,}"
        )
        print_table(kind, small, large, sizes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
