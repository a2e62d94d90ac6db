"""A server process's resident memory, sampled every second while a load runs.

The uvicorn worker is the process that holds the caches: with ``--workers 1``
it is the ``shipments serve`` process itself, with more it is each child. Its
``VmRSS`` is read from ``/proc/PID/status``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path


def rss_kib(pid: int) -> int | None:
    """The resident set size of ``pid`` in KiB (None once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


@dataclass
class RssSeries:
    """Samples of one process's RSS (MiB), one a second."""

    pid: int
    interval_s: float = 1.0
    samples: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RssSeries:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _sample(self) -> None:
        while True:
            value = rss_kib(self.pid)
            if value is not None:
                self.samples.append(value / 1024)
            if self._stop.wait(self.interval_s):
                return

    def summary(self) -> str:
        """Start, max and end of the series, in MiB."""
        if not self.samples:
            return "no samples"
        start, end = self.samples[0], self.samples[-1]
        return (
            f"start {start:.1f} MiB, max {max(self.samples):.1f} MiB, end {end:.1f} MiB "
            f"({len(self.samples)} samples, end - start {end - start:+.1f} MiB)"
        )
