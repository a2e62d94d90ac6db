"""Fixtures of the fuzzing suite: an app with authentication on."""

from tests.support.auth_clients import auth_client, auth_settings, issued_tokens

__all__ = ["auth_client", "auth_settings", "issued_tokens"]
