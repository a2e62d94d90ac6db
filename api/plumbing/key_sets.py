"""The identity provider's signing keys, fetched, cached and re-read as it rotates them.

Three rules from the contract (API.md, "Tokens from an identity provider") shape it:

- a ``kid`` not in the set makes the set be fetched again at once, then at most
  once every ``REFETCH_INTERVAL_SECONDS`` (so a flood of made-up ``kid`` values
  cannot turn the service into a load generator against the provider);
- a provider that cannot be reached leaves the keys already fetched in use;
- no fetch ever runs in the event loop's thread: ``key`` only reads memory (and
  may start a background re-read of an old set); ``fetch_for_unknown`` and
  ``load`` block, and their callers run them in a worker thread.

Only keys that can sign with an accepted algorithm are kept (``ACCEPTED_ALGORITHMS``):
a symmetric (``oct``) key is never loaded, so no token can make the service take
a public key for a shared HMAC secret.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jwt import PyJWK
from jwt.exceptions import PyJWKError

from api.plumbing.oidc_provider import OidcProvider, ProviderUnreachable

REFETCH_INTERVAL_SECONDS = 30.0
# The algorithms accepted, and the key type (and curve) each one needs.
ACCEPTED_ALGORITHMS: Mapping[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None),
    "PS256": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "EdDSA": ("OKP", "Ed25519"),
}
_log = logging.getLogger("shipments.auth.keys")

Clock = Callable[[], float]


@dataclass(frozen=True)
class SigningKey:
    """One verification key of the provider, and what its JWK allows it to verify."""

    kid: str | None
    jwk: Mapping[str, Any]
    key: PyJWK

    def verifies(self, algorithm: str) -> bool:
        """Whether a token signed with ``algorithm`` may be checked with this key."""
        needed = ACCEPTED_ALGORITHMS.get(algorithm)
        if needed is None:
            return False
        kty, curve = needed
        if self.jwk.get("kty") != kty or (curve is not None and self.jwk.get("crv") != curve):
            return False
        declared = self.jwk.get("alg")  # a JWK that names its algorithm allows only that one
        return declared is None or declared == algorithm


class KeySet:
    """The provider's current keys by ``kid``, safe to read from any thread."""

    def __init__(self, provider: OidcProvider, clock: Clock, *, max_age_seconds: float) -> None:
        self._provider = provider
        self._clock = clock
        self._max_age = max_age_seconds
        self._keys: dict[str | None, SigningKey] = {}
        self._loaded_at: float | None = None
        self._last_forced_fetch: float | None = None
        self._fetch_lock = threading.Lock()
        self._refreshing = False

    def key(self, kid: str | None) -> SigningKey | None:
        """The key named ``kid`` (a token without one: the set's only key), from memory.

        A set older than its maximum age is re-read in a background thread meanwhile,
        so a key the provider dropped stops being trusted without an unknown ``kid``.
        """
        self._refresh_if_old()
        keys = self._keys  # one read of the reference: a re-read swaps the whole dict
        if kid is None:
            return next(iter(keys.values())) if len(keys) == 1 else None
        return keys.get(kid)

    def holds(self, signing_key: SigningKey) -> bool:
        """Whether ``signing_key`` is still in the set (a cached verdict depends on it)."""
        self._refresh_if_old()
        return self._keys.get(signing_key.kid) is signing_key

    def refetch_due(self) -> bool:
        """Whether an unknown ``kid`` may make the set be fetched now."""
        last = self._last_forced_fetch
        return last is None or self._clock() - last >= REFETCH_INTERVAL_SECONDS

    def fetch_for_unknown(self, kid: str | None) -> None:
        """Fetch the set again because a token names ``kid`` (blocking; rate-limited)."""
        with self._fetch_lock:
            if kid in self._keys or not self.refetch_due():
                return  # someone fetched it meanwhile, or it is too soon to ask again
            self._last_forced_fetch = self._clock()
            self._fetch()

    def load(self) -> None:
        """Fetch the set (blocking); keeps the old keys when the provider cannot be reached."""
        with self._fetch_lock:
            self._fetch()

    def start_loading(self) -> None:
        """Fetch the set in a background thread (at start-up: never in the event loop)."""
        threading.Thread(target=self._load_in_background, name="jwks-load", daemon=True).start()

    def _load_in_background(self) -> None:
        try:
            self.load()
        finally:
            self._refreshing = False

    def _refresh_if_old(self) -> None:
        loaded_at = self._loaded_at
        if loaded_at is None or self._refreshing or self._clock() - loaded_at < self._max_age:
            return
        self._refreshing = True
        self.start_loading()

    def _fetch(self) -> None:
        try:
            document = self._provider.fetch_key_set()
        except ProviderUnreachable as error:
            _log.warning(
                "could not fetch the identity provider's keys; keeping the last set: %s", error
            )
            return
        finally:
            # A failed fetch counts too: the next background re-read waits a full period.
            self._loaded_at = self._clock()
        self._keys = _signing_keys(document, self._keys)
        _log.info("identity provider key set read: %d usable key(s)", len(self._keys))


def _signing_keys(
    document: Mapping[str, Any], previous: Mapping[str | None, SigningKey]
) -> dict[str | None, SigningKey]:
    """The usable keys of a JWKS document; an unchanged key keeps its old object."""
    keys: dict[str | None, SigningKey] = {}
    entries = document.get("keys")
    for jwk in entries if isinstance(entries, list) else []:
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
            continue
        kid = jwk.get("kid") if isinstance(jwk.get("kid"), str) else None
        old = previous.get(kid)
        if old is not None and old.jwk == jwk:
            keys[kid] = old  # verdicts cached under it stay valid
            continue
        if not any(_kind_matches(jwk, algorithm) for algorithm in ACCEPTED_ALGORITHMS):
            continue  # oct (HMAC) keys, RSA-OAEP encryption keys, other curves
        try:
            keys[kid] = SigningKey(kid=kid, jwk=dict(jwk), key=PyJWK(jwk))
        except PyJWKError as error:
            _log.warning("ignoring the provider's key %r: %s", kid, error)
    return keys


def _kind_matches(jwk: Mapping[str, Any], algorithm: str) -> bool:
    kty, curve = ACCEPTED_ALGORITHMS[algorithm]
    return jwk.get("kty") == kty and (curve is None or jwk.get("crv") == curve)
