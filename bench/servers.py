"""Start the benchmarked HTTP servers as subprocesses on loopback, and stop them.

The service is started exactly as a user starts it (``shipments serve``), the
baseline with the same worker count, each on a free port, with its log in a
file that is shown when it fails to start.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from infrastructure.master_key import new_master_key_text

REPO_ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = ("service", "baseline")


@dataclass(frozen=True)
class RunningServer:
    """A server process, what it is, and where it answers."""

    system: str
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path


def free_port() -> int:
    """A loopback TCP port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_command(system: str, database_url: str, port: int, workers: int) -> list[str]:
    """The command line that starts ``system`` ("service" or "baseline")."""
    common = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    if system == "service":
        return [sys.executable, "-m", "api.cli", "serve", *common]
    if system == "baseline":
        return [
            sys.executable,
            "-m",
            "bench.crud_baseline",
            "--database-url",
            database_url,
            *common,
        ]
    raise ValueError(f"unknown system {system!r}: use one of {SYSTEMS}")


_MASTER_KEYS: dict[str, str] = {}


def bench_master_key(database_url: str) -> str:
    """The master key of a benchmark's store: made once per store, shared by its servers."""
    if database_url not in _MASTER_KEYS:
        _MASTER_KEYS[database_url] = new_master_key_text()
    return _MASTER_KEYS[database_url]


@contextmanager
def running_server(
    system: str,
    database_url: str,
    log_dir: Path,
    *,
    workers: int = 1,
    extra_env: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    ready_timeout: float = 60.0,
) -> Iterator[RunningServer]:
    """Start ``system`` on a free port, wait until /readyz answers, stop it afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "SHIPMENTS_DATABASE_URL": database_url,
        # Every server on one store wraps its personal-data keys with the same master key
        # (a server started with another refuses to start, as it must in service).
        "SHIPMENTS_MASTER_KEY": bench_master_key(database_url),
        **(extra_env or {}),
    }
    log_path = log_dir / f"{system}-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            server_command(system, database_url, port, workers),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=REPO_ROOT,
        )
    server = RunningServer(system, process, f"http://127.0.0.1:{port}", log_path)
    try:
        _wait_until_ready(server, ready_timeout, dict(headers or {}))
        yield server
    finally:
        _stop(server)


@contextmanager
def running_deployment(
    system: str,
    database_url: str,
    log_dir: Path,
    *,
    servers: int = 1,
    workers: int = 1,
    extra_env: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    ready_timeout: float = 60.0,
) -> Iterator[list[RunningServer]]:
    """``servers`` separate server processes of ``system`` on one store, each on its own port.

    They start one after the other (the first creates the tables), each with ``workers``.
    """
    with ExitStack() as stack:
        yield [
            stack.enter_context(
                running_server(
                    system,
                    database_url,
                    log_dir,
                    workers=workers,
                    extra_env=extra_env,
                    headers=headers,
                    ready_timeout=ready_timeout,
                )
            )
            for _ in range(servers)
        ]


def _wait_until_ready(server: RunningServer, timeout: float, headers: dict[str, str]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.system} exited early:\n{_log_tail(server)}")
        try:
            if (
                httpx.get(f"{server.base_url}/readyz", headers=headers, timeout=1.0).status_code
                == 200
            ):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{server.system} not ready after {timeout}s:\n{_log_tail(server)}")


def _stop(server: RunningServer) -> None:
    """Stop the server's own process group (its workers included), nothing else.

    Waits for the whole group, not only the server: its deliver child commits its
    last positions as it stops, and a store dropped under it deadlocked with that.
    """
    group = server.process.pid
    if server.process.poll() is None:
        os.killpg(group, signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(group, signal.SIGKILL)
            server.process.wait()
    for wait, then in ((15.0, signal.SIGKILL), (5.0, None)):
        deadline = time.monotonic() + wait
        while _group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.05)
        if then is None or not _group_alive(group):
            return
        os.killpg(group, then)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def _log_tail(server: RunningServer, lines: int = 40) -> str:
    return "\n".join(server.log_path.read_text(errors="replace").splitlines()[-lines:])
