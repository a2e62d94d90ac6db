"""Whose the machine's cores were over a window: a share per party, and what was left idle.

A closed-loop writer takes what the rest leave it, so the delivery benchmark's
ratio (writes/s with the subscriptions over writes/s without) says how much the
subscriptions cost the writers, not who took it: the service's own delivery
process, the receivers and the NATS server (which in a deployment run on other
machines), or PostgreSQL. So each throughput phase is read from ``/proc`` at
both ends and every process is put in one party, the first that claims it; the
busy time no party claims (the kernel's loopback networking, other people's
processes) is "others". Over a window the cores add up to the machine's:
the parties + others + idle.

``bench/cpu_cost.py`` answers a different question (the servers' CPU per
request, reaped children included); this one counts each live process's own
ticks, which is right for parties that live through the window.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.postgres_backends import serving_processes
from bench.proc_stat import (
    CLOCK_TICKS_PER_S,
    PROC,
    MachineTimes,
    ProcessTimes,
    descendants,
    parse_machine_stat,
    read_processes,
)

Picker = Callable[[Mapping[int, ProcessTimes], Path], set[int]]
Party = tuple[str, Picker]  # a name, and which processes of a snapshot are its


def these(pids: Iterable[int]) -> Picker:
    """Exactly these processes (while they live)."""
    wanted = set(pids)
    return lambda processes, proc: wanted & processes.keys()


def named(name: str) -> Picker:
    """Every process with this name (``nats-server``)."""
    return lambda processes, proc: {pid for pid, times in processes.items() if times.name == name}


def trees(roots: Iterable[int]) -> Picker:
    """These processes and every live descendant of theirs."""
    wanted = list(roots)
    return lambda processes, proc: descendants(processes, wanted)


def postgres_serving(roots: Iterable[int]) -> Picker:
    """PostgreSQL's processes working for these processes' trees (``postgres_backends``)."""
    wanted = list(roots)
    return lambda processes, proc: serving_processes(processes, wanted, proc)


THIS_PROCESS = os.getpid()


@dataclass(frozen=True)
class SharesMark:
    """The counters at one instant: each party's processes and their own ticks."""

    monotonic_s: float
    machine: MachineTimes
    ticks: Mapping[str, Mapping[int, int]]  # party -> pid -> utime + stime


def mark_shares(parties: Sequence[Party], proc: Path = PROC) -> SharesMark:
    """Read every process and the machine now; a process goes to the first party that picks it."""
    processes = read_processes(proc)
    machine = parse_machine_stat((proc / "stat").read_text())
    claimed: set[int] = set()
    ticks: dict[str, dict[int, int]] = {}
    for name, pick in parties:
        pids = pick(processes, proc) - claimed
        claimed |= pids
        ticks[name] = {pid: processes[pid].own_ticks for pid in pids}
    return SharesMark(time.monotonic(), machine, ticks)


@dataclass(frozen=True)
class Shares:
    """A window's cores by party (CPU seconds per second of the window)."""

    window_s: float
    cores: dict[str, float]  # in the parties' order
    others: float  # busy, but no party's
    idle_percent: float  # of all the machine's cores

    def cpu_ms_per(self, writes: int, parties: Iterable[str]) -> float:
        """The CPU of ``parties`` over the window, in ms per write."""
        seconds = sum(self.cores.get(party, 0.0) for party in parties) * self.window_s
        return seconds * 1000.0 / max(1, writes)


def shares_between(
    start: SharesMark, end: SharesMark, ticks_per_s: int = CLOCK_TICKS_PER_S
) -> Shares:
    """The difference of two marks: a process seen only at the end started in the window."""
    window_s = max(1e-9, end.monotonic_s - start.monotonic_s)
    cores = {}
    for party, ticks in end.ticks.items():
        before = start.ticks.get(party, {})
        gained = sum(max(0, now - before.get(pid, 0)) for pid, now in ticks.items())
        cores[party] = gained / ticks_per_s / window_s
    total = end.machine.total_ticks - start.machine.total_ticks
    idle = end.machine.idle_ticks - start.machine.idle_ticks
    busy = (total - idle) / ticks_per_s / window_s
    return Shares(
        window_s=window_s,
        cores=cores,
        others=max(0.0, busy - sum(cores.values())),
        idle_percent=100.0 * idle / total if total > 0 else 0.0,
    )


def shares_text(shares: Shares) -> str:
    """``service 1.21, receiver 0.30, others 0.05 cores; idle 20%``"""
    parts = [f"{party} {cores:.2f}" for party, cores in shares.cores.items()]
    parts.append(f"others {shares.others:.2f}")
    return ", ".join(parts) + f" cores; idle {shares.idle_percent:.0f}%"


def median_shares(runs: Sequence[Shares]) -> Shares:
    """Each figure's median over runs (parties as in the first)."""

    median = statistics.median
    return Shares(
        window_s=median([run.window_s for run in runs]),
        cores={
            party: median([run.cores.get(party, 0.0) for run in runs]) for party in runs[0].cores
        },
        others=median([run.others for run in runs]),
        idle_percent=median([run.idle_percent for run in runs]),
    )
