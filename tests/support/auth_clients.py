"""Fixtures for an app with authentication on: one token per role, and a client.

Import the fixtures into a suite's ``conftest.py``; the shared ``client``
fixture stays open (no tokens), as local development runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from api.cli.tokens import configured_token_store
from api.http.app import create_app
from infrastructure.settings import Settings


@dataclass(frozen=True)
class IssuedTokens:
    """A token for each role, made through the token store the app reads."""

    reader: str
    writer: str
    admin: str


def bearer(token: str) -> dict[str, str]:
    """The ``Authorization`` header that presents ``token``."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def auth_settings(settings: Settings) -> Settings:
    """The store's settings with a token list that is re-read on every request."""
    return settings.model_copy(update={"token_cache_seconds": 0.0})


@pytest.fixture
def issued_tokens(auth_settings: Settings) -> IssuedTokens:
    """Tokens named ``reader-1``, ``writer-1`` and ``admin-1``, in the store's database."""
    with configured_token_store(auth_settings) as tokens:
        return IssuedTokens(
            reader=tokens.add("reader-1", "reader"),
            writer=tokens.add("writer-1", "writer"),
            admin=tokens.add("admin-1", "admin"),
        )


@pytest.fixture
def auth_client(auth_settings: Settings, issued_tokens: IssuedTokens) -> Iterator[TestClient]:
    """The app on a store with tokens configured, so every request must present one."""
    with TestClient(create_app(auth_settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def cached_tokens_client(settings: Settings) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """An app that requires tokens and trusts its in-memory list.

    The default: the edge doors (``api.edge.reads``, ``api.edge.writes``) check tokens
    only then.
    """
    cached = settings.model_copy(update={"token_cache_seconds": 60.0})
    with configured_token_store(cached) as tokens:
        issued = {role: tokens.add(f"{role}-1", role) for role in ("reader", "writer")}
    with TestClient(create_app(cached), raise_server_exceptions=False) as test_client:
        yield test_client, issued
