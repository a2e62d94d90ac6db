"""Run many HTTP clients at once: as threads of this process, or spread over OS processes.

Every client of one run waits at a shared start barrier, so their requests leave
together. A client that fails before the barrier aborts it, so the others fail
fast instead of waiting for it.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from typing import Any, Protocol, TypeVar

TaskT = TypeVar("TaskT")
ResultT = TypeVar("ResultT")

BARRIER_TIMEOUT_SECONDS = 120.0  # Only a safety net: start-up of spawned clients is slow.
RUN_TIMEOUT_SECONDS = 300.0


class StartBarrier(Protocol):
    """``threading.Barrier`` or ``multiprocessing.Barrier``: both are waited on and aborted."""

    def wait(self, timeout: float | None = None) -> int: ...

    def abort(self) -> None: ...


Client = Callable[[TaskT, StartBarrier], ResultT]


class ClientProcessFailed(RuntimeError):
    """A client process raised; its traceback is the message."""


def run_threads(
    client: Client[TaskT, ResultT], tasks: Sequence[TaskT], start: StartBarrier
) -> list[ResultT]:
    """One thread per task, each running ``client(task, start)``; results in task order."""
    with ThreadPoolExecutor(max_workers=len(tasks)) as threads:
        futures = [threads.submit(_guarded, client, task, start) for task in tasks]
        return [future.result(timeout=RUN_TIMEOUT_SECONDS) for future in futures]


def run_threads_together(client: Client[TaskT, ResultT], tasks: Sequence[TaskT]) -> list[ResultT]:
    """All tasks as threads of this process, released together."""
    return run_threads(client, tasks, threading.Barrier(len(tasks)))


def run_processes_together(
    client: Client[TaskT, ResultT], task_groups: Sequence[Sequence[TaskT]]
) -> list[ResultT]:
    """One spawned OS process per group, one thread per task, all released together.

    ``client`` must be a module-level function (the child processes import it).
    Results come back flattened, in group order then task order.
    """
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(sum(len(group) for group in task_groups))
    outbox: Queue[tuple[int, bool, Any]] = context.Queue()
    processes = [
        context.Process(target=_client_process, args=(index, client, group, start, outbox))
        for index, group in enumerate(task_groups)
    ]
    for process in processes:
        process.start()
    try:
        replies = _receive(outbox, processes)
    finally:
        for process in processes:
            process.join(timeout=RUN_TIMEOUT_SECONDS)
            if process.is_alive():
                process.kill()
    results: list[ResultT] = []
    for index in range(len(task_groups)):
        ok, payload = replies[index]
        if not ok:
            raise ClientProcessFailed(payload)
        results.extend(payload)
    return results


def _receive(
    outbox: Queue[tuple[int, bool, Any]], processes: Sequence[BaseProcess]
) -> dict[int, tuple[bool, Any]]:
    """Every process's reply; a process that died without one is reported, not waited for."""
    replies: dict[int, tuple[bool, Any]] = {}
    dead_before: set[int] = set()
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while len(replies) < len(processes):
        try:
            index, ok, payload = outbox.get(timeout=1.0)
        except queue.Empty:
            dead = {i for i, p in enumerate(processes) if i not in replies and not p.is_alive()}
            # Dead for a whole extra second with nothing in the queue: no reply is coming.
            if dead & dead_before or time.monotonic() > deadline:
                raise ClientProcessFailed(
                    f"client processes {sorted(dead)} gave no reply"
                ) from None
            dead_before = dead
            continue
        replies[index] = (ok, payload)
    return replies


def _client_process(
    index: int,
    client: Client[TaskT, ResultT],
    tasks: Sequence[TaskT],
    start: StartBarrier,
    outbox: Queue[tuple[int, bool, Any]],
) -> None:
    try:
        outbox.put((index, True, run_threads(client, tasks, start)))
    except BaseException:  # noqa: BLE001 - the parent re-raises it with the traceback
        start.abort()
        outbox.put((index, False, traceback.format_exc()))


def _guarded(client: Client[TaskT, ResultT], task: TaskT, start: StartBarrier) -> ResultT:
    try:
        return client(task, start)
    except BaseException:
        start.abort()
        raise
