"""``shipments projections status|rebuild|run``: inspect, rebuild and run the views."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import PersistenceError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from api.cli.store_opening import StoreNotOpened, open_settings
from api.wiring import Services, build_services
from infrastructure.database_url import UnsupportedDatabaseUrl
from projections.lag import projection_status
from projections.rebuild import RebuildInProgress, RebuildResult, rebuild_view
from projections.runner import runner_for
from projections.shipment_view import VIEW_TABLE, ShipmentView
from projections.stream_partitions import default_workers

VIEW_NAMES = (VIEW_TABLE,)


def register(commands: Any) -> None:
    """Add the ``projections`` sub-command and its own sub-commands."""
    projections = commands.add_parser(
        "projections",
        help="inspect, rebuild and run the read models (views)",
        description="The views (read models) are projections of the event log: the list "
        "and every GET read from them. See how far behind they are, rebuild them from the "
        "first event, or run their projection runner on its own.",
    )
    actions = projections.add_subparsers(dest="action", required=True)
    status = actions.add_parser(
        "status",
        help="each view's position, the store's head, and the lag between them",
        description="For each view: the last event position it has applied, the newest "
        "position in the event log (head), and how far behind it is, in events and in "
        "seconds of the oldest event it has not applied yet.",
    )
    status.set_defaults(run=run_status)
    rebuild = actions.add_parser(
        "rebuild",
        help="rebuild views from the first event while the service keeps serving",
        description="Replays the whole event log into a new table, catches up with the "
        "writes made meanwhile, then swaps it in atomically. The API serves the old view "
        "until then.",
    )
    rebuild.add_argument("--view", choices=VIEW_NAMES, help="only this view (default: all)")
    rebuild.add_argument(
        "--workers",
        type=positive_int,
        default=default_workers(),
        help="OS processes replaying the log, each a share of the streams (default: the "
        "CPU count, %(default)s here)",
    )
    rebuild.set_defaults(run=run_rebuild)
    follow = actions.add_parser(
        "run",
        help="run the views' projection runner in the foreground (until SIGINT/SIGTERM)",
        description="For deployments that run servers with SHIPMENTS_PROJECTION_RUNNER=false. "
        "If another process runs a view, this one stands by and takes over when it stops.",
    )
    follow.set_defaults(run=run_runner)


def positive_int(text: str) -> int:
    """An argument that must be a whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def run_status(arguments: argparse.Namespace) -> int:
    """Print a table of the views' positions and lag; 2 if the store is unreachable."""
    with _services() as services:
        table = Table("view", "position", "head", "lag (events)", "lag (seconds)")
        for view in _views(services, None):
            status = projection_status(services.store, view)
            table.add_row(
                status.view,
                str(status.position),
                str(status.head),
                str(status.lag_events),
                f"{status.lag_seconds:.3f}",
            )
        Console().print(table)
    return 0


def run_rebuild(arguments: argparse.Namespace) -> int:
    """Rebuild with a progress bar; 1 if another rebuild of the view is running."""
    console = Console(stderr=True)
    with _services() as services:
        for view in _views(services, arguments.view):
            started = time.perf_counter()
            try:
                result = _rebuild_showing_progress(services, view, console, arguments.workers)
            except RebuildInProgress as error:
                console.print(f"shipments: {error}")
                return 1
            elapsed = time.perf_counter() - started
            console.print(
                f"{result.view}: rebuilt from {result.events} event(s), "
                f"live from position {result.position}, in {elapsed:.1f} s "
                f"({result.events / max(elapsed, 1e-9):,.0f} events/s, "
                f"{arguments.workers} process(es))"
            )
    return 0


def _rebuild_showing_progress(
    services: Services, view: ShipmentView, console: Console, workers: int
) -> RebuildResult:
    """One rebuild, with a bar per phase (replaying, indexing, catching up, swapping)."""
    with Progress(
        TextColumn(f"{view.tracking_name} " + "{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=total)
            progress.update(tasks[phase], completed=done, total=total)

        return rebuild_view(
            services.store,
            view,
            workers=workers,
            state_cache_size=services.settings.projection_state_cache_size,
            progress=report,
        )


def run_runner(arguments: argparse.Namespace) -> int:
    """Run (or stand by for) every view until asked to stop; says when each starts running."""
    stop = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stop.set())
    with _services() as services:
        settings = services.settings
        runners = [
            runner_for(services.store, view, settings).start() for view in _views(services, None)
        ]
        running: dict[str, bool] = {}
        try:
            while True:
                for runner in runners:
                    if running.get(runner.name) != runner.is_active:
                        running[runner.name] = runner.is_active
                        state = "running" if runner.is_active else "standing by for"
                        print(f"shipments: {state} {runner.name}", flush=True)
                if stop.wait(0.2):
                    break
        finally:
            for runner in runners:
                runner.stop()
    return 0


def _views(services: Services, name: str | None) -> list[ShipmentView]:
    views = {services.view.tracking_name: services.view}
    return [view for view_name, view in views.items() if name in (None, view_name)]


@contextmanager
def _services() -> Iterator[Services]:
    """The store named by SHIPMENTS_DATABASE_URL (never created here); exits with 2 when
    it cannot be used."""
    try:
        services = build_services(open_settings(create=False))
    except StoreNotOpened as error:
        print(f"shipments: {error}", file=sys.stderr)
        raise SystemExit(2) from error
    except (UnsupportedDatabaseUrl, PersistenceError) as error:
        print(f"shipments: cannot open the store: {error}", file=sys.stderr)
        raise SystemExit(2) from error
    try:
        yield services
    finally:
        services.close()
