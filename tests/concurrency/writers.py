"""What each concurrent client does: race once with a shared tag, or increment a counter.

Module-level functions and plain dataclasses only: spawned client processes
import them and send their results back pickled.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from tests.concurrency.client_pool import BARRIER_TIMEOUT_SECONDS, StartBarrier
from tests.concurrency.shipment_client import Answer, ShipmentClient

MERGE = "conflict=merge"


@dataclass(frozen=True)
class RacingWrite:
    """One PATCH that every racer sends with the same ``If-Match``."""

    base_url: str
    shipment_id: str
    if_match: str
    remarks: str


def race_once(write: RacingWrite, start: StartBarrier) -> Answer:
    """Connect, wait for everyone, then PATCH once."""
    with ShipmentClient(write.base_url) as client:
        client.connect()
        start.wait(BARRIER_TIMEOUT_SECONDS)
        return client.patch(write.shipment_id, write.if_match, {"customerRemarks": write.remarks})


@dataclass(frozen=True)
class MergingWrite:
    """One PATCH of a field of its own, sent with a shared tag and ``Prefer: conflict=merge``."""

    base_url: str
    shipment_id: str
    if_match: str
    changes: dict[str, Any]


def merge_once(write: MergingWrite, start: StartBarrier) -> Answer:
    """Connect, wait for everyone, then PATCH once, preferring a merge."""
    with ShipmentClient(write.base_url) as client:
        client.connect()
        start.wait(BARRIER_TIMEOUT_SECONDS)
        return client.patch(write.shipment_id, write.if_match, write.changes, MERGE)


@dataclass(frozen=True)
class CounterIncrements:
    """A read-modify-write client: add 1 to ``weightLbs`` until it has succeeded N times.

    It reads through one endpoint and writes through the next one, rotating, so
    with two servers every write goes to a server other than the one it read from.
    """

    base_urls: tuple[str, ...]
    shipment_id: str
    increments: int
    first_endpoint: int = 0
    max_attempts: int = 5_000  # A bound, never reached: someone wins every round.
    field: str = "weightLbs"  # the counter: an integer field, or customerRemarks holding one
    prefer: str | None = None  # e.g. "conflict=merge"


@dataclass(frozen=True)
class IncrementReport:
    """How one client fared: its acknowledged increments, its 412s, anything unexpected."""

    successes: int
    conflicts: int
    surprises: tuple[str, ...]


def increment_counter(task: CounterIncrements, start: StartBarrier) -> IncrementReport:
    """GET, +1, PATCH with If-Match; on 412 read again and retry."""
    successes = conflicts = 0
    surprises: list[str] = []
    with ExitStack() as stack:
        clients = [stack.enter_context(ShipmentClient(url)) for url in task.base_urls]
        for client in clients:
            client.connect()
        start.wait(BARRIER_TIMEOUT_SECONDS)
        for attempt in range(task.max_attempts):
            if successes == task.increments or surprises:
                break
            turn = task.first_endpoint + attempt
            reader, writer = clients[turn % len(clients)], clients[(turn + 1) % len(clients)]
            read = reader.get(task.shipment_id)
            if read.status != 200 or read.etag is None:
                surprises.append(f"read: {read.describe()}")
                continue
            counter, version = _counter(read.body, task.field), read.body["version"]
            wrote = writer.patch(
                task.shipment_id, read.etag, _counted(task.field, counter + 1), task.prefer
            )
            if wrote.status == 412 and wrote.body.get("currentVersion", 0) > version:
                conflicts += 1
            elif (
                wrote.status == 200
                and _counter(wrote.body, task.field) == counter + 1
                # A merged write lands after the versions it was merged onto.
                and (
                    wrote.body["version"] > version
                    if task.prefer
                    else wrote.body["version"] == version + 1
                )
            ):
                successes += 1
            else:
                surprises.append(f"write after reading version {version}: {wrote.describe()}")
    return IncrementReport(successes, conflicts, tuple(surprises))


def _counter(document: dict[str, Any], field: str) -> int:
    return int(document[field] or 0)


def _counted(field: str, value: int) -> dict[str, Any]:
    return {field: value if field == "weightLbs" else str(value)}


@dataclass(frozen=True)
class WritesReadElsewhere:
    """Alternately PATCH on one endpoint and GET on the other, ``rounds`` times."""

    base_urls: tuple[str, str]
    shipment_id: str
    if_match: str
    rounds: int


@dataclass(frozen=True)
class VisibilityReport:
    """Every acknowledged write, and every time the other endpoint did not show it."""

    acknowledged: int
    violations: tuple[str, ...]


def write_then_read_elsewhere(task: WritesReadElsewhere, start: StartBarrier) -> VisibilityReport:
    """A write's 200 promises that any later GET, on any server, shows it."""
    acknowledged = 0
    violations: list[str] = []
    if_match = task.if_match
    with ShipmentClient(task.base_urls[0]) as first, ShipmentClient(task.base_urls[1]) as second:
        first.connect()
        second.connect()
        start.wait(BARRIER_TIMEOUT_SECONDS)
        for turn in range(task.rounds):
            writer, reader = (first, second) if turn % 2 == 0 else (second, first)
            remarks = f"round {turn}"
            wrote = writer.patch(task.shipment_id, if_match, {"customerRemarks": remarks})
            if wrote.status != 200 or wrote.etag is None:
                violations.append(f"round {turn} write: {wrote.describe()}")
                break
            acknowledged += 1
            if_match = wrote.etag
            read = reader.get(task.shipment_id)
            if (
                read.status != 200
                or read.body["version"] < wrote.body["version"]
                or read.body["customerRemarks"] != remarks
            ):
                violations.append(
                    f"round {turn}: wrote version {wrote.body['version']} on {writer.base_url}, "
                    f"then read {read.describe()}"
                )
    return VisibilityReport(acknowledged, tuple(violations))


@dataclass(frozen=True)
class StarWrites:
    """A client that PATCHes with ``If-Match: *``, each time a change no one else makes."""

    base_urls: tuple[str, ...]
    shipment_ids: tuple[str, ...]
    client_name: str
    writes: int


@dataclass(frozen=True)
class StarReport:
    """Every answer a ``*`` client got, by shipment: status and the version it reported."""

    answers: tuple[tuple[str, int, int | None], ...]


def write_with_star(task: StarWrites, start: StartBarrier) -> StarReport:
    """PATCH round the shipments and endpoints with ``If-Match: *``; record each answer."""
    answers: list[tuple[str, int, int | None]] = []
    with ExitStack() as stack:
        clients = [stack.enter_context(ShipmentClient(url)) for url in task.base_urls]
        for client in clients:
            client.connect()
        start.wait(BARRIER_TIMEOUT_SECONDS)
        for number in range(task.writes):
            shipment_id = task.shipment_ids[number % len(task.shipment_ids)]
            client = clients[number % len(clients)]
            remarks = f"{task.client_name} write {number}"
            wrote = client.patch(shipment_id, "*", {"customerRemarks": remarks})
            answers.append((shipment_id, wrote.status, wrote.body.get("version")))
    return StarReport(tuple(answers))
