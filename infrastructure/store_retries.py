"""A retry policy for PostgreSQL calls that keeps a request within the store time-out.

The library retries every connection error ten times, 0.2 s apart. When the
database is unreachable each try first waits for a pooled connection for the
whole time-out (``POSTGRES_CONNECT_TIMEOUT``, our ``store_timeout_seconds``), so
a request would hang for ten time-outs before its 503. Here a time-out (the
pool's, or a lock's) is final at once: the budget is spent, and another wait
would only repeat it. Any other connection error is retried once: a connection
that broke under a query is replaced by a fresh one from the pool.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresFactory
from psycopg.errors import LockNotAvailable, QueryCanceled
from psycopg_pool import PoolTimeout

Method = TypeVar("Method", bound=Callable[..., Any])
RETRY_WAIT_SECONDS = 0.2
TIMED_OUT = (PoolTimeout, LockNotAvailable, QueryCanceled)


def retry_once_unless_timed_out(method: Method) -> Method:
    """``method`` without the library's own retries, under this module's policy."""
    inner: Callable[..., Any] = getattr(method, "__wrapped__", method)

    @wraps(inner)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return inner(*args, **kwargs)
        except (InterfaceError, OperationalError) as error:
            if isinstance(error.__cause__, TIMED_OUT):
                raise
        time.sleep(RETRY_WAIT_SECONDS)
        return inner(*args, **kwargs)

    return call  # type: ignore[return-value]


class FailFastPostgresAggregateRecorder(PostgresAggregateRecorder):
    """The library's aggregate recorder (used for snapshots) under this module's policy."""

    insert_events = retry_once_unless_timed_out(PostgresAggregateRecorder.insert_events)
    select_events = retry_once_unless_timed_out(PostgresAggregateRecorder.select_events)


class FailFastPostgresFactory(PostgresFactory):
    """The library's PostgreSQL factory, making snapshot recorders that fail fast too.

    The application recorder and the views are our own subclasses, which apply
    the same policy themselves.
    """

    aggregate_recorder_class = FailFastPostgresAggregateRecorder
