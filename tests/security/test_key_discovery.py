"""Where the keys come from: OpenID discovery, or a key set URL given directly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infrastructure.settings import Settings
from tests.security.test_authentication import assert_problem
from tests.support.auth_clients import bearer
from tests.support.identity_provider import RunningProvider
from tests.support.oidc_clients import OidcApp, oidc_app

SHIPMENTS = "/v1/shipments"


@pytest.fixture
def store_kind() -> str:
    return "sqlite"


@pytest.fixture
def direct_key_set(oidc_settings: Settings, provider: RunningProvider) -> Iterator[OidcApp]:
    """Tokens of an issuer with no discovery document; its keys at a URL of their own."""
    configured = oidc_settings.model_copy(
        update={
            "oidc_issuer": "https://login.example.gov",
            "oidc_jwks_url": f"{provider.issuer}/jwks",
        }
    )
    yield from oidc_app(configured, provider)


def test_a_key_set_url_given_directly_needs_no_discovery(direct_key_set: OidcApp) -> None:
    oidc = direct_key_set
    token = oidc.token("ada", ["reader"], kid="ed-1", iss="https://login.example.gov")
    assert oidc.client.get(SHIPMENTS, headers=bearer(token)).status_code == 200
    assert_problem(oidc.client.get(SHIPMENTS, headers=bearer(oidc.token("ada", ["reader"]))), 401)


@pytest.fixture
def impostor_discovery(oidc_settings: Settings, provider: RunningProvider) -> Iterator[OidcApp]:
    """An issuer whose discovery document, served by the provider, names another issuer."""
    configured = oidc_settings.model_copy(update={"oidc_issuer": f"{provider.issuer}/"})
    yield from oidc_app(configured, provider)


def test_a_discovery_document_for_another_issuer_gives_no_keys(
    impostor_discovery: OidcApp,
) -> None:
    oidc = impostor_discovery
    token = oidc.token("ada", ["admin"], iss=f"{oidc.provider.issuer}/")
    problem = assert_problem(oidc.client.get(SHIPMENTS, headers=bearer(token)), 401)
    assert "not signed with a key of the identity provider" in problem["detail"]
    assert oidc.provider.state.key_set_fetches == 0


def test_settings_refuse_an_issuer_without_an_audience() -> None:
    with pytest.raises(ValueError, match="SHIPMENTS_OIDC_AUDIENCE is required"):
        Settings(oidc_issuer="https://login.example.gov")
