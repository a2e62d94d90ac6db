"""RFC 7240 ``Prefer`` headers, table-driven: which of them ask a stale write to be merged."""

from __future__ import annotations

import pytest

from api.http.preferences import preferences, prefers_merge

# (the Prefer lines folded into one header, whether it prefers conflict=merge)
CASES: list[tuple[str | None, bool]] = [
    (None, False),
    ("", False),
    ("conflict=merge", True),
    ("Conflict=Merge", True),
    ('conflict="merge"', True),
    ("conflict = merge", True),
    ("return=minimal, conflict=merge", True),
    ("respond-async; wait=10, conflict=merge", True),
    ("conflict=merge; strict", True),
    ('foo="a, conflict=merge", return=minimal', False),
    ("conflict=reject", False),
    ("conflict=reject, conflict=merge", False),  # only the first occurrence counts
    ("conflict", False),
    ("conflict=merged", False),
    ("merge", False),
    (",, conflict=merge ,", True),
]


@pytest.mark.parametrize(("header", "merge"), CASES)
def test_prefer_asks_for_a_merge_only_with_conflict_merge(header: str | None, merge: bool) -> None:
    assert prefers_merge(header) is merge


def test_preferences_keep_names_lower_case_and_values_unquoted() -> None:
    stated = preferences('Return=Minimal; foo=bar, wait="1\\"0", respond-async')

    assert stated == {"return": "Minimal", "wait": '1"0', "respond-async": None}
