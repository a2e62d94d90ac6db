"""Fixtures of the security suite: an app with authentication on, and an identity provider."""

from tests.support.auth_clients import auth_client, auth_settings, issued_tokens
from tests.support.oidc_clients import oidc, oidc_settings, provider

__all__ = ["auth_client", "auth_settings", "issued_tokens", "oidc", "oidc_settings", "provider"]
