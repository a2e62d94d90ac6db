"""Throw-away stores for a benchmark run: a SQLite file, or a fresh PostgreSQL schema.

Each benchmarked system gets its own empty store, and nothing is left behind:
the schema is dropped (and the temporary directory removed by the caller).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

POSTGRES_ADMIN_URL = os.environ.get(
    "SHIPMENTS_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
STORE_KINDS = ("sqlite", "postgres")


def postgres_problem(admin_url: str = POSTGRES_ADMIN_URL) -> str | None:
    """Why PostgreSQL cannot be benchmarked, or None when it can."""
    try:
        with psycopg.connect(admin_url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return f"PostgreSQL at {admin_url} is not reachable: {error}".strip()
    return None


@contextmanager
def fresh_store(
    kind: str, directory: Path, label: str, admin_url: str = POSTGRES_ADMIN_URL
) -> Iterator[str]:
    """A database URL for a new, empty store of ``kind``, named after ``label``."""
    suffix = uuid.uuid4().hex[:8]
    if kind == "sqlite":
        yield f"sqlite:///{directory.resolve()}/{label}-{suffix}.db"
        return
    if kind != "postgres":
        raise ValueError(f"unknown store kind {kind!r}: use one of {STORE_KINDS}")
    schema = f"bench_{label}_{suffix}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{admin_url}?schema={schema}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
