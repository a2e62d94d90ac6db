"""A fake /proc to read: stat lines, command lines, open sockets and the TCP table."""

from __future__ import annotations

from pathlib import Path


def stat_line(pid: int, name: str, parent: int, utime: int, stime: int, cut: int, cst: int) -> str:
    """A /proc/<pid>/stat line with the fields the readers use; the rest are zeros."""
    middle = " ".join(["0"] * 9)  # pgrp .. cmajflt (fields 5-13)
    tail = " ".join(["20", "0", "1", "0", "12345"] + ["0"] * 30)
    return f"{pid} ({name}) S {parent} {middle} {utime} {stime} {cut} {cst} {tail}\n"


def tcp_line(slot: int, local_port: int, remote_port: int, inode: int) -> str:
    """One socket of /proc/net/tcp (loopback addresses)."""
    return (
        f"{slot:4}: 0100007F:{local_port:04X} 0100007F:{remote_port:04X} 01 "
        f"00000000:00000000 00:00000000 00000000     0        0 {inode} 1 0 20 4 30 10 -1\n"
    )


TCP_HEADER = (
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
    "timeout inode\n"
)


def add_process(
    proc: Path,
    pid: int,
    name: str,
    parent: int,
    ticks: tuple[int, int, int, int] = (0, 0, 0, 0),
    cmdline: str = "",
    sockets: tuple[int, ...] = (),
) -> None:
    """A process directory: its stat, its command line, and fds naming socket inodes."""
    directory = proc / str(pid)
    (directory / "fd").mkdir(parents=True)
    (directory / "stat").write_text(stat_line(pid, name, parent, *ticks))
    (directory / "cmdline").write_bytes(cmdline.replace(" ", "\0").encode() + b"\0")
    for number, inode in enumerate(sockets, start=3):
        (directory / "fd" / str(number)).symlink_to(f"socket:[{inode}]")
