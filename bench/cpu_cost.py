"""What one measured window cost in CPU: the servers', PostgreSQL's, and the machine's idle share.

Requests/s alone cannot tell "faster" from "burns more of the machine": on a
shared 2-core box the system that takes more CPU per request also starves the
load generator and PostgreSQL. So ``bench.run`` reads ``/proc`` right before a
load generator starts and right after it exits, and takes the difference:

- the servers' CPU: utime + stime of every process of each server's tree (the
  process ``bench.run`` started and its descendants — uvicorn's workers with
  ``--workers 2``; two trees in the two-servers shape), plus the cutime + cstime
  of each, so a descendant that exits and is reaped inside the window keeps its
  ticks (they move into its parent's cutime);
- PostgreSQL's CPU for us: per process, the ticks of the backends whose clients
  are the servers' processes and of PostgreSQL's own background processes
  (``bench/postgres_backends.py``) — the server is shared with other people's
  test suites, whose queries are not our cost. The whole server's CPU (every
  ``postgres`` tree, exited backends included through the postmaster's cutime)
  is kept beside it;
- the machine's idle share from the ``cpu`` line of ``/proc/stat``: (idle +
  iowait) / all ticks, over every core;
- the load generator's CPU (this process's children reaped in the window, i.e.
  the wrk or Python generator processes) — kept in the results, and never
  counted as the servers';
- the rest of the machine's busy time ("others": other people's processes and
  queries, this harness, the kernel's own work) — a noise indicator.

Ticks are 1/``SC_CLK_TCK`` s (10 ms here) per process, so a figure over a
window of a few seconds is good to a few percent.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.postgres_backends import postgres_roots, serving_processes
from bench.proc_stat import (
    CLOCK_TICKS_PER_S,
    PROC,
    MachineTimes,
    parse_machine_stat,
    read_processes,
    tree_ticks,
)


@dataclass(frozen=True)
class CpuSnapshot:
    """The counters at one instant: enough to take the difference over a window."""

    monotonic_s: float
    machine: MachineTimes
    server_ticks: int  # the servers' trees
    postgres_ticks: Mapping[int, int]  # every PostgreSQL process: its own ticks
    postgres_serving: frozenset[int]  # those of them that work for the servers
    postgres_all_ticks: int  # the whole PostgreSQL server, exited backends included
    generator_cpu_s: float  # this process's reaped children (the load generators)


def take_snapshot(server_pids: Sequence[int], proc: Path = PROC) -> CpuSnapshot:
    """Read the machine, the servers' trees and PostgreSQL's processes now."""
    processes = read_processes(proc)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    roots = postgres_roots(processes)
    return CpuSnapshot(
        monotonic_s=time.monotonic(),
        machine=parse_machine_stat((proc / "stat").read_text()),
        server_ticks=tree_ticks(processes, server_pids),
        postgres_ticks={
            pid: times.own_ticks for pid, times in processes.items() if times.name == "postgres"
        },
        postgres_serving=frozenset(serving_processes(processes, server_pids, proc)),
        postgres_all_ticks=tree_ticks(processes, roots),
        generator_cpu_s=children.ru_utime + children.ru_stime,
    )


@dataclass(frozen=True)
class CpuCost:
    """The CPU one load run cost over its window; per request where a request was completed."""

    window_s: float
    requests: int
    server_cpu_s: float  # every process of the system's server(s)
    postgres_cpu_s: float  # PostgreSQL's backends serving them, and its background processes
    postgres_all_cpu_s: float  # the whole PostgreSQL server: other clients' queries too
    generator_cpu_s: float  # the load generator's processes (not the servers')
    idle_percent: float  # of all cores over the window
    others_percent: float  # of all cores: busy, but neither servers, PostgreSQL nor generator
    server_us_per_request: float | None
    postgres_us_per_request: float | None


def serving_ticks(start: CpuSnapshot, end: CpuSnapshot) -> int:
    """Ticks PostgreSQL's processes spent for the servers between two snapshots.

    A process seen at the end counts what it gained since the start, or all of it
    when it started inside the window; one that exited meanwhile is lost.
    """
    return sum(
        max(0, end.postgres_ticks[pid] - start.postgres_ticks.get(pid, 0))
        for pid in end.postgres_serving
        if pid in end.postgres_ticks
    )


def cost_between(
    start: CpuSnapshot,
    end: CpuSnapshot,
    requests: int,
    ticks_per_s: int = CLOCK_TICKS_PER_S,
) -> CpuCost:
    """The difference of two snapshots, divided by the requests completed between them."""
    server_s = max(0, end.server_ticks - start.server_ticks) / ticks_per_s
    postgres_s = serving_ticks(start, end) / ticks_per_s
    postgres_all_s = max(0, end.postgres_all_ticks - start.postgres_all_ticks) / ticks_per_s
    total = end.machine.total_ticks - start.machine.total_ticks
    idle = end.machine.idle_ticks - start.machine.idle_ticks
    generator_s = max(0.0, end.generator_cpu_s - start.generator_cpu_s)
    busy_s = (total - idle) / ticks_per_s
    others_s = max(0.0, busy_s - server_s - postgres_s - generator_s)
    return CpuCost(
        window_s=end.monotonic_s - start.monotonic_s,
        requests=requests,
        server_cpu_s=server_s,
        postgres_cpu_s=postgres_s,
        postgres_all_cpu_s=postgres_all_s,
        generator_cpu_s=generator_s,
        idle_percent=100.0 * idle / total if total > 0 else 0.0,
        others_percent=100.0 * others_s * ticks_per_s / total if total > 0 else 0.0,
        server_us_per_request=server_s * 1e6 / requests if requests else None,
        postgres_us_per_request=postgres_s * 1e6 / requests if requests else None,
    )
