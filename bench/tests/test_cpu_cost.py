"""The cost of a window: differences of two snapshots over the requests, on fixed numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cpu_cost import CpuSnapshot, cost_between, take_snapshot
from bench.proc_stat import MachineTimes
from bench.tests.proc_fixtures import TCP_HEADER, add_process, tcp_line


def snapshot(
    at: float,
    idle: int,
    total: int,
    server: int,
    postgres: dict[int, int],
    serving: set[int],
    generator: float,
    postgres_all: int = 0,
) -> CpuSnapshot:
    return CpuSnapshot(
        monotonic_s=at,
        machine=MachineTimes(idle_ticks=idle, total_ticks=total),
        server_ticks=server,
        postgres_ticks=postgres,
        postgres_serving=frozenset(serving),
        postgres_all_ticks=postgres_all,
        generator_cpu_s=generator,
    )


def test_the_cost_of_a_window_is_the_difference_divided_by_the_requests() -> None:
    start = snapshot(
        100.0, 5_000, 20_000, 1_000, {7: 500, 8: 900, 9: 50}, {7, 8}, 1.5, postgres_all=9_000
    )
    # 5 s on 2 cores at 100 ticks/s: 1,000 ticks, 150 of them idle. Backend 7 gains 150,
    # backend 8 exits (its ticks are lost), backend 10 opens in the window with 50, and
    # 9 (someone else's) gains 300: only the whole server's figure shows it.
    end = snapshot(
        105.0, 5_150, 21_000, 1_550, {7: 650, 9: 350, 10: 50}, {7, 10}, 2.0, postgres_all=9_500
    )

    cost = cost_between(start, end, requests=10_000, ticks_per_s=100)

    assert cost.window_s == 5.0
    assert cost.server_cpu_s == 5.5 and cost.postgres_cpu_s == 2.0
    assert cost.postgres_all_cpu_s == 5.0
    assert cost.server_us_per_request == 550.0
    assert cost.postgres_us_per_request == 200.0
    assert cost.idle_percent == 15.0
    assert cost.generator_cpu_s == 0.5
    # Busy: 8.5 s of 10; servers 5.5, PostgreSQL for them 2.0, generator 0.5: others 5 %.
    assert cost.others_percent == pytest.approx(5.0)


def test_a_window_without_a_completed_request_has_no_per_request_figure() -> None:
    start = snapshot(0.0, 0, 0, 0, {}, set(), 0.0)
    end = snapshot(1.0, 0, 0, 3, {}, set(), 0.0)

    cost = cost_between(start, end, requests=0, ticks_per_s=100)

    assert cost.server_us_per_request is None and cost.postgres_us_per_request is None
    assert cost.idle_percent == 0.0


def test_a_snapshot_reads_the_machine_the_servers_tree_and_postgres(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    (proc / "net" / "tcp").write_text(TCP_HEADER + tcp_line(0, 40001, 5432, 901))
    (proc / "stat").write_text("cpu  10 0 10 70 10 0 0 0 0 0\n")
    add_process(proc, 1, "init", 0, (1, 1, 0, 0))
    add_process(proc, 50, "python", 1, (40, 10, 5, 0))
    add_process(proc, 51, "python", 50, (30, 0, 0, 0), sockets=(901,))
    add_process(proc, 70, "postgres", 1, (8, 2, 100, 20), cmdline="postgres -D x")
    add_process(proc, 71, "postgres", 70, (4, 1, 0, 0), cmdline="postgres: a b 127.0.0.1(40001)")
    add_process(proc, 72, "postgres", 70, (9, 0, 0, 0), cmdline="postgres: a b 127.0.0.1(40009)")

    taken = take_snapshot([50], proc=proc)

    assert taken.server_ticks == 40 + 10 + 5 + 30
    assert taken.postgres_ticks == {70: 10, 71: 5, 72: 9}
    assert taken.postgres_serving == {70, 71}
    assert taken.postgres_all_ticks == 10 + 120 + 5 + 9
    assert taken.machine == MachineTimes(idle_ticks=80, total_ticks=100)
