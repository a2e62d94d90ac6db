"""The NATS server with JetStream the broker tests publish to.

Under ``CI=true`` a missing server fails the run; elsewhere its tests skip with
the reason (as for PostgreSQL, ``tests.support.stores``).
"""

from __future__ import annotations

import asyncio
import os
from functools import cache

import nats
import pytest

NATS_URL = os.environ.get("SHIPMENTS_TEST_NATS_URL", "nats://127.0.0.1:4222")


@cache
def nats_problem() -> str | None:
    """Why NATS with JetStream cannot be used, or None when it can."""

    async def probe() -> None:
        connection = await nats.connect(
            NATS_URL, connect_timeout=3, allow_reconnect=False, max_reconnect_attempts=0
        )
        try:
            await connection.jetstream().account_info()
        finally:
            await connection.close()

    try:
        asyncio.run(probe())
    except Exception as error:  # noqa: BLE001 - any failure means "not usable here"
        return f"NATS with JetStream at {NATS_URL} is not usable: {type(error).__name__}: {error}"
    return None


def require_nats() -> None:
    """Skip (or, under CI, fail) when the NATS server is not there."""
    problem = nats_problem()
    if problem is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true requires NATS: {problem}")
    pytest.skip(problem)
