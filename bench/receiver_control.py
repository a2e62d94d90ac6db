"""The delivery benchmark's side of its receiver process: start it, and drive it over HTTP.

``bench.delivery_receiver`` runs in a process of its own; this starts it, reads
its ``READY`` line, and calls its control endpoints (secrets, count, take). Both
drivers of ``bench.delivery_lag`` (the service in the bench's process, and real
``shipments serve`` processes in ``bench.delivery_serve``) use it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

NATS_URL = "nats://127.0.0.1:4222"
DRAIN_SECONDS = 60.0  # the longest a benchmark waits for deliveries to arrive


@dataclass
class Receiver:
    """The receiver process: where to send, its control endpoints, its process id."""

    base: str
    subject_prefix: str | None
    pid: int

    def call(self, method: str, what: str, prefix: str = "", body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        url = f"{self.base}/control/{what}?prefix={prefix}"
        with urllib.request.urlopen(urllib.request.Request(url, data, method=method)) as answer:
            raw = answer.read()
        return json.loads(raw) if raw else None

    def wait_for(self, prefix: str, expected: int, seconds: float) -> bool:
        """Whether ``expected`` arrivals under ``prefix`` were there within ``seconds``."""
        deadline = time.monotonic() + seconds
        while self.call("GET", "count", prefix) < expected:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True


@contextmanager
def receiver_process(nats: bool) -> Iterator[Receiver]:
    """``bench.delivery_receiver`` started, until the block ends (its stdin closed)."""
    command = [sys.executable, "-m", "bench.delivery_receiver"]
    if nats:
        command += ["--nats", NATS_URL]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        ready = process.stdout.readline().split()
        if not ready or ready[0] != "READY":
            raise RuntimeError("the receiver process did not start")
        prefix = None if ready[2] == "-" else ready[2]
        yield Receiver(f"http://127.0.0.1:{ready[1]}", prefix, process.pid)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def add_nats_option(parser: argparse.ArgumentParser) -> None:
    """``--nats`` / ``--no-nats``: one JetStream subscription more (default: when NATS answers)."""
    parser.add_argument(
        "--nats",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="one JetStream subscription more (default: when NATS answers on 127.0.0.1:4222)",
    )


def wants_nats(arguments: argparse.Namespace) -> bool:
    """What ``--nats`` asked, or whether NATS answers when it asked nothing."""
    return nats_reachable() if arguments.nats is None else bool(arguments.nats)


def nats_reachable() -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 4222), timeout=1):
        return True
    return False
