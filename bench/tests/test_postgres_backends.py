"""Which PostgreSQL processes work for our servers: their backends and the helpers, no others."""

from __future__ import annotations

from pathlib import Path

from bench.postgres_backends import (
    client_port,
    is_backend,
    local_ports,
    parse_tcp_table,
    postgres_roots,
    serving_processes,
)
from bench.proc_stat import ProcessTimes, read_processes
from bench.tests.proc_fixtures import TCP_HEADER, add_process, tcp_line


def test_a_backend_title_names_its_clients_port_and_a_helper_has_none() -> None:
    backend = "postgres: 15/main: postgres test 127.0.0.1(37832) idle"
    assert client_port(backend) == 37832 and is_backend(backend)
    assert client_port("postgres: postgres test ::1(4100) SELECT") == 4100
    local = "postgres: 15/main: postgres test [local] idle"
    assert client_port(local) is None and is_backend(local)
    for helper in (
        "postgres: 15/main: checkpointer",
        "postgres: 15/main: walwriter",
        "postgres: 15/main: autovacuum worker test",
        "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main",
    ):
        assert client_port(helper) is None and not is_backend(helper)


def test_the_tcp_table_maps_each_sockets_inode_to_its_local_port() -> None:
    text = TCP_HEADER + tcp_line(0, 5432, 0, 111) + tcp_line(1, 40000, 5432, 222)

    assert parse_tcp_table(text) == {111: 5432, 222: 40000}


def test_postgres_roots_are_the_postmasters_not_their_backends() -> None:
    def process(pid: int, parent: int, name: str) -> ProcessTimes:
        return ProcessTimes(pid=pid, name=name, parent=parent, own_ticks=0, reaped_ticks=0)

    processes = {
        2222: process(2222, 1, "postgres"),
        2223: process(2223, 2222, "postgres"),  # checkpointer
        2300: process(2300, 2222, "postgres"),  # a backend
        3000: process(3000, 1, "python"),
        4000: process(4000, 3000, "postgres"),  # another cluster, started by python
    }

    assert sorted(postgres_roots(processes)) == [2222, 4000]


def fake_proc(tmp_path: Path) -> Path:
    """Our server (50) with a worker (51) holding two connections; someone else's (60) one."""
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    (proc / "net" / "tcp").write_text(
        TCP_HEADER
        + tcp_line(0, 40001, 5432, 901)
        + tcp_line(1, 40002, 5432, 902)
        + tcp_line(2, 40003, 5432, 903)
        + tcp_line(3, 8000, 50000, 904)  # a client of our server: not PostgreSQL's
    )
    (proc / "net" / "tcp6").write_text(TCP_HEADER)
    add_process(proc, 1, "init", 0)
    add_process(proc, 50, "python", 1, cmdline="python -m api.cli serve")
    add_process(proc, 51, "python", 50, sockets=(901, 902, 904))
    add_process(proc, 60, "pytest", 1, sockets=(903,))
    title = "postgres: 15/main: postgres test 127.0.0.1({}) idle"
    add_process(proc, 70, "postgres", 1, cmdline="/usr/lib/postgresql/15/bin/postgres -D x")
    add_process(proc, 71, "postgres", 70, cmdline="postgres: 15/main: walwriter")
    add_process(proc, 72, "postgres", 70, cmdline=title.format(40001))
    add_process(proc, 73, "postgres", 70, cmdline=title.format(40002))
    add_process(proc, 74, "postgres", 70, cmdline=title.format(40003))  # someone else's
    add_process(proc, 75, "postgres", 70, cmdline="postgres: 15/main: postgres test [local] idle")
    return proc


def test_our_servers_local_ports_are_those_of_their_whole_tree(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path)

    assert local_ports([50, 51], proc) == {40001, 40002, 8000}
    assert local_ports([99], proc) == set()


def test_the_serving_processes_are_our_backends_the_postmaster_and_its_helpers(
    tmp_path: Path,
) -> None:
    proc = fake_proc(tmp_path)

    serving = serving_processes(read_processes(proc), [50], proc)

    assert serving == {70, 71, 72, 73}
