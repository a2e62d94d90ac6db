"""Reading process and machine CPU time from /proc, on fixed lines (nothing here is timed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.proc_stat import (
    MachineTimes,
    ProcessTimes,
    parse_machine_stat,
    parse_process_stat,
    read_processes,
    tree_ticks,
)
from bench.tests.proc_fixtures import stat_line


def process(pid: int, parent: int, own: int, reaped: int = 0) -> ProcessTimes:
    return ProcessTimes(pid=pid, name="python", parent=parent, own_ticks=own, reaped_ticks=reaped)


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


def test_processes_that_vanish_while_being_read_are_left_out(tmp_path: Path) -> None:
    for pid, line in {
        1: stat_line(1, "init", 0, 1, 1, 0, 0),
        5: stat_line(5, "x", 1, 2, 2, 0, 0),
    }.items():
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(line)
    (tmp_path / "80").mkdir()  # exited between listing and reading: no stat file
    (tmp_path / "self").mkdir()

    assert sorted(read_processes(tmp_path)) == [1, 5]


def test_the_real_proc_shows_this_process_under_its_parent() -> None:
    processes = read_processes()

    assert processes[os.getpid()].parent == os.getppid()
    assert tree_ticks(processes, [os.getppid()]) >= processes[os.getpid()].ticks
