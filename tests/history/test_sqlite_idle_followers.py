"""On an SQLite file, a follower of the log reads nothing while nothing is committed.

SQLite sends no signal across processes, so a follower looks every 20 ms. It
used to read the log each time: a server with open SSE streams, a deliverer,
the projection runner, each read the events table 5 to 50 times a second while
idle. Now each look asks SQLite whether another connection committed
(``PRAGMA data_version``), and the log is read only then. A commit made through
another store on the same file (another process, as far as this one can tell:
nothing in this process wakes the follower) still reaches it within a look.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from api.wiring import Services, build_services
from domain.details import ShipmentDetails
from domain.values import ShipmentType
from infrastructure.recorders import SQLiteShipmentRecorder
from infrastructure.settings import Settings
from infrastructure.shipment_service import WriteContext
from infrastructure.sqlite_subscription import LookPace
from tests.delivery.receivers import eventually

# Fifteen looks of the follower (every 20 ms): each used to read the log.
IDLE_SECONDS = 0.3


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite")])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Only SQLite polls: PostgreSQL followers are woken by LISTEN/NOTIFY."""
    kind: str = request.param
    return kind


@pytest.fixture
def two_stores(database_url: str) -> Iterator[tuple[Services, Services]]:
    """Two stores on one file, as two processes would have: nothing wakes one from the other."""
    settings = Settings(database_url=database_url, projection_runner=False)
    ours, theirs = build_services(settings), build_services(settings)
    try:
        yield ours, theirs
    finally:
        theirs.close()
        ours.close()


def test_an_idle_follower_reads_no_log_and_a_commit_elsewhere_reaches_it(
    two_stores: tuple[Services, Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    ours, theirs = two_stores
    recorder = ours.store.recorder
    assert isinstance(recorder, SQLiteShipmentRecorder)
    reads: list[int] = []
    read = recorder.select_notifications

    def counted_read(*args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        return read(*args, **kwargs)

    monkeypatch.setattr(recorder, "select_notifications", counted_read)
    seen: list[int] = []
    subscription = recorder.subscribe(gt=0, min_pull_interval_seconds=0.0)

    def follow() -> None:
        with subscription:
            for notification in subscription:
                seen.append(notification.id)

    follower = threading.Thread(target=follow)
    follower.start()
    try:
        eventually(lambda: len(reads) >= 1, what="the follower's first read")
        time.sleep(IDLE_SECONDS)  # nothing is committed meanwhile
        after_first = len(reads)
        time.sleep(IDLE_SECONDS)
        assert len(reads) == after_first, "the follower read the log while nothing was committed"

        theirs.shipments.create(
            ShipmentDetails(shipment_type=ShipmentType.HHG), WriteContext("elsewhere", None)
        )
        eventually(lambda: seen == [1], what="the commit made elsewhere reached the follower")
    finally:
        subscription.stop()
        follower.join(timeout=10)


def test_looks_come_faster_while_commits_keep_coming_and_slow_down_at_rest() -> None:
    pace = LookPace(idle_seconds=0.02, busy_seconds=0.005, busy_for_seconds=1.0)
    assert pace.wait(now=100.0) == 0.02
    pace.looked(False, now=100.0)
    assert pace.wait(now=100.02) == 0.02

    pace.looked(True, now=100.02)
    assert pace.wait(now=100.03) == 0.005
    pace.looked(False, now=100.5)  # a look that found nothing keeps the pace a while
    assert pace.wait(now=101.0) == 0.005
    assert pace.wait(now=101.03) == 0.02
