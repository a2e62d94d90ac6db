"""The console's sign-in at the identity provider: where to send the user, and the page's CSP.

The page runs the authorization code flow with PKCE itself (``static/sign-in.js``):
the service only tells it the provider's endpoints and the console's public client
id, and lets it reach the token endpoint, which its Content-Security-Policy would
otherwise forbid (the page talks to its own origin only).
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool

from api.plumbing.oidc_provider import OidcProvider, ProviderUnreachable
from infrastructure.settings import Settings

_POLICY = (
    "default-src 'self'; connect-src 'self'{origins}; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_HOST = re.compile(r"^[A-Za-z0-9.\-\[\]:]+$")
_log = logging.getLogger("shipments.console")


async def sign_in_options(state: Any) -> dict[str, str] | None:
    """The provider's endpoints and the console's client id; None when sign-in is not offered.

    The discovery document is read in a worker thread on first use (the server has
    usually read it already, to find the keys).
    """
    configured = _configured(state)
    if configured is None:
        return None
    provider, settings = configured
    metadata = provider.known_metadata
    if metadata is None:
        try:
            metadata = await run_in_threadpool(provider.metadata)
        except ProviderUnreachable as error:
            _log.warning("the console cannot offer sign-in: %s", error)
            return None
    if not metadata.authorization_endpoint or not metadata.token_endpoint:
        return None
    return {
        "issuer": provider.issuer,
        "clientId": str(settings.oidc_client_id),
        "authorizationEndpoint": metadata.authorization_endpoint,
        "tokenEndpoint": metadata.token_endpoint,
        "scope": settings.oidc_console_scope,
    }


def page_security_policy(state: Any) -> str:
    """The page's CSP: its own origin, plus the token endpoint's when sign-in is offered."""
    configured = _configured(state)
    if configured is None:
        return _POLICY.format(origins="")
    provider, _ = configured
    metadata = provider.known_metadata
    endpoints = [provider.issuer]
    if metadata is not None and metadata.token_endpoint:
        endpoints.append(metadata.token_endpoint)
    origins = sorted({origin for url in endpoints if (origin := _origin(url))})
    return _POLICY.format(origins="".join(f" {origin}" for origin in origins))


def _configured(state: Any) -> tuple[OidcProvider, Settings] | None:
    verifier = getattr(getattr(state, "authenticator", None), "access_tokens", None)
    services = getattr(state, "services", None)
    if verifier is None or services is None or not services.settings.oidc_client_id:
        return None
    return verifier.provider, services.settings


def _origin(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL; None for anything a CSP must not carry."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not _HOST.match(parts.netloc):
        return None
    return f"{parts.scheme}://{parts.netloc}"
