"""The pure part of reading the log below a gap-safe horizon."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from infrastructure.log_horizon import SettledPositions, settled_run


@dataclass(frozen=True)
class At:
    id: int


@pytest.mark.parametrize(
    ("after", "ids", "expected"),
    [
        (0, [], 0),
        (0, [1, 2, 3], 3),
        (0, [2, 3], 0),  # position 1 may still commit
        (4, [5, 6, 8, 9], 2),  # 7 may still commit
        (4, [6], 0),
        (10, [11], 1),
    ],
)
def test_the_settled_run_is_the_positions_right_after_the_reader_with_no_hole(
    after: int, ids: list[int], expected: int
) -> None:
    assert settled_run(after, [At(i) for i in ids]) == expected


def test_what_is_known_final_only_moves_up() -> None:
    settled = SettledPositions()
    settled.raise_to(7)
    settled.raise_to(3)

    assert settled.below == 7
