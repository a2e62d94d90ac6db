"""What one measured window cost in CPU: the servers', PostgreSQL's, and the machine's idle share.

Requests/s alone cannot tell "faster" from "burns more of the machine": on a
shared 2-core box the system that takes more CPU per request also starves the
load generator and PostgreSQL. So ``bench.run`` reads ``/proc`` right before a
load generator starts and right after it exits, and divides:

- the servers' CPU: utime + stime of every process of each server's tree (the
  process ``bench.run`` started and its descendants — uvicorn's workers with
  ``--workers 2``; two trees in the two-servers shape), plus the cutime + cstime
  of each, so a descendant that exits and is reaped inside the window keeps its
  ticks (they move into its parent's cutime);
- PostgreSQL's CPU: the same over every tree of processes named ``postgres``
  whose parent is not (the postmaster and its backends and helpers). Backends
  come and go; the postmaster reaps them, so their ticks land in its cutime.
  It is the whole server's CPU: other clients of the same PostgreSQL count too;
- the machine's idle share from the ``cpu`` line of ``/proc/stat``: (idle +
  iowait) / all ticks, over every core;
- the load generator's CPU (this process's children reaped in the window, i.e.
  the wrk or Python generator processes) — kept in the results, and never
  counted as the servers';
- the rest of the machine's busy time ("others": other engineers' processes,
  this harness, the kernel's own work) — a noise indicator for the window.

Ticks are 1/``SC_CLK_TCK`` s (10 ms here) per process, so a figure over a
window of a few seconds is good to a few percent.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
POSTGRES_NAME = "postgres"


@dataclass(frozen=True)
class ProcessTimes:
    """One process's CPU from ``/proc/<pid>/stat``, in clock ticks."""

    pid: int
    name: str
    parent: int
    own_ticks: int  # utime + stime: the process's own threads
    reaped_ticks: int  # cutime + cstime: its children that exited and were waited for

    @property
    def ticks(self) -> int:
        return self.own_ticks + self.reaped_ticks


@dataclass(frozen=True)
class MachineTimes:
    """The ``cpu`` line of ``/proc/stat`` (all cores), in clock ticks."""

    idle_ticks: int  # idle + iowait: nothing ran
    total_ticks: int  # user + nice + system + idle + iowait + irq + softirq + steal


def parse_process_stat(text: str) -> ProcessTimes:
    """Read ``/proc/<pid>/stat``; the name sits in parentheses and may hold spaces or ')'."""
    head, _, tail = text.rpartition(")")
    pid_text, _, name = head.partition(" (")
    fields = tail.split()
    # After the name: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17);
    # fields[0] is field 3.
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return ProcessTimes(
        pid=int(pid_text),
        name=name,
        parent=int(fields[1]),
        own_ticks=utime + stime,
        reaped_ticks=cutime + cstime,
    )


def parse_machine_stat(text: str) -> MachineTimes:
    """Read the aggregate ``cpu`` line of ``/proc/stat``.

    guest and guest_nice are left out: the kernel already counts them in user and nice.
    """
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            values = [int(value) for value in fields[1:9]]
            values += [0] * (8 - len(values))
            _user, _nice, _system, idle, iowait, _irq, _softirq, _steal = values
            return MachineTimes(idle_ticks=idle + iowait, total_ticks=sum(values))
    raise ValueError("no aggregate 'cpu' line in /proc/stat")


def read_processes(proc: Path = PROC) -> dict[int, ProcessTimes]:
    """Every process readable right now (one that exits while being read is left out)."""
    processes = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            times = parse_process_stat((entry / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue
        processes[times.pid] = times
    return processes


def tree_ticks(processes: Mapping[int, ProcessTimes], roots: Iterable[int]) -> int:
    """CPU ticks of the live processes under ``roots`` (roots included), reaped children too.

    Each process counts its own ticks and those of its children already reaped; a
    live child counts its own, so nothing is counted twice.
    """
    children: dict[int, list[int]] = {}
    for times in processes.values():
        children.setdefault(times.parent, []).append(times.pid)
    seen: set[int] = set()
    pending = [pid for pid in roots if pid in processes]
    total = 0
    while pending:
        pid = pending.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += processes[pid].ticks
        pending += children.get(pid, [])
    return total


def postgres_roots(processes: Mapping[int, ProcessTimes]) -> list[int]:
    """The PostgreSQL servers' postmasters: ``postgres`` processes whose parent is not one."""
    return [
        times.pid
        for times in processes.values()
        if times.name == POSTGRES_NAME
        and (times.parent not in processes or processes[times.parent].name != POSTGRES_NAME)
    ]


@dataclass(frozen=True)
class CpuSnapshot:
    """The counters at one instant: enough to take the difference over a window."""

    monotonic_s: float
    machine: MachineTimes
    server_ticks: int
    postgres_ticks: int
    generator_cpu_s: float  # this process's reaped children (the load generators)


def take_snapshot(server_pids: Sequence[int], proc: Path = PROC) -> CpuSnapshot:
    """Read the machine, the servers' trees and PostgreSQL's trees now."""
    processes = read_processes(proc)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return CpuSnapshot(
        monotonic_s=time.monotonic(),
        machine=parse_machine_stat((proc / "stat").read_text()),
        server_ticks=tree_ticks(processes, server_pids),
        postgres_ticks=tree_ticks(processes, postgres_roots(processes)),
        generator_cpu_s=children.ru_utime + children.ru_stime,
    )


@dataclass(frozen=True)
class CpuCost:
    """The CPU one load run cost over its window; per request where a request was completed."""

    window_s: float
    requests: int
    server_cpu_s: float  # every process of the system's server(s)
    postgres_cpu_s: float  # the whole PostgreSQL server
    generator_cpu_s: float  # the load generator's processes (not the servers')
    idle_percent: float  # of all cores over the window
    others_percent: float  # of all cores: busy, but neither servers, PostgreSQL nor generator
    server_us_per_request: float | None
    postgres_us_per_request: float | None


def cost_between(
    start: CpuSnapshot,
    end: CpuSnapshot,
    requests: int,
    ticks_per_s: int = CLOCK_TICKS_PER_S,
) -> CpuCost:
    """The difference of two snapshots, divided by the requests completed between them."""
    server_s = max(0, end.server_ticks - start.server_ticks) / ticks_per_s
    postgres_s = max(0, end.postgres_ticks - start.postgres_ticks) / ticks_per_s
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
        generator_cpu_s=generator_s,
        idle_percent=100.0 * idle / total if total > 0 else 0.0,
        others_percent=100.0 * others_s * ticks_per_s / total if total > 0 else 0.0,
        server_us_per_request=server_s * 1e6 / requests if requests else None,
        postgres_us_per_request=postgres_s * 1e6 / requests if requests else None,
    )
