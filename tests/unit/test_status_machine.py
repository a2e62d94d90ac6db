"""The status machine of API.md, checked over every (from, to) pair.

DRAFT → SUBMITTED → APPROVED → IN_TRANSIT → DELIVERED; any status but DELIVERED may go
to CANCELED; DELIVERED and CANCELED are final.
"""

from __future__ import annotations

from itertools import product

import pytest

from domain.errors import IllegalTransition, ShipmentClosed
from domain.shipment import Shipment
from domain.values import Status
from tests.unit.shipments import heavier, shipment_in

S = Status
LEGAL_MOVES: frozenset[tuple[Status, Status]] = frozenset(
    {
        (S.DRAFT, S.SUBMITTED),
        (S.SUBMITTED, S.APPROVED),
        (S.APPROVED, S.IN_TRANSIT),
        (S.IN_TRANSIT, S.DELIVERED),
        (S.DRAFT, S.CANCELED),
        (S.SUBMITTED, S.CANCELED),
        (S.APPROVED, S.CANCELED),
        (S.IN_TRANSIT, S.CANCELED),
    }
)
FINAL = (S.DELIVERED, S.CANCELED)
OPEN = tuple(s for s in Status if s not in FINAL)
ALL_MOVES = [(a, b) for a, b in product(Status, Status) if a != b]
OPEN_MOVES = [(a, b) for a, b in ALL_MOVES if a in OPEN]
ILLEGAL_OPEN_MOVES = [m for m in OPEN_MOVES if m not in LEGAL_MOVES]
FINAL_MOVES = [(a, b) for a, b in ALL_MOVES if a in FINAL]


def _id(move: tuple[Status, Status]) -> str:
    return f"{move[0].value}->{move[1].value}"


@pytest.mark.parametrize("move", ALL_MOVES, ids=_id)
def test_status_allows_exactly_the_moves_listed_in_the_contract(
    move: tuple[Status, Status],
) -> None:
    current, target = move
    assert current.can_move_to(target) is (move in LEGAL_MOVES)


@pytest.mark.parametrize("status", list(Status), ids=lambda s: s.value)
def test_staying_in_the_same_status_is_not_a_move(status: Status) -> None:
    assert not status.can_move_to(status)


def test_only_delivered_and_canceled_are_final() -> None:
    assert {s for s in Status if s.is_final} == set(FINAL)


def test_a_new_shipment_is_a_draft() -> None:
    assert shipment_in(S.DRAFT).status is S.DRAFT


@pytest.mark.parametrize("move", OPEN_MOVES, ids=_id)
def test_an_open_shipment_moves_only_along_legal_transitions(move: tuple[Status, Status]) -> None:
    current, target = move
    shipment = shipment_in(current)
    if move in LEGAL_MOVES:
        assert shipment.revise(shipment.details, target, "bob", "req-1") is True
        (changed,) = shipment.collect_events()
        assert isinstance(changed, Shipment.StatusChanged)
        assert shipment.status is target
    else:
        with pytest.raises(IllegalTransition) as raised:
            shipment.revise(shipment.details, target, "bob", "req-1")
        assert (raised.value.current, raised.value.requested) == (current.value, target.value)
        assert shipment.status is current
        assert shipment.collect_events() == []


@pytest.mark.parametrize("move", ILLEGAL_OPEN_MOVES, ids=_id)
def test_an_illegal_move_is_refused_even_when_other_fields_change_too(
    move: tuple[Status, Status],
) -> None:
    current, target = move
    shipment = shipment_in(current)
    before = shipment.details
    with pytest.raises(IllegalTransition):
        shipment.revise(heavier(before), target, "bob", "req-1")
    assert (shipment.status, shipment.details) == (current, before)
    assert shipment.collect_events() == []


@pytest.mark.parametrize("move", FINAL_MOVES, ids=_id)
def test_any_status_change_of_a_final_shipment_is_refused_as_closed(
    move: tuple[Status, Status],
) -> None:
    current, target = move
    shipment = shipment_in(current)
    version = shipment.version
    with pytest.raises(ShipmentClosed) as raised:
        shipment.revise(shipment.details, target, "bob", "req-1")
    assert raised.value.status == current.value
    assert (shipment.status, shipment.version) == (current, version)
    assert shipment.collect_events() == []


@pytest.mark.parametrize("final", FINAL, ids=lambda s: s.value)
def test_any_detail_change_of_a_final_shipment_is_refused_as_closed(final: Status) -> None:
    shipment = shipment_in(final)
    before = shipment.details
    with pytest.raises(ShipmentClosed):
        shipment.revise(heavier(before), None, "bob", "req-1")
    with pytest.raises(ShipmentClosed):
        shipment.revise(heavier(before), final, "bob", "req-2")
    assert shipment.details == before
    assert shipment.collect_events() == []


@pytest.mark.parametrize("final", FINAL, ids=lambda s: s.value)
def test_a_no_op_on_a_final_shipment_records_nothing_and_raises_nothing(final: Status) -> None:
    shipment = shipment_in(final)
    version = shipment.version
    assert shipment.revise(shipment.details, None, "bob", "req-1") is False
    assert shipment.revise(shipment.details, final, "bob", "req-2") is False
    assert shipment.version == version
    assert shipment.collect_events() == []


def test_each_status_lists_the_moves_the_machine_allows_in_order() -> None:
    assert Status.DRAFT.moves() == (Status.SUBMITTED, Status.CANCELED)
    assert Status.IN_TRANSIT.moves() == (Status.DELIVERED, Status.CANCELED)
    for status in Status:
        assert status.moves() == tuple(t for t in Status if status.can_move_to(t))
    assert Status.DELIVERED.moves() == Status.CANCELED.moves() == ()
