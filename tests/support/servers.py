"""Real ``shipments serve`` processes for end-to-end and multi-process tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKER_STARTED = "Application startup complete"
PORT_TAKEN = "address already in use"
PORT_ATTEMPTS = 3


class ServerExitedEarly(RuntimeError):
    """The server process ended before it answered /readyz."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def shipments_command() -> list[str]:
    """The installed ``shipments`` script next to this Python, else the module it runs."""
    script = Path(sys.executable).with_name("shipments")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "api.cli"]


@dataclass
class RunningServer:
    """A server process and the URL it answers on."""

    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def running_server(
    database_url: str | None,
    log_dir: Path,
    *,
    workers: int = 1,
    extra_env: dict[str, str] | None = None,
    cwd: Path | None = None,
    ready_timeout: float = 60.0,
) -> Iterator[RunningServer]:
    """Start ``shipments serve`` on a free port, wait until ready, stop it afterwards.

    ``database_url=None`` leaves ``SHIPMENTS_DATABASE_URL`` unset, so the server
    uses its default store (relative to ``cwd``), as ``make run`` does.
    """
    env = {**os.environ, "SHIPMENTS_LOG_LEVEL": "info", **(extra_env or {})}
    env.pop("SHIPMENTS_DATABASE_URL", None)
    if database_url is not None:
        env["SHIPMENTS_DATABASE_URL"] = database_url
    for attempt in range(PORT_ATTEMPTS):
        server = start_server(env, log_dir, workers, cwd or REPO_ROOT)
        try:
            wait_until_ready(server, ready_timeout)
        except ServerExitedEarly:
            # The free port was taken by someone else before the server bound it.
            if PORT_TAKEN in server.log().lower() and attempt + 1 < PORT_ATTEMPTS:
                continue
            raise
        except BaseException:
            stop(server)
            raise
        break
    try:
        if workers > 1:
            wait_for_workers(server, workers)
        yield server
    finally:
        stop(server)


def start_server(env: dict[str, str], log_dir: Path, workers: int, cwd: Path) -> RunningServer:
    """Launch ``shipments serve`` on a free port, its output going to a log file."""
    port = free_port()
    log_path = log_dir / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*shipments_command(), "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=cwd,
        )
    return RunningServer(process, f"http://127.0.0.1:{port}", log_path)


@contextmanager
def running_servers(
    database_url: str, log_dir: Path, count: int, *, workers: int = 1
) -> Iterator[list[RunningServer]]:
    """``count`` independent servers on one store, started one after another.

    Started in turn, not together: concurrent start-up (CREATE TABLE on a fresh
    store) is not what these tests are about.
    """
    with ExitStack() as stack:
        yield [
            stack.enter_context(running_server(database_url, log_dir, workers=workers))
            for _ in range(count)
        ]


def wait_until_ready(server: RunningServer, timeout: float) -> None:
    """Poll /readyz until it answers 200 (or fail with the server's log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerExitedEarly(f"server exited early:\n{server.log()}")
        try:
            if httpx.get(f"{server.base_url}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not ready after {timeout}s:\n{server.log()}")


def wait_for_workers(server: RunningServer, workers: int, timeout: float = 15.0) -> None:
    """Give every worker a chance to finish start-up, so that all of them take requests.

    Best effort: correctness never depends on it (a request reaching the socket is
    served by whichever worker is up), it only makes the load spread over all of them.
    """
    deadline = time.monotonic() + timeout
    while server.log().count(WORKER_STARTED) < workers and time.monotonic() < deadline:
        time.sleep(0.1)


def stop(server: RunningServer, sig: int = signal.SIGTERM) -> None:
    """Stop the server's whole process group (workers included)."""
    if server.process.poll() is None:
        os.killpg(server.process.pid, sig)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()
