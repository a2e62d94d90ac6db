"""The delivery benchmark's deliverer in a process of its own (``--deliverer process``).

What a deployment gets by delivering from a process that does not write: the
same building blocks a server uses (``build_services``, a ``LogFollower`` and
``start_deliverer``) in a spawned child, with its own GIL. The service has no
such mode yet; this measures whether it would be worth one. The parent drives it
over a pipe: the child answers ``"ready"`` once it delivers the subscriptions it
was told to wait for, its CPU seconds to ``"mark"``, how many it delivers to
``"delivering"`` (several children share them), and stops on ``"stop"``.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from multiprocessing.connection import Connection
from typing import Any

from api.cli.deliver import lower_priority
from api.subscription_deliverer import start_deliverer
from api.wiring import build_services
from infrastructure.log_follower import LogFollower
from infrastructure.settings import Settings


def _deliver(
    settings: Settings,
    subscriptions: int,
    niceness: int,
    pipe: Connection,
    schemes: frozenset[str] | None = None,
) -> None:
    lower_priority(niceness)
    services = build_services(settings)
    follower = LogFollower(services.store).start()
    deliverer = start_deliverer(services, settings, follower, schemes=schemes)
    try:
        deadline = time.monotonic() + 10
        while deliverer is not None and len(deliverer.delivering) < subscriptions:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        pipe.send("ready")
        while (command := pipe.recv()) != "stop":
            if command == "mark":
                pipe.send(time.process_time())
            elif command == "delivering":
                pipe.send(0 if deliverer is None else len(deliverer.delivering))
    finally:
        if deliverer is not None:
            deliverer.stop()
        follower.stop()
        services.close()
        pipe.send(None)


class DelivererProcess:
    """The child's process id, and its CPU seconds on request."""

    def __init__(self, pipe: Connection, pid: int) -> None:
        self._pipe = pipe
        self.pid = pid

    def cpu_seconds(self) -> float:
        self._pipe.send("mark")
        answer: Any = self._pipe.recv()
        return float(answer)

    def delivering(self) -> int:
        self._pipe.send("delivering")
        answer: Any = self._pipe.recv()
        return int(answer)


class DelivererProcesses:
    """Several deliverer processes' CPU seconds, summed."""

    def __init__(self, processes: list[DelivererProcess]) -> None:
        self._processes = processes

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self._processes]

    def cpu_seconds(self) -> float:
        return sum(process.cpu_seconds() for process in self._processes)

    def delivering(self) -> list[int]:
        """How many subscriptions each delivers now."""
        return [process.delivering() for process in self._processes]


@contextmanager
def delivering_processes(
    settings: Settings,
    groups: Sequence[tuple[frozenset[str] | None, int]],
    niceness: int = 0,
) -> Iterator[DelivererProcesses]:
    """A deliverer process per group: its schemes (``shipments deliver --schemes``; None:
    all), ready once it delivers the given number of subscriptions (0: at once)."""
    with ExitStack() as stack:
        children = [
            stack.enter_context(delivering_process(settings, count, niceness, schemes))
            for schemes, count in groups
        ]
        yield DelivererProcesses(children)


@contextmanager
def delivering_process(
    settings: Settings,
    subscriptions: int,
    niceness: int = 0,
    schemes: frozenset[str] | None = None,
) -> Iterator[DelivererProcess]:
    """A deliverer for ``settings``' store in a spawned process, until the block ends.

    ``niceness``: as ``shipments deliver --nice``, its CPU priority lowered.
    ``schemes``: as ``shipments deliver --schemes``.
    """
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(
        target=_deliver, args=(settings, subscriptions, niceness, theirs, schemes)
    )
    process.start()
    try:
        if not ours.poll(60) or ours.recv() != "ready":
            raise RuntimeError("the deliverer process did not start")
        yield DelivererProcess(ours, process.pid or 0)
    finally:
        if process.is_alive():
            ours.send("stop")
            ours.poll(30)
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
