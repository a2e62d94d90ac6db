"""Fixtures for an app that accepts access tokens of a test identity provider.

The app's verifier runs on a ``FakeClock`` the test moves, so expiry, the 30 s
between key set fetches and the cache's lifetimes are tested without sleeping.
Its keys are fetched before the first request (as the server does in the
background at start), so a test's first unknown ``kid`` is the first refetch.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.plumbing.auth import Authenticator
from api.plumbing.jwt_tokens import JwtVerifier, build_jwt_verifier
from api.wiring import build_services
from infrastructure.settings import Settings
from infrastructure.token_store import open_token_store
from tests.support.identity_provider import AUDIENCE, CLIENT_ID, RunningProvider, serve

KEY_ALGORITHMS = {"rsa-1": "RS256", "ps-1": "PS256", "ec-1": "ES256", "ed-1": "EdDSA"}


class FakeClock:
    """Wall-clock seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class OidcApp:
    """A client of the app, the provider it trusts, its clock and its verifier."""

    client: TestClient
    provider: RunningProvider
    clock: FakeClock
    verifier: JwtVerifier

    def token(self, subject: str, roles: object, kid: str = "rsa-1", **claims: object) -> str:
        """A token signed by the provider now (by the app's clock); ``claims`` override."""
        state = self.provider.state
        return state.sign({**state.claims(subject, roles, now=self.clock()), **claims}, kid)


@pytest.fixture
def provider() -> Iterator[RunningProvider]:
    """A provider with one key per accepted algorithm, all published."""
    with serve() as running:
        for kid, algorithm in KEY_ALGORITHMS.items():
            running.state.add_key(kid, algorithm)
        yield running


@pytest.fixture
def oidc_settings(settings: Settings, provider: RunningProvider) -> Settings:
    """The store's settings, trusting the provider's access tokens for ``AUDIENCE``."""
    return settings.model_copy(
        update={
            "oidc_issuer": provider.issuer,
            "oidc_audience": AUDIENCE,
            "oidc_client_id": CLIENT_ID,
            "token_cache_seconds": 60.0,
        }
    )


def oidc_app(settings: Settings, provider: RunningProvider) -> Iterator[OidcApp]:
    """The app on ``settings`` with a verifier on a fake clock, keys already fetched."""
    clock = FakeClock()
    verifier = build_jwt_verifier(settings, clock)
    assert verifier is not None
    verifier.key_set.load()
    services = build_services(settings)
    app = create_app(settings, services)
    tokens = open_token_store(
        settings.tokens_file,
        services.store.factory.datastore,  # type: ignore[attr-defined]
        create_table=settings.create_tables,
    )
    app.state.authenticator = Authenticator(
        tokens,
        required=settings.require_auth,
        cache_seconds=settings.token_cache_seconds,
        access_tokens=verifier,
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield OidcApp(client, provider, clock, verifier)


@pytest.fixture
def oidc(oidc_settings: Settings, provider: RunningProvider) -> Iterator[OidcApp]:
    """The app trusting ``provider``, on the current store."""
    yield from oidc_app(oidc_settings, provider)
