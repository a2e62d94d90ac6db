"""The deliverer process of ``shipments serve``: started beside the workers, kept running.

Delivery in a thread of each worker shares that worker's interpreter lock with
its requests: the delivery benchmark measured writes at 0.36x their rate
without subscriptions that way, against 0.87x with delivery in a process of its
own (``python -m bench.delivery_lag --deliverer thread|process``, PostgreSQL,
10 webhooks and one JetStream subscription). So ``shipments serve`` runs one
``shipments deliver`` as its child, at a lower CPU priority (``NICENESS``): when
the cores are short, requests run first and delivery catches up after, from its
committed position. The workers deliver nothing themselves.

The child is started again if it fails or is killed (after a pause that grows
while it keeps failing early), but not when it was stopped on purpose (exit 0:
Ctrl-C reaches the whole process group). It is told to stop with the server
(SIGTERM, so it lets go of its subscriptions), and stops by itself if the server
is gone (``--parent-pid``: uvicorn ends its process by re-raising the signal that
stopped it, before any cleanup of ours). Its subscriptions' leases make a second
server's child, or a ``shipments deliver`` elsewhere, safe beside it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time

NICENESS = 10
STOP_SECONDS = 15.0  # how long a stopping child may take to release its leases
FIRST_PAUSE_SECONDS = 1.0
LONGEST_PAUSE_SECONDS = 30.0
STEADY_SECONDS = 60.0  # a child that ran this long ended by accident, not by a flaw

_log = logging.getLogger("shipments.delivery")


class DeliveryChild:
    """One ``shipments deliver`` process, restarted whenever it ends until ``stop``."""

    def __init__(self, command: list[str] | None = None) -> None:
        self._command = command or [
            sys.executable,
            "-m",
            "api.cli",
            "deliver",
            "--nice",
            str(NICENESS),
            "--parent-pid",
            str(os.getpid()),
        ]
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._watcher = threading.Thread(target=self._watch, name="delivery-child", daemon=True)

    @property
    def pid(self) -> int | None:
        """The running child's process id (None between two of them)."""
        process = self._process
        return None if process is None or process.poll() is not None else process.pid

    def start(self) -> DeliveryChild:
        self._spawn()
        self._watcher.start()
        return self

    def stop(self) -> None:
        """SIGTERM the child and wait for it to let go of its subscriptions (then SIGKILL)."""
        self._stopping.set()
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._watcher.join(timeout=STOP_SECONDS)

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            # Its output is the server's (stderr): its start and stop lines, its warnings.
            self._process = subprocess.Popen(self._command, stdin=subprocess.DEVNULL)
        print(
            f"shipments: delivering from process {self._process.pid} (shipments deliver)",
            file=sys.stderr,
            flush=True,
        )

    def _watch(self) -> None:
        pause = FIRST_PAUSE_SECONDS
        while not self._stopping.is_set():
            process = self._process
            if process is None:
                return
            started = time.monotonic()
            code = process.wait()
            if self._stopping.is_set():
                return
            if code == 0:
                # Stopped on purpose: a signal to the whole group (Ctrl-C), or by a person.
                _log.warning(
                    "the deliverer process %d stopped; this server delivers nothing until "
                    "it is started again",
                    process.pid,
                )
                return
            ran = time.monotonic() - started
            pause = FIRST_PAUSE_SECONDS if ran > STEADY_SECONDS else pause
            _log.warning(
                "the deliverer process %d ended (exit code %s); starting another in %.0f s",
                process.pid,
                code,
                pause,
            )
            if self._stopping.wait(pause):
                return
            pause = min(pause * 2, LONGEST_PAUSE_SECONDS)
            self._spawn()
