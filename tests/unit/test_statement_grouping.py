"""How a group-committed batch's co-committed statements are ordered and run (pure)."""

from __future__ import annotations

from infrastructure.co_commit import Statement, runs_of_same_sql
from infrastructure.group_commit import grouped_by_sql

UPSERT = "INSERT INTO view …"
INDEX = "INSERT INTO versions …"
LEDGER = "INSERT INTO keys …"


def test_a_batch_runs_each_kind_of_statement_together_in_first_use_order() -> None:
    batch = [
        Statement(UPSERT, ("a",)),
        Statement(INDEX, ("a", 2)),
        Statement(UPSERT, ("b",)),
        Statement(INDEX, ("b", 5)),
        Statement(UPSERT, ("c",)),
    ]
    assert [(s.sql, s.params) for s in grouped_by_sql(batch)] == [
        (UPSERT, ("a",)),
        (UPSERT, ("b",)),
        (UPSERT, ("c",)),
        (INDEX, ("a", 2)),
        (INDEX, ("b", 5)),
    ]


def test_runs_of_one_sql_become_one_executemany_and_order_is_kept() -> None:
    statements = [
        Statement(UPSERT, ("a",)),
        Statement(UPSERT, ("b",)),
        Statement(INDEX, ("a", 2)),
        Statement(LEDGER, ("k",)),
        Statement(UPSERT, ("c",)),
    ]
    assert runs_of_same_sql(statements) == [
        (UPSERT, [("a",), ("b",)]),
        (INDEX, [("a", 2)]),
        (LEDGER, [("k",)]),
        (UPSERT, [("c",)]),
    ]


def test_no_statements_no_runs() -> None:
    assert runs_of_same_sql([]) == []
    assert grouped_by_sql([]) == []
