"""What the access log and the metrics are told of each answered request.

The request pipeline (``api.plumbing.pipeline``) measures a request once and
hands the same ``ObservedRequest`` to every observer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ObservedRequest:
    """One answered (or failed) request, as the log and the metrics see it."""

    method: str
    path: str
    route: str | None
    status: int
    seconds: float
    request_id: str | None
    actor: str | None


RequestObserver = Callable[[ObservedRequest], None]
