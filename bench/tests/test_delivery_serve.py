"""The serve mode of the delivery benchmark: finding the delivery children, CPU per write."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cpu_cost import CpuSnapshot
from bench.delivery_arrivals import judge
from bench.delivery_serve import Mark, cpu_per_write, delivery_children
from bench.proc_stat import MachineTimes, read_processes
from bench.tests.proc_fixtures import add_process


def test_the_delivery_children_are_the_deliver_commands_under_the_servers(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    add_process(proc, 1, "init", 0)
    add_process(proc, 50, "python", 1, cmdline="python -m api.cli serve --workers 2")
    add_process(proc, 51, "python", 50, cmdline="python -m api.cli deliver --nice 10")
    add_process(proc, 52, "python", 50, cmdline="python -c from multiprocessing.spawn import x")
    add_process(proc, 60, "python", 1, cmdline="python -m api.cli deliver")  # someone else's

    assert delivery_children(read_processes(proc), [50], proc) == {51}


def mark(server: int, delivery: dict[int, int], receiver: int, writers: float) -> Mark:
    snapshot = CpuSnapshot(
        monotonic_s=0.0,
        machine=MachineTimes(idle_ticks=0, total_ticks=0),
        server_ticks=server,
        postgres_ticks={7: server // 2},
        postgres_serving=frozenset({7}),
        postgres_all_ticks=0,
        generator_cpu_s=0.0,
    )
    return Mark(snapshot, delivery, receiver, writers)


def test_cpu_per_write_splits_the_window_by_whose_it_was() -> None:
    start = mark(1_000, {51: 300}, 40, 2.0)
    end = mark(1_400, {51: 500}, 90, 2.5)  # PostgreSQL's backend 7: 500 -> 700

    cpu = cpu_per_write(start, end, writes=1_000, postgres=True, ticks_per_s=100)

    assert cpu.servers == pytest.approx(4.0)  # 400 ticks = 4 s over 1,000 writes
    assert cpu.delivery == pytest.approx(2.0)
    assert cpu.postgres == pytest.approx(2.0)
    assert cpu.receiver == pytest.approx(0.5)
    assert cpu.writers == pytest.approx(0.5)
    assert not cpu.children_changed
    assert list(cpu.parts()) == ["delivery child", "PostgreSQL", "receiver", "HTTP writers"]


def test_a_delivery_child_that_changed_is_told_and_sqlite_has_no_postgres_figure() -> None:
    start = mark(1_000, {51: 300}, 0, 0.0)
    end = mark(1_100, {58: 20}, 0, 0.0)  # 51 died; 58 started inside the window

    cpu = cpu_per_write(start, end, writes=10, postgres=False, ticks_per_s=100)

    assert cpu.children_changed
    assert cpu.delivery == pytest.approx(20.0)
    assert cpu.postgres is None and "PostgreSQL" not in cpu.parts()


def test_judging_a_take_gives_the_lags_and_the_summary() -> None:
    taken = {
        "arrivals": [["/a", 1, 1.5, 1.0], ["/a", 2, 1.1, 1.0], ["/n/nats", 1, 1.2, 1.0]],
        "sampled": 2,
        "verified": 2,
    }

    figures = judge(taken, ["/a", "/n/nats"], [1, 2])

    assert not figures.complete
    assert figures.worst == pytest.approx(500.0) and figures.nats_p99 == pytest.approx(200.0)
    assert figures.webhooks_p99 == pytest.approx(500.0)
    assert figures.summary.startswith("INCOMPLETE: 1 missing, 0 paths out of order")
    assert figures.summary.endswith("signatures verified 2/2 sampled")
