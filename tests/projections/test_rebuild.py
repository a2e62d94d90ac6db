"""Rebuilding a view from zero while the service keeps reading and writing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

import pytest

from api.cli import main
from api.wiring import Services
from infrastructure.settings import Settings
from projections.lag import projection_status
from projections.leadership import leadership_for
from projections.rebuild import RebuildInProgress, rebuild_view
from projections.runner import runner_for
from projections.shipment_list import ListQuery
from tests.projections.conftest import (
    BOUNDED_WAIT_SECONDS,
    create_around_view,
    create_through_service,
    head,
    wait_until_caught_up,
)
from tests.support.view_consistency import assert_view_caught_up, assert_view_matches_events


def delete_view_row(services: Services, shipment_id: UUID) -> None:
    """Damage the view the way a bad deploy or a manual fix could."""
    view = services.view
    with view.datastore.transaction(commit=True) as cursor:  # type: ignore[attr-defined]
        if services.store.dialect == "postgres":
            table = f'"{view.datastore.schema}".{view.table}'  # type: ignore[attr-defined]
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", (shipment_id,))
        else:
            cursor.execute(f"DELETE FROM {view.table} WHERE id = ?", (shipment_id.hex,))


def test_rebuild_from_zero_restores_a_damaged_view(services: Services, database_url: str) -> None:
    created = [create_through_service(services, number) for number in range(10)]
    around = [create_around_view(services, 100 + number) for number in range(5)]
    delete_view_row(services, created[0].id)

    phases: list[str] = []
    result = rebuild_view(services.store, services.view, progress=lambda p, d, t: phases.append(p))

    assert result.position == head(services)
    assert result.events == head(services)
    assert {"replaying", "indexing", "swapping"} <= set(phases)
    for shipment in created + around:
        found = services.view.get(shipment.id)
        assert found is not None and found[0] == shipment.version
    assert_view_matches_events(database_url)
    assert_view_caught_up(database_url)


@contextmanager
def keep_writing_and_reading(
    services: Services, known: list[UUID]
) -> Iterator[tuple[list[int], list[str]]]:
    """Writers (through the service and around the view) and a reader, until the block ends.

    Yields (writes done, problems seen): a problem is a GET that found nothing
    or a list that came back empty.
    """
    stop = threading.Event()
    writes: list[int] = [0]
    problems: list[str] = []
    started = threading.Event()

    def write() -> None:
        number = 1000
        while not stop.is_set():
            create_through_service(services, number)
            create_around_view(services, number + 1)
            number += 2
            writes[0] += 2
            started.set()

    def read() -> None:
        while not stop.is_set():
            for shipment_id in known:
                if services.view.get(shipment_id) is None:
                    problems.append(f"GET {shipment_id} found nothing")
            if not services.view.list_page(ListQuery(limit=5)).documents:
                problems.append("the list was empty")

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    try:
        assert started.wait(60), "the writer did not start"
        yield writes, problems
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)


@pytest.mark.parametrize("workers", [1, 2], ids=["one-process", "two-processes"])
def test_rebuild_while_writes_continue_ends_consistent_and_reads_never_miss(
    services: Services, runner_settings: Settings, database_url: str, workers: int
) -> None:
    known = [create_through_service(services, number).id for number in range(30)]
    runner = runner_for(services.store, services.view, runner_settings).start()
    try:
        with keep_writing_and_reading(services, known) as (writes, problems):

            def let_writes_happen_mid_rebuild(phase: str, done: int, total: int) -> None:
                # After the bulk replay, before the catch-up and swap: wait (bounded)
                # until more shipments were written, so the swap has news to catch up.
                if phase == "indexing" and done == 0:
                    target = writes[0] + 4
                    deadline = time.monotonic() + BOUNDED_WAIT_SECONDS
                    while writes[0] < target and time.monotonic() < deadline:
                        time.sleep(0.01)
                    assert writes[0] >= target, "the writer stalled"

            result = rebuild_view(
                services.store,
                services.view,
                workers=workers,
                batch_size=50,
                state_cache_size=2,  # most states must be read back, also under the lock
                progress=let_writes_happen_mid_rebuild,
            )
        wait_until_caught_up(services)
    finally:
        runner.stop()
    assert problems == []
    assert result.position <= head(services)
    assert_view_matches_events(database_url)
    assert projection_status(services.store, services.view).lag_events == 0


def view_table_rows(services: Services) -> list[dict[str, object]]:
    """Every row of the live view table, in id order."""
    view = services.view
    with view.datastore.transaction(commit=False) as cursor:  # type: ignore[attr-defined]
        if services.store.dialect == "postgres":
            table = f'"{view.datastore.schema}".{view.table}'  # type: ignore[attr-defined]
        else:
            table = view.table
        cursor.execute(f"SELECT * FROM {table} ORDER BY id")
        return [dict(row) for row in cursor.fetchall()]


def test_a_rebuild_in_several_processes_writes_the_rows_of_a_rebuild_in_one(
    services: Services, database_url: str
) -> None:
    for number in range(40):
        create_through_service(services, number)
        create_around_view(services, 100 + number, revisions=number % 4)

    single = rebuild_view(services.store, services.view, workers=1)
    rows_from_one_process = view_table_rows(services)
    parallel = rebuild_view(services.store, services.view, workers=3)

    assert parallel.events == single.events == head(services)
    assert parallel.position == single.position == head(services)
    assert len(rows_from_one_process) == 80
    assert view_table_rows(services) == rows_from_one_process
    assert_view_matches_events(database_url)


def test_a_second_rebuild_of_the_same_view_is_refused_while_one_runs(
    services: Services,
) -> None:
    running = leadership_for(services.store, services.view.tracking_name + "_rebuild")
    assert running.try_acquire()
    try:
        with pytest.raises(RebuildInProgress):
            rebuild_view(services.store, services.view)
    finally:
        running.close()


def test_the_rebuild_command_rebuilds_and_verify_then_passes(
    services: Services,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for number in range(5):
        create_around_view(services, number)
    monkeypatch.setenv("SHIPMENTS_DATABASE_URL", database_url)

    assert main(["verify"]) == 1
    assert main(["projections", "rebuild", "--view", "shipment_view"]) == 0
    assert "rebuilt from 10 event(s)" in capsys.readouterr().err
    assert main(["verify"]) == 0
    assert main(["projections", "rebuild"]) == 0  # a second time, over a rebuilt table
    assert main(["verify"]) == 0
    assert main(["projections", "rebuild", "--workers", "2"]) == 0
    assert "rebuilt from 10 event(s)" in capsys.readouterr().err
    assert main(["verify", "--workers", "2"]) == 0
