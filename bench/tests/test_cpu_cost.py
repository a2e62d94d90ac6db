"""Reading /proc and the cost arithmetic, on fixed numbers (nothing here is timed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.cpu_cost import (
    CpuSnapshot,
    MachineTimes,
    ProcessTimes,
    cost_between,
    parse_machine_stat,
    parse_process_stat,
    postgres_roots,
    read_processes,
    take_snapshot,
    tree_ticks,
)


def stat_line(pid: int, name: str, parent: int, utime: int, stime: int, cut: int, cst: int) -> str:
    """A /proc/<pid>/stat line with the fields the module reads; the rest are zeros."""
    middle = " ".join(["0"] * 9)  # pgrp .. cmajflt (fields 5-13)
    tail = " ".join(["20", "0", "1", "0", "12345"] + ["0"] * 30)
    return f"{pid} ({name}) S {parent} {middle} {utime} {stime} {cut} {cst} {tail}\n"


def process(pid: int, parent: int, own: int, reaped: int = 0, name: str = "python") -> ProcessTimes:
    return ProcessTimes(pid=pid, name=name, parent=parent, own_ticks=own, reaped_ticks=reaped)


def test_a_process_stat_line_gives_its_own_and_its_reaped_childrens_ticks() -> None:
    times = parse_process_stat(stat_line(42, "python", 7, 300, 25, 40, 2))

    assert times == ProcessTimes(pid=42, name="python", parent=7, own_ticks=325, reaped_ticks=42)


def test_a_process_name_with_spaces_and_parentheses_is_read_whole() -> None:
    times = parse_process_stat(stat_line(9, "odd ) name (x", 1, 5, 6, 7, 8))

    assert times.name == "odd ) name (x"
    assert (times.parent, times.own_ticks, times.reaped_ticks) == (1, 11, 15)


def test_the_machine_line_counts_iowait_as_idle_and_leaves_guest_time_out() -> None:
    text = "cpu  100 5 50 800 20 3 2 10 7 1\ncpu0 50 2 25 400 10 1 1 5 3 0\nintr 1 2 3\n"

    machine = parse_machine_stat(text)

    # guest (7) and guest_nice (1) are already inside user and nice.
    assert machine == MachineTimes(idle_ticks=820, total_ticks=990)


def test_a_stat_file_without_the_cpu_line_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_machine_stat("cpu0 1 2 3 4\n")


def test_a_server_tree_counts_its_workers_and_the_children_it_reaped_but_no_one_else() -> None:
    processes = {
        10: process(10, 1, own=100, reaped=30),  # uvicorn's parent; a reaped child's 30
        11: process(11, 10, own=500),  # worker 1
        12: process(12, 10, own=450, reaped=5),  # worker 2, which reaped a helper
        13: process(13, 12, own=7),  # a worker's live child
        20: process(20, 1, own=999),  # wrk: not a descendant
    }

    assert tree_ticks(processes, [10]) == 100 + 30 + 500 + 450 + 5 + 7
    # Two servers: two trees, each counted once even when named twice.
    processes[30] = process(30, 1, own=60)
    assert tree_ticks(processes, [10, 30, 30]) == 1092 + 60
    # A server that has exited counts nothing.
    assert tree_ticks(processes, [99]) == 0


def test_postgres_roots_are_the_postmasters_not_their_backends() -> None:
    processes = {
        2222: process(2222, 1, own=10, name="postgres"),
        2223: process(2223, 2222, own=10, name="postgres"),  # checkpointer
        2300: process(2300, 2222, own=10, name="postgres"),  # a backend
        3000: process(3000, 1, own=10, name="python"),
        4000: process(4000, 3000, own=10, name="postgres"),  # another cluster, started by python
    }

    assert sorted(postgres_roots(processes)) == [2222, 4000]


def snapshot(
    at: float, idle: int, total: int, server: int, postgres: int, generator: float
) -> CpuSnapshot:
    return CpuSnapshot(
        monotonic_s=at,
        machine=MachineTimes(idle_ticks=idle, total_ticks=total),
        server_ticks=server,
        postgres_ticks=postgres,
        generator_cpu_s=generator,
    )


def test_the_cost_of_a_window_is_the_difference_divided_by_the_requests() -> None:
    start = snapshot(100.0, idle=5_000, total=20_000, server=1_000, postgres=4_000, generator=1.5)
    # 5 s on 2 cores at 100 ticks/s: 1,000 ticks, 150 of them idle.
    end = snapshot(105.0, idle=5_150, total=21_000, server=1_550, postgres=4_200, generator=2.0)

    cost = cost_between(start, end, requests=10_000, ticks_per_s=100)

    assert cost.window_s == 5.0
    assert cost.server_cpu_s == 5.5 and cost.postgres_cpu_s == 2.0
    assert cost.server_us_per_request == 550.0
    assert cost.postgres_us_per_request == 200.0
    assert cost.idle_percent == 15.0
    assert cost.generator_cpu_s == 0.5
    # Busy: 8.5 s of 10; servers 5.5, PostgreSQL 2.0, generator 0.5: others 0.5 s = 5 %.
    assert cost.others_percent == pytest.approx(5.0)


def test_a_window_without_a_completed_request_has_no_per_request_figure() -> None:
    start = snapshot(0.0, idle=0, total=0, server=0, postgres=0, generator=0.0)
    end = snapshot(1.0, idle=0, total=0, server=3, postgres=0, generator=0.0)

    cost = cost_between(start, end, requests=0, ticks_per_s=100)

    assert cost.server_us_per_request is None and cost.postgres_us_per_request is None
    assert cost.idle_percent == 0.0


def test_a_snapshot_reads_a_proc_tree_and_skips_what_is_not_a_process(tmp_path: Path) -> None:
    (tmp_path / "stat").write_text("cpu  10 0 10 70 10 0 0 0 0 0\n")
    lines = {
        1: stat_line(1, "init", 0, 1, 1, 0, 0),
        50: stat_line(50, "python", 1, 40, 10, 5, 0),
        51: stat_line(51, "python", 50, 30, 0, 0, 0),
        70: stat_line(70, "postgres", 1, 8, 2, 100, 20),
        71: stat_line(71, "postgres", 70, 4, 1, 0, 0),
    }
    for pid, line in lines.items():
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(line)
    (tmp_path / "80").mkdir()  # exited between listing and reading: no stat file
    (tmp_path / "self").mkdir()

    assert sorted(read_processes(tmp_path)) == [1, 50, 51, 70, 71]
    taken = take_snapshot([50], proc=tmp_path)
    assert taken.server_ticks == 40 + 10 + 5 + 30
    assert taken.postgres_ticks == 8 + 2 + 100 + 20 + 4 + 1
    assert taken.machine == MachineTimes(idle_ticks=80, total_ticks=100)


def test_the_real_proc_shows_this_process_under_its_parent() -> None:
    processes = read_processes()

    assert processes[os.getpid()].parent == os.getppid()
    assert tree_ticks(processes, [os.getppid()]) >= processes[os.getpid()].ticks
