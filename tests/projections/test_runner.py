"""The projection runner: catches up, follows live, one active at a time, survives crashes."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import Tracking

from api.wiring import Services
from infrastructure.settings import Settings
from projections.lag import projection_status
from projections.leadership import leadership_for
from projections.runner import ViewRunner, runner_for
from projections.shipment_view_projection import ShipmentViewProjection
from tests.projections.conftest import (
    BOUNDED_WAIT_SECONDS,
    create_around_view,
    create_through_service,
    head,
    python_process,
    wait_until_caught_up,
)
from tests.support.view_consistency import assert_view_matches_events


def first_to_become_active(*runners: ViewRunner) -> ViewRunner:
    """The runner that took the lock (bounded wait)."""
    deadline = time.monotonic() + BOUNDED_WAIT_SECONDS
    while time.monotonic() < deadline:
        for runner in runners:
            if runner.is_active:
                return runner
        time.sleep(0.01)
    raise AssertionError("no runner became active")


def test_runner_catches_up_with_events_written_around_the_view(
    services: Services, runner_settings: Settings, database_url: str
) -> None:
    for number in range(5):
        create_through_service(services, number)
    written_around = [create_around_view(services, 100 + number) for number in range(5)]
    assert all(services.view.get(shipment.id) is None for shipment in written_around)

    runner = runner_for(services.store, services.view, runner_settings).start()
    try:
        wait_until_caught_up(services)
    finally:
        runner.stop()

    for shipment in written_around:
        found = services.view.get(shipment.id)
        assert found is not None and found[0] == shipment.version
    assert projection_status(services.store, services.view).lag_events == 0
    assert_view_matches_events(database_url)


def test_runner_follows_new_events_live(
    services: Services, runner_settings: Settings, database_url: str
) -> None:
    runner = runner_for(services.store, services.view, runner_settings).start()
    try:
        assert runner.wait_until_active(BOUNDED_WAIT_SECONDS)
        for number in range(3):
            create_around_view(services, number, revisions=2)
            create_through_service(services, 50 + number)
            wait_until_caught_up(services)
    finally:
        runner.stop()
    assert_view_matches_events(database_url)


def test_of_two_runners_for_a_view_exactly_one_is_active_and_the_other_takes_over(
    services: Services, runner_settings: Settings, database_url: str
) -> None:
    first = runner_for(services.store, services.view, runner_settings).start()
    second = runner_for(services.store, services.view, runner_settings).start()
    try:
        active = first_to_become_active(first, second)
        standby = second if active is first else first
        assert not standby.is_active
        probe = leadership_for(services.store, services.view.tracking_name)
        assert not probe.try_acquire(), "the view's lock must be held by the active runner"
        probe.close()

        create_around_view(services, 1)
        wait_until_caught_up(services)
        assert not standby.is_active

        active.stop()
        assert standby.wait_until_active(BOUNDED_WAIT_SECONDS)
        create_around_view(services, 2)
        wait_until_caught_up(services)
    finally:
        first.stop()
        second.stop()
    assert_view_matches_events(database_url)


def test_standby_takes_over_when_the_active_runner_process_is_killed(
    services: Services, runner_settings: Settings, database_url: str, tmp_path: Path
) -> None:
    with python_process(["-m", "api.cli", "projections", "run"], database_url, tmp_path) as other:
        other.wait_for("running shipment_view")
        standby = runner_for(services.store, services.view, runner_settings).start()
        try:
            create_around_view(services, 1)
            wait_until_caught_up(services)  # done by the other process
            assert not standby.is_active

            os.killpg(other.process.pid, signal.SIGKILL)
            other.process.wait(timeout=BOUNDED_WAIT_SECONDS)
            assert standby.wait_until_active(BOUNDED_WAIT_SECONDS)
            create_around_view(services, 2)
            wait_until_caught_up(services)
        finally:
            standby.stop()
    assert_view_matches_events(database_url)


def test_a_runner_killed_mid_batch_resumes_without_losing_or_repeating_an_event(
    services: Services,
    runner_settings: Settings,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for number in range(20):
        create_around_view(services, number, revisions=2)  # 60 events, none in the view
    arguments = ["-m", "tests.projections.stalling_runner", "3", "10"]
    with python_process(arguments, database_url, tmp_path) as crashing:
        crashing.wait_for("committed")
        committed_line = crashing.wait_for("committed")
        crashing.wait_for("mid-batch")
        os.killpg(crashing.process.pid, signal.SIGKILL)
        crashing.process.wait(timeout=BOUNDED_WAIT_SECONDS)
    committed = int(committed_line.split()[1])

    # The half-written batch left nothing: the position is the last committed batch's.
    assert projection_status(services.store, services.view).position == committed

    applied: list[int] = []
    process_event = ShipmentViewProjection.process_event

    def counted(projection: ShipmentViewProjection, event: Any, tracking: Tracking) -> None:
        applied.append(tracking.notification_id)
        process_event(projection, event, tracking)

    monkeypatch.setattr(ShipmentViewProjection, "process_event", counted)
    resumed = runner_for(services.store, services.view, runner_settings).start()
    try:
        wait_until_caught_up(services)
    finally:
        resumed.stop()
    # Every event after the committed position was applied once, and none before it.
    assert len(applied) == len(set(applied)) == head(services) - committed
    assert min(applied) > committed
    assert_view_matches_events(database_url)
