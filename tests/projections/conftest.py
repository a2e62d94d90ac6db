"""Fixtures for the projection suites: services on a fresh store, and ways to write events.

Events are written two ways: through the service (the view row is updated in the
append transaction, as the API does) and *around* the view (a plain
``store.save``, as a writer that does not maintain the view would). The runner
must catch up with the second kind.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest

from api.wiring import Services, build_services
from domain.details import ShipmentDetails
from domain.shipment import Shipment
from domain.values import Address, ShipmentType, Status
from infrastructure.settings import Settings
from infrastructure.shipment_service import WriteContext
from tests.support.servers import REPO_ROOT
from tests.support.view_consistency import assert_view_matches_events

STATES = ("CA", "NY", "TX", "WA")
TYPES = tuple(ShipmentType)
BOUNDED_WAIT_SECONDS = 60.0


@pytest.fixture(autouse=True)
def view_matches_events_afterwards(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every test that wrote to a store: ``shipments verify`` must be clean.

    A test that leaves the view behind on purpose asks for ``view_left_behind``.
    """
    checked = "database_url" in request.fixturenames
    # Asked for now, so the store outlives this fixture's check.
    database_url = request.getfixturevalue("database_url") if checked else None
    yield
    if database_url is not None and "view_left_behind" not in request.fixturenames:
        assert_view_matches_events(database_url)


@pytest.fixture
def view_left_behind() -> None:
    """Marks a test that leaves the view unlike the events (lagging or corrupted) on purpose."""


@pytest.fixture
def runner_settings(settings: Settings) -> Settings:
    """Settings for runners started by the test itself (none in the app), quick to take over."""
    return settings.model_copy(
        update={"projection_runner": False, "projection_standby_retry_seconds": 0.1}
    )


@pytest.fixture
def services(runner_settings: Settings) -> Iterator[Services]:
    """The store's services, without an in-process runner."""
    built = build_services(runner_settings)
    try:
        yield built
    finally:
        built.close()


def details_for(number: int) -> ShipmentDetails:
    """Varied details: every type, a few states, some shipments without a delivery date."""
    pickup = date(2024, 1, 1) + timedelta(days=number % 40)
    return ShipmentDetails(
        shipment_type=TYPES[number % len(TYPES)],
        requested_pickup_date=pickup,
        delivery_date=None if number % 6 == 0 else pickup + timedelta(days=number % 9),
        destination_address=Address("1 Main Street", "Springfield", STATES[number % 4], "12345"),
        weight_lbs=100 + number,
    )


def create_through_service(services: Services, number: int) -> Shipment:
    """A shipment created as the API creates it (view row written with the event)."""
    return services.shipments.create(details_for(number), WriteContext("tester", None))


def create_around_view(services: Services, number: int, revisions: int = 1) -> Shipment:
    """A shipment created and revised by a writer that leaves the view alone."""
    shipment = Shipment(details_for(number), "other-writer", None)
    services.store.save(shipment)
    for revision in range(revisions):
        status = Status.SUBMITTED if revision == 0 else None
        shipment.revise(details_for(number + revision + 1), status, "other-writer", None)
        services.store.save(shipment)
    return shipment


def head(services: Services) -> int:
    return services.store.recorder.max_notification_id() or 0


def wait_until_caught_up(services: Services) -> None:
    """Block (bounded) until the view's tracked position reaches the head of the log."""
    view = services.view
    view.wait(view.tracking_name, head(services), timeout=BOUNDED_WAIT_SECONDS)


class ProcessOutput:
    """A child process's stdout, read line by line in a thread so waits can be bounded."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def wait_for(self, expected: str) -> str:
        """The first line (not read before) containing ``expected``; fails after the bound."""
        deadline = time.monotonic() + BOUNDED_WAIT_SECONDS
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {expected!r} within the bound; saw {self.seen}") from None
            if line is None:
                raise AssertionError(f"process ended before {expected!r}; saw {self.seen}")
            self.seen.append(line)
            if expected in line:
                return line

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)


@contextmanager
def python_process(
    arguments: list[str], database_url: str, log_dir: Path
) -> Iterator[ProcessOutput]:
    """A Python process in the repository on the store; killed (SIGKILL) if still running."""
    env = {**os.environ, "SHIPMENTS_DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
    with (log_dir / f"stderr-{time.monotonic_ns()}.log").open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, *arguments],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
        try:
            yield ProcessOutput(process)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=BOUNDED_WAIT_SECONDS)
