"""Reading CPU time from Linux's /proc: one process's ``stat``, the machine's ``stat``, trees.

Pure parsers of the files' text (tested on fixed lines) and the walks over a
snapshot of every process; ``bench/cpu_cost.py`` turns two snapshots into a cost.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


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


def descendants(processes: Mapping[int, ProcessTimes], roots: Iterable[int]) -> set[int]:
    """The live processes under ``roots``, the roots included (a root that is gone: nothing)."""
    children: dict[int, list[int]] = {}
    for times in processes.values():
        children.setdefault(times.parent, []).append(times.pid)
    seen: set[int] = set()
    pending = [pid for pid in roots if pid in processes]
    while pending:
        pid = pending.pop()
        if pid not in seen:
            seen.add(pid)
            pending += children.get(pid, [])
    return seen


def tree_ticks(processes: Mapping[int, ProcessTimes], roots: Iterable[int]) -> int:
    """CPU ticks of the live processes under ``roots`` (roots included), reaped children too.

    Each process counts its own ticks and those of its children already reaped; a
    live child counts its own, so nothing is counted twice.
    """
    return sum(processes[pid].ticks for pid in descendants(processes, roots))
