"""When the write path checks a cached state before deciding on it (pure)."""

from __future__ import annotations

from infrastructure.stale_cache import StaleCacheGuard


def test_a_lone_writer_never_pays_for_checks() -> None:
    assert not StaleCacheGuard().should_check


def test_a_lost_race_turns_checking_on() -> None:
    guard = StaleCacheGuard()
    guard.lost_race()
    assert guard.should_check


def test_checking_ends_after_enough_current_answers_in_a_row() -> None:
    guard = StaleCacheGuard(calm_checks=3)
    guard.lost_race()
    for _ in range(2):
        guard.checked(current=True)
    assert guard.should_check
    guard.checked(current=True)
    assert not guard.should_check


def test_a_stale_answer_restarts_the_count() -> None:
    guard = StaleCacheGuard(calm_checks=3)
    guard.lost_race()
    guard.checked(current=True)
    guard.checked(current=True)
    guard.checked(current=False)
    guard.checked(current=True)
    guard.checked(current=True)
    assert guard.should_check
    guard.checked(current=True)
    assert not guard.should_check


def test_another_lost_race_while_calming_down_starts_over() -> None:
    guard = StaleCacheGuard(calm_checks=2)
    guard.lost_race()
    guard.checked(current=True)
    guard.lost_race()
    guard.checked(current=True)
    assert guard.should_check
