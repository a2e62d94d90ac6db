"""Which PostgreSQL processes work for the servers under test, found from /proc.

The benchmark's PostgreSQL is shared: other people's test suites run their
queries on it at the same time. Counting the whole server's CPU would charge
their work to our requests, so ``bench/cpu_cost.py`` counts only:

- the backends whose client is one of our server processes: a backend's command
  line names its client's address and port (``postgres: … user db 127.0.0.1(37832)
  idle``), and our processes' TCP sockets (``/proc/<pid>/fd`` → inode →
  ``/proc/net/tcp``) have those local ports;
- PostgreSQL's postmaster and background processes (WAL writer, checkpointer,
  background writer, autovacuum…): no client of their own, they work for every
  client, ours included, and are counted in full.

A backend that exits inside the measured window takes its ticks with it (the
pools keep their connections, so this is rare).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from bench.proc_stat import PROC, ProcessTimes, descendants

POSTGRES_NAME = "postgres"
_CLIENT = re.compile(r"\s(?:\[local\]|[0-9A-Fa-f.:]+\((\d+)\))(?:\s|$)")


def client_port(cmdline: str) -> int | None:
    """The client's TCP port named in a backend's title, or None (no client, or a Unix socket).

    A backend over a Unix socket (``[local]``) gives None too: our servers connect by TCP.
    """
    match = _CLIENT.search(cmdline)
    return int(match.group(1)) if match and match.group(1) else None


def is_backend(cmdline: str) -> bool:
    """A process serving one client connection (TCP or Unix socket), as opposed to a helper."""
    return _CLIENT.search(cmdline) is not None


def parse_tcp_table(text: str) -> dict[int, int]:
    """``/proc/net/tcp`` or ``tcp6``: each socket's inode -> its local port."""
    ports = {}
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        _, _, port_hex = fields[1].rpartition(":")
        ports[int(fields[9])] = int(port_hex, 16)
    return ports


def local_ports(pids: Iterable[int], proc: Path = PROC) -> set[int]:
    """The local TCP ports of every socket the processes ``pids`` hold open."""
    inodes = set()
    for pid in pids:
        try:
            links = list((proc / str(pid) / "fd").iterdir())
        except OSError:
            continue
        for link in links:
            try:
                target = link.readlink().name
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(int(target[len("socket:[") : -1]))
    ports = {}
    for table in ("tcp", "tcp6"):
        try:
            ports.update(parse_tcp_table((proc / "net" / table).read_text()))
        except OSError:
            continue
    return {ports[inode] for inode in inodes if inode in ports}


def postgres_roots(processes: Mapping[int, ProcessTimes]) -> list[int]:
    """The PostgreSQL servers' postmasters: ``postgres`` processes whose parent is not one."""
    return [
        times.pid
        for times in processes.values()
        if times.name == POSTGRES_NAME
        and (times.parent not in processes or processes[times.parent].name != POSTGRES_NAME)
    ]


def serving_processes(
    processes: Mapping[int, ProcessTimes],
    server_pids: Iterable[int],
    proc: Path = PROC,
) -> set[int]:
    """PostgreSQL's processes that work for ``server_pids``' trees: their backends, the helpers."""
    ours = local_ports(descendants(processes, server_pids), proc)
    serving = set()
    for root in postgres_roots(processes):
        serving.add(root)  # the postmaster: starts backends for every client
        for pid in descendants(processes, [root]) - {root}:
            try:
                cmdline = (proc / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            title = cmdline.decode(errors="replace")
            if not is_backend(title) or client_port(title) in ours:
                serving.add(pid)
    return serving
