"""The projection lock on PostgreSQL: kept without a query a second, lost when the session ends."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from projections.leadership import AdvisoryLock
from tests.support.stores import POSTGRES_ADMIN_URL

pytestmark = pytest.mark.postgres


@pytest.fixture
def lock() -> AdvisoryLock:
    info = psycopg.conninfo.conninfo_to_dict(POSTGRES_ADMIN_URL)
    key = uuid.uuid4().int % 2**62
    held = AdvisoryLock({**info, "connect_timeout": 5}, key)
    yield held
    held.close()


def backend_of(lock: AdvisoryLock) -> int:
    connection = lock._connection  # the session the test looks at
    assert connection is not None
    return int(connection.info.backend_pid)


def queries_seen(pid: int) -> str:
    """When the session last changed state (a query moves it)."""
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        row = admin.execute(
            "SELECT state_change::text FROM pg_stat_activity WHERE pid = %s", (pid,)
        ).fetchone()
    assert row is not None
    return str(row[0])


def test_a_held_lock_is_confirmed_without_asking_the_server(lock: AdvisoryLock) -> None:
    assert lock.try_acquire()
    pid = backend_of(lock)
    before = queries_seen(pid)
    assert all(lock.still_held() for _ in range(50))
    assert queries_seen(pid) == before


def test_a_lock_whose_session_the_server_ended_is_lost(lock: AdvisoryLock) -> None:
    assert lock.try_acquire()
    pid = backend_of(lock)
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        # The server has closed the session once it is gone from the activity list.
        for _ in range(200):
            if admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
                admin.execute("SELECT pg_sleep(0.01)")
    assert not lock.still_held()
    assert lock.try_acquire()  # a new session takes it again
