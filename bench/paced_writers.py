"""Writer threads for a fixed time, each paced to its share of a rate (or flat out).

Both delivery benchmark modes drive writes this way: in-process and over HTTP.
Each thread's writes come from a generator (its own client, seed and state;
closed when the time is up, so its clean-up runs), and what it yields says
whether that write was accepted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator


def run_paced(
    writers: int,
    seconds: float,
    rate: float | None,
    writes: Callable[[int], Generator[bool, None, None]],
) -> int:
    """Run ``writes(i)`` for each writer ``i`` for ``seconds``; the accepted writes in all.

    ``rate``: writes per second in all, spread evenly over the threads and
    staggered between them (None: each as fast as it goes).
    """
    stop = threading.Event()
    counts = [0] * writers

    def run(index: int) -> None:
        interval = 0.0 if rate is None else writers / rate
        next_at = time.perf_counter() + index * interval / writers
        steps = writes(index)
        try:
            while not stop.is_set():
                if next(steps):
                    counts[index] += 1
                if rate is not None:
                    next_at += interval
                    time.sleep(max(0.0, next_at - time.perf_counter()))
        finally:
            steps.close()

    threads = [threading.Thread(target=run, args=(n,), name="bench-writer") for n in range(writers)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return sum(counts)
