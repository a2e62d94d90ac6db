"""``/ui/sign-in``: where the console may send its user to sign in, and the page's CSP for it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.identity_provider import CLIENT_ID
from tests.support.oidc_clients import OidcApp, oidc, oidc_settings, provider

__all__ = ["oidc", "oidc_settings", "provider"]


@pytest.fixture
def store_kind() -> str:
    return "sqlite"


def test_without_a_provider_the_console_offers_no_sign_in(client: TestClient) -> None:
    assert client.get("/ui/sign-in").json() == {"signIn": None}
    policy = client.get("/ui/").headers["Content-Security-Policy"]
    assert "connect-src 'self';" in policy


def test_with_a_provider_the_console_is_told_its_endpoints_without_a_token(
    oidc: OidcApp,
) -> None:
    issuer = oidc.provider.issuer
    answer = oidc.client.get("/ui/sign-in")
    assert answer.status_code == 200
    assert answer.json() == {
        "signIn": {
            "issuer": issuer,
            "clientId": CLIENT_ID,
            "authorizationEndpoint": f"{issuer}/authorize",
            "tokenEndpoint": f"{issuer}/token",
            "scope": "openid",
        }
    }
    policy = oidc.client.get("/ui/").headers["Content-Security-Policy"]
    assert f"connect-src 'self' {issuer};" in policy
    assert "/ui/sign-in" not in oidc.client.get("/openapi.json").text
