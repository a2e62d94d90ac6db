"""Where an OpenID Connect provider publishes its keys and endpoints (OpenID Discovery 1.0).

Every call here blocks on the network, so callers run it in a thread of their
own, never in the event loop's (``api.plumbing.key_sets`` and the console's
sign-in route do). The discovery document is read once and kept: its endpoints
do not move while a process runs, and the key set it names is re-read by
``key_sets`` as often as rotation needs.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

DISCOVERY_PATH = "/.well-known/openid-configuration"
FETCH_TIMEOUT_SECONDS = 5.0
_MAX_DOCUMENT_BYTES = 1024 * 1024  # a key set or a discovery document is a few KiB


class ProviderUnreachable(Exception):
    """The provider did not answer, or answered something that is not what was asked for."""


@dataclass(frozen=True)
class ProviderMetadata:
    """What the service and its console use of the provider's discovery document."""

    issuer: str
    jwks_uri: str
    authorization_endpoint: str | None
    token_endpoint: str | None


def fetch_json(url: str, timeout: float = FETCH_TIMEOUT_SECONDS) -> dict[str, Any]:
    """The JSON object at ``url`` (blocking); ``ProviderUnreachable`` on any failure."""
    if not url.lower().startswith(("https://", "http://")):
        raise ProviderUnreachable(f"{url} is not an http(s) URL")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            body = answer.read(_MAX_DOCUMENT_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise ProviderUnreachable(f"{url}: {error}") from error
    if len(body) > _MAX_DOCUMENT_BYTES:
        raise ProviderUnreachable(f"{url}: the document is larger than 1 MiB")
    try:
        document = json.loads(body)
    except ValueError as error:
        raise ProviderUnreachable(f"{url}: not JSON ({error})") from error
    if not isinstance(document, dict):
        raise ProviderUnreachable(f"{url}: not a JSON object")
    return document


def discovery_url(issuer: str) -> str:
    """``<issuer>/.well-known/openid-configuration`` (OpenID Discovery §4)."""
    return issuer.rstrip("/") + DISCOVERY_PATH


class OidcProvider:
    """One configured provider: its discovery document (read once) and its key set URL."""

    def __init__(self, issuer: str, jwks_url: str | None = None) -> None:
        self.issuer = issuer
        self._jwks_url = jwks_url
        self._metadata: ProviderMetadata | None = None
        self._lock = threading.Lock()

    @property
    def known_metadata(self) -> ProviderMetadata | None:
        """The discovery document if it was read already (never blocks)."""
        return self._metadata

    def metadata(self) -> ProviderMetadata:
        """The discovery document, read on first use (blocking)."""
        with self._lock:
            if self._metadata is None:
                self._metadata = self._discover()
            return self._metadata

    def fetch_key_set(self) -> dict[str, Any]:
        """The provider's current JWKS document (blocking)."""
        url = self._jwks_url or self.metadata().jwks_uri
        return fetch_json(url)

    def _discover(self) -> ProviderMetadata:
        document = fetch_json(discovery_url(self.issuer))
        # Discovery §4.3: the document must name the issuer it was asked for, or
        # another party's keys could stand in for this one's.
        if document.get("issuer") != self.issuer:
            raise ProviderUnreachable(
                f"the discovery document names issuer {document.get('issuer')!r}, "
                f"not {self.issuer!r}"
            )
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) and self._jwks_url is None:
            raise ProviderUnreachable("the discovery document has no jwks_uri")
        return ProviderMetadata(
            issuer=self.issuer,
            jwks_uri=jwks_uri if isinstance(jwks_uri, str) else str(self._jwks_url),
            authorization_endpoint=_text(document.get("authorization_endpoint")),
            token_endpoint=_text(document.get("token_endpoint")),
        )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
