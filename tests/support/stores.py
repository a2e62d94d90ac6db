"""Throw-away stores for tests: a SQLite file, or a fresh PostgreSQL schema.

Under ``CI=true`` a missing PostgreSQL fails the run; elsewhere its tests skip
with the reason, so a laptop without it can still run the rest.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import psycopg
import pytest

# The master key every test store's personal-data keys are wrapped with (PostgreSQL has no
# file to keep a generated one beside; servers the tests start inherit it).
TEST_MASTER_KEY = "dGVzdC1tYXN0ZXIta2V5LW9mLTMyLWJ5dGVzLWxvbmc="
os.environ.setdefault("SHIPMENTS_MASTER_KEY", TEST_MASTER_KEY)

POSTGRES_ADMIN_URL = os.environ.get(
    "SHIPMENTS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@cache
def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used, or None when it can."""
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable: {error}".strip()
    return None


def require_postgres() -> None:
    """Skip (or, under CI, fail) when PostgreSQL is not there."""
    problem = postgres_problem()
    if problem is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true requires PostgreSQL: {problem}")
    pytest.skip(problem)


@contextmanager
def postgres_schema_url() -> Iterator[str]:
    """A database URL pointing at a new, empty schema that is dropped afterwards."""
    require_postgres()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES_ADMIN_URL}?schema={schema}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextmanager
def store_url(kind: str, directory: str) -> Iterator[str]:
    """A fresh store of ``kind`` ("sqlite" or "postgres")."""
    if kind == "sqlite":
        yield f"sqlite:///{directory}/shipments-{uuid.uuid4().hex[:8]}.db"
    elif kind == "postgres":
        with postgres_schema_url() as url:
            yield url
    else:  # pragma: no cover
        raise ValueError(kind)
