"""The states a process wrote lately: a run of versions is given whole (with the events
that made them, shared rather than copied) or not at all, and the oldest are forgotten."""

from __future__ import annotations

from copy import deepcopy
from dataclasses import replace

from domain.shipment import Shipment
from infrastructure.recent_states import RecentStates, Written
from tests.unit.shipments import new_shipment


def versions(count: int) -> list[Written]:
    """Versions 1 … ``count`` of one shipment, each with the event that made it."""
    shipment: Shipment = new_shipment()
    written = [Written(deepcopy(shipment), shipment.collect_events()[-1])]
    for weight in range(2, count + 1):
        shipment.revise(replace(shipment.details, weight_lbs=weight), None, "bob", None)
        written.append(Written(deepcopy(shipment), shipment.collect_events()[-1]))
    return written


def test_a_run_of_kept_versions_is_given_with_their_events_as_they_were_kept() -> None:
    written = versions(4)
    recent = RecentStates(10)
    recent.keep(written)

    run = recent.between(written[0].state.id, 2, 4)

    assert run is not None
    assert [kept.state.version for kept in run] == [2, 3, 4]
    assert [kept.event.originator_version for kept in run] == [2, 3, 4]
    assert all(kept is original for kept, original in zip(run, written[1:], strict=True))


def test_a_run_with_a_version_missing_or_forgotten_is_not_given() -> None:
    written = versions(5)
    recent = RecentStates(3)
    recent.keep([written[0], written[2]])
    shipment_id = written[0].state.id

    assert recent.between(shipment_id, 1, 3) is None  # version 2 never kept
    recent.keep(written[3:])  # 4 and 5: version 1 is forgotten
    assert recent.between(shipment_id, 1, 1) is None
    assert recent.between(shipment_id, 3, 5) is not None
