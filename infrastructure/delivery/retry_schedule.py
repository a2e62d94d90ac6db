"""When to try a failed delivery again, and when to give up.

The schedule is ``SHIPMENTS_WEBHOOK_RETRY_SCHEDULE`` (seconds after each failure).
Each wait is spread by ±20 % at random so that receivers coming back from an
outage are not hit by every subscription's retry in the same second. The random
source is injected so tests can pin it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

JITTER = 0.2


@dataclass(frozen=True)
class RetrySchedule:
    """Waits after the 1st, 2nd, … failure; past the last, the subscription is disabled."""

    waits: tuple[float, ...]
    rng: random.Random = field(default_factory=random.Random, compare=False)

    @classmethod
    def parse(cls, text: str, rng: random.Random | None = None) -> RetrySchedule:
        """``"5,300,1800"`` → waits of 5, 300 and 1800 seconds."""
        waits = tuple(float(part) for part in text.split(",") if part.strip())
        if any(wait < 0 for wait in waits):
            raise ValueError("retry waits cannot be negative")
        return cls(waits, rng or random.Random())

    def wait_after(self, failures: int) -> float | None:
        """Seconds to wait after ``failures`` failed attempts; None: give up (disable)."""
        if failures > len(self.waits):
            return None
        wait = self.waits[failures - 1]
        return wait * (1 + self.rng.uniform(-JITTER, JITTER))


def schedule_text(waits: Sequence[float]) -> str:
    """The setting's form of a schedule."""
    return ",".join(f"{wait:g}" for wait in waits)
