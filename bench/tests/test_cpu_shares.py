"""Whose the cores were: each process in one party, the rest of the busy time "others"."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cpu_shares import (
    Shares,
    mark_shares,
    median_shares,
    named,
    shares_between,
    shares_text,
    these,
    trees,
)
from bench.tests.proc_fixtures import add_process, stat_line


def machine(proc: Path, idle: int, busy: int) -> None:
    """A /proc/stat whose cpu line has ``busy`` user ticks and ``idle`` idle ticks."""
    (proc / "stat").write_text(f"cpu  {busy} 0 0 {idle} 0 0 0 0 0 0\ncpu0 0 0 0 0\n")


def ran(proc: Path, pid: int, name: str, parent: int, utime: int) -> None:
    """The process's counters moved on to ``utime``."""
    (proc / str(pid) / "stat").write_text(stat_line(pid, name, parent, utime, 0, 0, 0))


def test_each_process_counts_once_for_the_first_party_that_picks_it(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    add_process(proc, 1, "init", 0)
    add_process(proc, 10, "python", 1, (100, 0, 0, 0))  # the server
    add_process(proc, 11, "python", 10, (50, 0, 0, 0))  # its delivery child
    add_process(proc, 20, "nats-server", 1, (10, 0, 0, 0))
    machine(proc, idle=1_000, busy=1_000)
    parties = [
        ("delivery", these([11])),
        ("servers", trees([10])),  # 10 and 11; 11 is the delivery's already
        ("NATS", named("nats-server")),
    ]
    start = mark_shares(parties, proc)

    ran(proc, 10, "python", 1, 300)  # +200 ticks
    ran(proc, 11, "python", 10, 150)  # +100
    ran(proc, 20, "nats-server", 1, 30)  # +20
    add_process(proc, 12, "python", 10, (40, 0, 0, 0))  # started inside the window: all 40
    machine(proc, idle=1_200, busy=1_400)  # 600 ticks in all, 400 of them busy
    end = mark_shares(parties, proc)
    end = type(end)(start.monotonic_s + 3.0, end.machine, end.ticks)  # a 3 s window

    shares = shares_between(start, end, ticks_per_s=100)

    assert shares.cores == pytest.approx({"delivery": 1 / 3, "servers": 0.8, "NATS": 20 / 300})
    assert shares.others == pytest.approx(400 / 300 - 1 / 3 - 0.8 - 20 / 300)
    assert shares.idle_percent == pytest.approx(100 * 200 / 600)
    assert shares.cpu_ms_per(writes=1_000, parties=["servers", "delivery"]) == pytest.approx(3.4)


def test_the_medians_are_each_figures_own() -> None:
    runs = [
        Shares(10.0, {"service": 1.0, "receiver": 0.2}, 0.1, 30.0),
        Shares(10.0, {"service": 1.4, "receiver": 0.4}, 0.0, 10.0),
        Shares(10.0, {"service": 1.2, "receiver": 0.3}, 0.3, 20.0),
    ]

    median = median_shares(runs)

    assert median.cores == {"service": 1.2, "receiver": 0.3}
    assert (median.others, median.idle_percent) == (0.1, 20.0)
    assert shares_text(median) == "service 1.20, receiver 0.30, others 0.10 cores; idle 20%"
