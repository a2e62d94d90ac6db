"""The write use case's rules, below HTTP: a command in, a result out.

Each test runs against the in-memory store (milliseconds: ``make check``) and,
in the whole suite, against SQLite and PostgreSQL, so the fake answers as the
real stores do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar
from uuid import UUID, uuid4

import pytest

from application.ports import ShipmentStreams
from application.shipment_input import InvalidInput
from application.shipment_writes import ShipmentWrites
from application.write_commands import (
    Author,
    Body,
    BodyRefusal,
    Condition,
    CreateShipment,
    Invalid,
    NotFound,
    PreconditionMissing,
    RefusedByRule,
    Replayed,
    ReviseShipment,
    Stale,
    Unchanged,
    WriteResult,
    Written,
)
from domain.errors import IllegalTransition
from domain.values import Status
from infrastructure.errors import IdempotencyKeyReused
from tests.support.in_memory_shipments import InMemoryShipments

T = TypeVar("T")
ALICE = Author("alice", "req-1")
NEW: dict[str, Any] = {
    "shipmentType": "UHAUL",
    "requestedPickupDate": "2020-05-28",
    "deliveryDate": "2020-06-01",
}


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def at(*versions: int) -> Condition:
    """An If-Match naming these versions of the shipment."""
    return Condition(versions=frozenset(versions))


def created(writes: ShipmentWrites, body: dict[str, Any] | None = None) -> UUID:
    result = run(writes.create(CreateShipment(body or NEW, ALICE)))
    assert isinstance(result, Written)
    return result.shipment.id


def patch(
    writes: ShipmentWrites,
    shipment_id: UUID,
    body: Body,
    expected: Condition | None,
    **options: Any,
) -> WriteResult:
    author = options.pop("author", ALICE)
    command = ReviseShipment(shipment_id, "patch", body, author, expected, **options)
    return run(writes.revise(command))


@pytest.fixture
def writes(streams: ShipmentStreams) -> ShipmentWrites:
    return ShipmentWrites(streams)


def test_a_create_is_written_at_version_1_by_its_author(writes: ShipmentWrites) -> None:
    result = run(writes.create(CreateShipment(NEW, Author("alice", "req-7"))))

    assert isinstance(result, Written)
    assert result.created and not result.merged
    assert result.shipment.version == 1
    assert result.shipment.status is Status.DRAFT


def test_a_create_that_sets_the_status_is_invalid_and_writes_nothing(
    writes: ShipmentWrites,
) -> None:
    result = run(writes.create(CreateShipment({**NEW, "status": "APPROVED"}, ALICE)))

    assert isinstance(result, Invalid)
    assert isinstance(result.error, InvalidInput)
    assert [error["field"] for error in result.error.errors] == ["status"]


def test_a_body_that_could_not_be_read_is_answered_with_its_own_refusal(
    writes: ShipmentWrites,
) -> None:
    unreadable = ValueError("not JSON")

    result = run(writes.create(CreateShipment(BodyRefusal(unreadable), ALICE)))

    assert result == Invalid(unreadable)


def test_a_patch_at_the_current_version_appends_one_event(writes: ShipmentWrites) -> None:
    shipment_id = created(writes)

    result = patch(writes, shipment_id, {"weightLbs": 3100}, at(1))

    assert isinstance(result, Written)
    assert result.shipment.version == 2
    assert result.shipment.details.weight_lbs == 3100
    assert not result.created and not result.merged


def test_a_patch_that_changes_nothing_is_unchanged(writes: ShipmentWrites) -> None:
    shipment_id = created(writes)

    result = patch(writes, shipment_id, {"shipmentType": "UHAUL"}, at(1))

    assert isinstance(result, Unchanged)
    assert result.shipment.version == 1


def test_a_revision_that_names_no_version_is_missing_its_precondition(
    writes: ShipmentWrites,
) -> None:
    shipment_id = created(writes)

    assert patch(writes, shipment_id, {"weightLbs": 1}, None) == PreconditionMissing(shipment_id, 1)


def test_a_revision_of_no_shipment_is_not_found(writes: ShipmentWrites) -> None:
    missing = uuid4()

    assert patch(writes, missing, {"weightLbs": 1}, Condition(any_version=True)) == NotFound(
        missing
    )


def test_a_stale_patch_is_told_what_changed_since_the_version_it_names(
    writes: ShipmentWrites,
) -> None:
    shipment_id = created(writes)
    patch(writes, shipment_id, {"weightLbs": 10}, at(1))
    patch(writes, shipment_id, {"customerRemarks": "theirs"}, at(2))

    result = patch(writes, shipment_id, {"weightLbs": 20}, at(1))

    assert isinstance(result, Stale)
    assert (result.reason, result.current_version) == ("changed", 3)
    assert result.changes is not None and result.changes.complete
    assert [item["version"] for item in result.changes.items] == [2, 3]
    assert result.changes.items[0]["changes"]["weightLbs"] == {"from": None, "to": 10}


def test_a_stale_patch_with_an_invalid_body_is_stale_first(writes: ShipmentWrites) -> None:
    shipment_id = created(writes)
    patch(writes, shipment_id, {"weightLbs": 10}, at(1))

    result = patch(writes, shipment_id, {"weightLbs": -5}, at(1))

    assert isinstance(result, Stale)


def test_a_tag_naming_no_version_of_the_shipment_is_stale_without_changes(
    writes: ShipmentWrites,
) -> None:
    shipment_id = created(writes)

    result = patch(writes, shipment_id, {"weightLbs": 20}, Condition())

    assert result == Stale(shipment_id, 1, "foreign")


def test_if_none_match_naming_the_current_version_refuses_the_replace(
    writes: ShipmentWrites,
) -> None:
    shipment_id = created(writes)
    command = ReviseShipment(
        shipment_id, "replace", NEW, ALICE, Condition(any_version=True), Condition(any_version=True)
    )

    assert run(writes.revise(command)) == Stale(shipment_id, 1, "exists")


def test_an_invalid_field_is_invalid_and_names_the_field(writes: ShipmentWrites) -> None:
    shipment_id = created(writes)

    result = patch(writes, shipment_id, {"weightLbs": -5}, at(1))

    assert isinstance(result, Invalid) and isinstance(result.error, InvalidInput)
    assert [error["field"] for error in result.error.errors] == ["weightLbs"]


def test_a_move_the_status_machine_forbids_is_refused_by_the_rule(
    writes: ShipmentWrites,
) -> None:
    shipment_id = created(writes)

    result = patch(writes, shipment_id, {"status": "DELIVERED"}, at(1))

    assert isinstance(result, RefusedByRule)
    assert isinstance(result.error, IllegalTransition)


def test_a_retry_with_the_same_key_is_replayed_and_another_request_with_it_is_invalid(
    writes: ShipmentWrites,
) -> None:
    shipment_id = created(writes)
    keyed = Author("alice", "req-2", idempotency_key="k-1", fingerprint="body-a")

    first = patch(writes, shipment_id, {"weightLbs": 7}, at(1), author=keyed)
    again = patch(writes, shipment_id, {"weightLbs": 7}, at(1), author=keyed)
    other = Author("alice", "req-3", idempotency_key="k-1", fingerprint="body-b")
    reused = patch(writes, shipment_id, {"weightLbs": 8}, at(2), author=other)

    assert isinstance(first, Written) and isinstance(again, Replayed)
    assert again.shipment.version == first.shipment.version == 2
    assert not again.created and not again.merged
    assert isinstance(reused, Invalid) and isinstance(reused.error, IdempotencyKeyReused)


def test_a_stale_patch_that_prefers_a_merge_is_merged_when_its_fields_are_untouched(
    writes: ShipmentWrites,
) -> None:
    shipment_id = created(writes)
    patch(writes, shipment_id, {"customerRemarks": "theirs"}, at(1))

    result = patch(writes, shipment_id, {"weightLbs": 20}, at(1), merge=True)

    assert isinstance(result, Written) and result.merged
    assert result.shipment.version == 3
    assert result.shipment.details.customer_remarks == "theirs"
    assert result.shipment.details.weight_lbs == 20


def test_a_merge_of_a_field_changed_since_is_stale_naming_the_field(
    writes: ShipmentWrites,
) -> None:
    shipment_id = created(writes)
    patch(writes, shipment_id, {"weightLbs": 10}, at(1))

    result = patch(writes, shipment_id, {"weightLbs": 20}, at(1), merge=True)

    assert isinstance(result, Stale)
    assert result.conflicting_fields == ("weightLbs",)
    assert result.changes is not None and [i["version"] for i in result.changes.items] == [2]


def test_any_version_writes_on_whatever_is_current(writes: ShipmentWrites) -> None:
    shipment_id = created(writes)
    patch(writes, shipment_id, {"weightLbs": 10}, at(1))

    result = patch(writes, shipment_id, {"weightLbs": 11}, Condition(any_version=True))

    assert isinstance(result, Written) and result.shipment.version == 3


def test_what_changed_is_the_same_read_from_memory_or_from_the_stream() -> None:
    """A process that did not write the versions (``remembers=0``) reads the stream."""
    remembering, forgetting = InMemoryShipments(), InMemoryShipments(remembers=0)
    answers = []
    for streams in (remembering, forgetting):
        writes = ShipmentWrites(streams)
        shipment_id = created(writes)
        patch(writes, shipment_id, {"weightLbs": 10}, at(1))
        patch(writes, shipment_id, {"status": "SUBMITTED"}, at(2))
        result = patch(writes, shipment_id, {"customerRemarks": "mine"}, at(1))
        assert isinstance(result, Stale) and result.changes is not None
        answers.append([{**item, "recordedAt": None} for item in result.changes.items])
    assert answers[0] == answers[1]
