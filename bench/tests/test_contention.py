"""The lost-update check: it must pass a correct run and catch every kind of loss."""

from __future__ import annotations

from bench.contention import CONTENDED_SHIPMENT, Snapshot, account, counters_of


def snapshot(version: int, weight: int = 1, remarks: int = 0) -> Snapshot:
    return Snapshot(version, {"weight": weight, "remarks": remarks, "dates": 0, "address": 0})


def test_a_correct_run_has_no_lost_updates() -> None:
    before = [snapshot(1), snapshot(5, weight=10)]
    after = [snapshot(4, weight=4), snapshot(7, weight=12)]
    checked = account(before, after, {"1.weight": 3, "2.weight": 2}, {})
    assert (checked.lost_updates, checked.unexplained_increments) == (0, 0)


def test_two_successes_that_wrote_the_same_value_are_a_lost_update() -> None:
    # Last writer wins: both clients read weight 1 at version 1 and both got 200; the
    # version grew by 2 but the counter by 1.
    checked = account([snapshot(1)], [snapshot(3, weight=2)], {"1.weight": 2}, {})
    assert checked.lost_updates == 1


def test_a_success_that_wrote_nothing_is_a_lost_update() -> None:
    checked = account([snapshot(1)], [snapshot(2, weight=2)], {"1.weight": 2}, {})
    assert checked.lost_updates == 1


def test_an_applied_unknown_patch_is_not_a_loss_and_cannot_hide_one() -> None:
    # One PATCH in flight at the end was applied: counter and version one above the count.
    fine = account([snapshot(1)], [snapshot(4, weight=4)], {"1.weight": 2}, {"1.weight": 1})
    assert (fine.lost_updates, fine.unexplained_increments) == (0, 0)
    # Same counts, but one of the successes was lost: the version says so.
    hidden = account([snapshot(1)], [snapshot(5, weight=4)], {"1.weight": 3}, {"1.weight": 1})
    assert hidden.lost_updates == 1


def test_increments_nobody_made_are_reported_apart() -> None:
    checked = account([snapshot(1)], [snapshot(4, weight=4)], {"1.weight": 1}, {})
    assert (checked.lost_updates, checked.unexplained_increments) == (0, 2)


def test_field_groups_are_checked_one_by_one() -> None:
    # Two clients on different fields, both 200; one field's change was overwritten.
    checked = account(
        [snapshot(1)],
        [snapshot(3, weight=2, remarks=0)],
        {"1.weight": 1, "1.remarks": 1},
        {},
    )
    assert checked.lost_updates == 1


def test_the_seeded_shipment_reads_as_all_counters_zero_but_weight_one() -> None:
    document = {"version": 1, **CONTENDED_SHIPMENT}
    assert counters_of(document).counters == {
        "weight": 1,
        "remarks": 0,
        "dates": 0,
        "address": 0,
    }
