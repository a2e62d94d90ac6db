"""A merge decided after writes that landed since its changes were read: their fields are
worked out in memory from the states this process wrote, version by version; an overlap,
or a version not at hand, sends the write back to read the stream (a ``VersionConflict``)."""

from __future__ import annotations

from copy import deepcopy
from dataclasses import replace
from uuid import UUID

import pytest

from application.stale_writes import ChangesRead, MergeRequest, _merge_decision
from domain.merging import Edit
from domain.shipment import Shipment
from domain.values import Status
from infrastructure.errors import VersionConflict
from infrastructure.write_commands import Decide
from tests.unit.shipments import DETAILS, new_shipment


def written(shipment: Shipment, **changes: object) -> Shipment:
    """The next version of ``shipment`` with ``changes``, as another writer made it."""
    after = deepcopy(shipment)
    after.revise(replace(after.details, **changes), None, "carol", None)
    after.collect_events()
    return after


def merge_of(edit: Edit, read: ChangesRead, recent: dict[int, Shipment]) -> Decide:
    request = MergeRequest(lambda base: edit, "bob", None, None, lambda current: None)
    return _merge_decision(
        read.end.id if read.end else UUID(int=0),
        edit,
        read,
        request,
        lambda _id, version: deepcopy(recent[version]) if version in recent else None,
    )


@pytest.fixture
def history() -> list[Shipment]:
    """Versions 1 (read by the merging client), 2 (read as changed since), 3 and 4 (later)."""
    first = new_shipment()
    first.collect_events()
    second = written(first, customer_remarks="v2")
    third = written(second, weight_lbs=300)
    return [first, second, third, written(third, customer_remarks="v4")]


def test_writes_since_the_read_are_caught_up_in_memory_when_disjoint(
    history: list[Shipment],
) -> None:
    first, second, third, fourth = history
    read = ChangesRead(1, 2, first, [], second)
    edit = Edit({"delivery_date": DETAILS.requested_pickup_date})

    merged = merge_of(edit, read, {3: third})(deepcopy(fourth))

    assert merged is not None and merged.version == 5
    assert (merged.details.weight_lbs, merged.details.customer_remarks) == (300, "v4")
    assert merged.details.delivery_date == DETAILS.requested_pickup_date
    (event,) = merged.collect_events()
    assert event.based_on == 1


@pytest.mark.parametrize(
    ("edit", "recent"),
    [
        pytest.param(Edit({"weight_lbs": 5}), {3}, id="a-later-write-changed-the-field"),
        pytest.param(Edit({"delivery_date": None}), set(), id="a-version-is-not-at-hand"),
    ],
)
def test_otherwise_the_write_goes_back_to_read_the_stream(
    history: list[Shipment], edit: Edit, recent: set[int]
) -> None:
    first, second, _third, fourth = history
    read = ChangesRead(1, 2, first, [], second)
    decide = merge_of(edit, read, {v: history[v - 1] for v in recent})

    with pytest.raises(VersionConflict) as conflict:
        decide(deepcopy(fourth))

    assert (conflict.value.current_version, conflict.value.since) == (4, 1)
    assert fourth.status is Status.DRAFT
