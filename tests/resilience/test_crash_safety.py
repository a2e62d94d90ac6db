"""Nothing acknowledged is ever lost: the server is SIGKILLed mid-load, again and again.

Real ``shipments serve`` processes take concurrent writes; the whole process
group is killed with SIGKILL several times while requests are in flight and
restarted on the same store. Afterwards, read from the store itself: every
write answered 2xx is in its stream at the version it was answered with, with
exactly the body it was answered with; every write left without an answer is
either absent or complete; no stream has a version nobody asked for; retried
creates made one stream each; and ``shipments verify`` finds the view equal
to a replay of the events.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from api.wiring import Services, build_services
from infrastructure.errors import ShipmentNotFound
from infrastructure.settings import Settings
from projections.shipment_document import shipment_document
from tests.resilience.load_writers import InDoubt, Ledger, ServerAddress, Writer
from tests.support.servers import REPO_ROOT, running_server, shipments_command

KILLS = 3
WRITERS = 4
ACKNOWLEDGED_PER_ROUND = 60
ROUND_DEADLINE_SECONDS = 90.0


@pytest.mark.slow
def test_every_acknowledged_write_survives_repeated_sigkills_of_the_server(
    store_kind: str, database_url: str, tmp_path: Path
) -> None:
    ledger = Ledger()
    kills = drive_load_through_kills(store_kind, database_url, tmp_path, ledger)

    services = build_services(Settings(database_url=database_url))
    try:
        lost = [a for a in ledger.acknowledged if not stored_as_answered(services, a)]
        outcomes = Counter(in_doubt_outcome(services, write) for write in ledger.in_doubt)
        unexplained = versions_nobody_asked_for(services, ledger)
        streams = stream_count(services)
    finally:
        services.close()
    creates = sum(1 for a in ledger.acknowledged if a.version == 1)
    print(
        f"\n{store_kind}: kills survived {kills}, acknowledged writes checked "
        f"{len(ledger.acknowledged)}, lost {len(lost)}, unanswered writes "
        f"{len(ledger.in_doubt)} ({dict(outcomes)}), streams {streams}"
    )
    assert kills == KILLS
    assert lost == []
    assert set(outcomes) <= {"absent", "complete"}
    assert unexplained == []
    assert streams == creates, "a retried create must make exactly one stream"
    verify = subprocess.run(
        [*shipments_command(), "verify"],
        env={**os.environ, "SHIPMENTS_DATABASE_URL": database_url},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def drive_load_through_kills(
    store_kind: str, database_url: str, log_dir: Path, ledger: Ledger
) -> int:
    """Run writers against a server that is SIGKILLed ``KILLS`` times; the kills done."""
    address, stop = ServerAddress(), threading.Event()
    writers = [Writer(number, address, ledger, stop) for number in range(WRITERS)]
    workers = 2 if store_kind == "postgres" else 1
    kills = 0
    try:
        for round_number in range(KILLS + 1):
            with running_server(database_url, log_dir, workers=workers) as server:
                address.set(server.base_url)
                if round_number == 0:
                    for writer in writers:
                        writer.start()
                wait_for_acknowledged(ledger, writers, (round_number + 1) * ACKNOWLEDGED_PER_ROUND)
                if round_number < KILLS:
                    os.killpg(server.process.pid, signal.SIGKILL)  # mid-load, no warning
                    server.process.wait()
                    address.set(None)
                    kills += 1
                else:
                    stop.set()
                    for writer in writers:
                        writer.join(timeout=30)
    finally:
        stop.set()
    failures = [writer.failure for writer in writers if writer.failure is not None]
    assert failures == [], failures
    return kills


def wait_for_acknowledged(ledger: Ledger, writers: list[Writer], target: int) -> None:
    """Until ``target`` writes are acknowledged in all (bounded; a stuck load fails)."""
    deadline = time.monotonic() + ROUND_DEADLINE_SECONDS
    while ledger.acknowledged_count() < target:
        failed = [writer.failure for writer in writers if writer.failure is not None]
        assert not failed, failed
        assert time.monotonic() < deadline, f"only {ledger.acknowledged_count()} acknowledged"
        time.sleep(0.02)


def stored_as_answered(services: Services, acknowledged: Any) -> bool:
    """Whether the stream, at the answered version, renders exactly the answered body."""
    try:
        stored = services.shipments.load_version(
            UUID(acknowledged.shipment_id), acknowledged.version
        )
    except ShipmentNotFound:
        return False
    return shipment_document(stored) == acknowledged.body


def in_doubt_outcome(services: Services, write: InDoubt) -> str:
    """ "complete" if the patch is in the stream in full, "absent" if nowhere, else "partial"."""
    for document in stream_documents(services, write.shipment_id):
        if document["customerRemarks"] == write.patch["customerRemarks"]:
            complete = document["weightLbs"] == write.patch["weightLbs"]
            at_expected = document["version"] == write.expected_version
            return "complete" if complete and at_expected else "partial"
    return "absent"


def versions_nobody_asked_for(services: Services, ledger: Ledger) -> list[tuple[str, int]]:
    """Versions after creation whose content matches no write any writer sent."""
    asked = {a.body["customerRemarks"] for a in ledger.acknowledged if a.version > 1}
    asked |= {write.patch["customerRemarks"] for write in ledger.in_doubt}
    created = {a.shipment_id for a in ledger.acknowledged if a.version == 1}
    return [
        (shipment_id, document["version"])
        for shipment_id in created
        for document in stream_documents(services, shipment_id)
        if document["version"] > 1 and document["customerRemarks"] not in asked
    ]


def stream_documents(services: Services, shipment_id: str) -> list[dict[str, Any]]:
    """The shipment's representation at each version of its stream, oldest first."""
    current = services.shipments.load(UUID(shipment_id)).version
    return [
        shipment_document(services.shipments.load_version(UUID(shipment_id), version))
        for version in range(1, current + 1)
    ]


def stream_count(services: Services) -> int:
    """How many shipment streams the event log holds."""
    notifications = services.store.recorder.select_notifications(start=1, limit=1_000_000)
    return len({notification.originator_id for notification in notifications})
